"""Vocabulary and embedding matrix built from word2vec vectors.

Index 0 is padding, 1 the unknown word. The vocabulary stores its own
normalisation (the one the vectors were trained with), so ``encode`` at
inference normalises exactly as training did. It is saved as JSON beside
the model weights.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

from pipeline.atomic import write_json
from pipeline.embeddings.normalize import normalize_token
from pipeline.embeddings.subwords import Subwords

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
INIT_SCALE = 0.1  # std of random rows: the order of magnitude of trained word2vec components
CACHE_SIZE = 200_000  # raw tokens memoised by an encoder before its cache is emptied: bounded in a long-running service


@dataclass
class Vocab:
    """Normalised words by index (``words[0]`` is padding, ``words[1]`` unknown)."""

    words: list[str]
    lowercase: bool = True
    digits_to_zero: bool = True
    trained: int | None = None  # rows [0, trained) are pad, unknown and the training words; the rest only have vectors
    index: dict[str, int] = field(init=False, repr=False, compare=False)
    ids: dict[str, int] = field(init=False, repr=False, compare=False)  # raw token → id, filled by encode

    def __post_init__(self) -> None:
        self.index = {w: i for i, w in enumerate(self.words)}
        self.ids = {}

    def __len__(self) -> int:
        return len(self.words)

    def normalize(self, token: str) -> str:
        return normalize_token(token, self.lowercase, self.digits_to_zero)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Ids of ``tokens`` after normalisation; unknown words map to ``UNK_ID``.

        Memoised per raw token (text is Zipfian: a dict lookup replaces most
        normalisations); the memo is emptied at :data:`CACHE_SIZE` entries.
        """
        ids = self.ids
        if len(ids) >= CACHE_SIZE:
            ids.clear()
        out = []
        for token in tokens:
            i = ids.get(token)
            if i is None:
                i = ids[token] = self.index.get(self.normalize(token), UNK_ID)
            out.append(i)
        return out

    def forget(self) -> None:
        """Empty ``encode``'s memo: its keys hold raw token strings, and a trainer's freed token lists with them
        (scattered survivors keep Python's memory arenas from being returned: 350 MB on IMDB train)."""
        self.ids.clear()

    def save(self, path: Path) -> None:
        write_json(path, {k: v for k, v in asdict(self).items() if k not in ("index", "ids")})

    @classmethod
    def load(cls, path: Path) -> Vocab:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def build_vocab(
    counts: Counter,
    kv: KeyedVectors | None,
    lowercase: bool,
    digits_to_zero: bool,
    max_size: int | None = None,
    min_count: int = 1,
) -> Vocab:
    """Words of the training data (``counts``, raw tokens) plus, when given, every word that has a vector.

    With ``max_size`` only the most frequent training words are kept (the
    Keras-style ``num_words`` of the lecture presets) and vectors add none.
    Training words seen fewer than ``min_count`` times are left out of the
    training rows: with a vector they join the vector-only rows (kept at
    their vector by :class:`~pipeline.models.embedding.SplitEmbedding`),
    without one they map to the unknown word.
    """
    normalized = Counter()
    for token, count in counts.items():
        normalized[normalize_token(token, lowercase, digits_to_zero)] += count
    ranked = [w for w, c in sorted(normalized.items(), key=lambda wc: (-wc[1], wc[0])) if c >= min_count]
    if max_size is not None:
        ranked = ranked[: max_size - 2]
    trained = 2 + len(ranked)
    if max_size is None and kv is not None:
        seen = set(ranked)
        ranked += [w for w in kv.index_to_key if w not in seen]
    return Vocab([PAD, UNK, *ranked], lowercase, digits_to_zero, trained)


def embedding_matrix(vocab: Vocab, dim: int, kv: KeyedVectors | None, seed: int,
                     subwords: Subwords | None = None) -> tuple[np.ndarray, float]:
    """A ``(len(vocab), dim)`` float32 matrix: vector rows where word2vec has the word, small random rows elsewhere,
    or with fastText's ``subwords`` the word's n-gram vector there.

    Returns the matrix and the share of words covered by word vectors. The padding row is zero.
    """
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, INIT_SCALE, size=(len(vocab), dim)).astype(np.float32)
    matrix[PAD_ID] = 0.0
    if kv is None:
        return matrix, 0.0
    if kv.vector_size != dim:
        raise ValueError(f"vectors have dimension {kv.vector_size}, the model expects {dim}")
    hits = [i for i, w in enumerate(vocab.words) if w in kv.key_to_index]
    matrix[hits] = kv[[vocab.words[i] for i in hits]]
    if subwords is not None:
        misses = sorted(set(range(2, len(vocab))).difference(hits))
        matrix[misses] = [subwords.vector(vocab.words[i]) for i in misses] or np.empty((0, dim))
    return matrix, len(hits) / max(len(vocab) - 2, 1)
