"""The sequence tagger: word vectors + casing + characters → recurrent encoder → CRF (or softmax).

Shapes: ``B`` sentences in a batch, ``T`` tokens in the longest one, ``C``
characters in the longest (truncated) token, ``K`` tags, ``N`` real tokens, ``U`` distinct ones.

    words (B,T) ─ word embedding [+ n-grams] ──┐ (N,word_dim)
    casing (B,T) ─ casing embedding ───────────┤ (N,casing_dim)     [casing on]
    chars (U,C) ─ char CNN or BiLSTM → gather ──┤ (N,char_out)       [char_encoder ≠ none]
    lm words (B,T) ─ pretrained BiLM states ───┤ (N,2·lm_hidden)    [lm ≠ none: TagLM]
                                                ▼ concat, dropout
                      packed LSTM / GRU / RNN (bidirectional, layers) → h (N,H = hidden·dirs)
                                                ▼ [doc_context] concat the mean h of the word in its document → (N,2H)
                                                ▼ dropout, linear
                                  token emissions (N,K) → padded (B,T,K) → CRF / softmax

Everything but the CRF works on the real tokens only: features go straight
into the packed sequence's time-major order and come back out of it, so
dropout, the document memory and the output layer never touch padding.

With ``lm: frozen | finetune`` the forward and backward states of the
``pretrain_lm`` stage's language model (:mod:`pipeline.models.language_model`,
its own vocabulary) join each token's features, as in TagLM (Peters et al.
2017); the language model's weights and vocabulary are saved with the tagger's.
Its states depend on the whole sentence, so such a tagger runs in torch only.

With fastText vectors a word outside the vocabulary gets its n-gram vector
(:mod:`pipeline.embeddings.subwords`) instead of the ``<unk>`` row.
Vectors are lowercased (see :mod:`pipeline.embeddings.normalize`), so case
reaches the model only through the casing category and the characters. The
config (:class:`TaggerConfig`) plus :class:`TaggerAssets` (vocabularies and
tags) rebuild the module: :func:`load_tagger` needs nothing but the model
directory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import torch
from pydantic import Field
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

from pipeline.atomic import write_json
from pipeline.config import Section, build_section
from pipeline.data.tags import Scheme
from pipeline.embeddings.subwords import Subwords
from pipeline.embeddings.vocab import CACHE_SIZE, UNK_ID, Vocab
from pipeline.errors import DataError
from pipeline.model_dir import CONFIG, LM_VOCAB, TAGGER_ASSETS, VOCAB, load_weights, read_config, read_json, require
from pipeline.models.crf import best_paths, constrained_crf, crf_nll, marginals
from pipeline.models.dropout import Dropout
from pipeline.models.embedding import SplitEmbedding, initial_table
from pipeline.models.language_model import BiLanguageModel, LMConfig
from pipeline.models.onnx_encoder import Engine, OnnxEncoder, Quantize, choose_engine

MAX_WORD_CHARS = 25  # longer tokens (URLs) are truncated for the char encoder: bounds the (U,C) padding
CASINGS = ("<pad>", "numeric", "mostly_numeric", "lower", "upper", "title", "has_digit", "other")
_RNNS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class TaggerConfig(Section):
    """Architecture of the tagger (``ner.model`` in params.yaml)."""

    embedding: Literal["frozen", "finetune", "random"] = "finetune"
    word_dim: int = Field(100, ge=1)  # must equal the word2vec vector_size unless embedding is random
    casing: bool = True
    casing_dim: int = Field(8, ge=1)
    char_encoder: Literal["none", "cnn", "lstm"] = "cnn"
    char_dim: int = Field(30, ge=1)
    char_size: int = Field(50, ge=1)  # CNN filters, or LSTM hidden units per direction
    char_kernel: int = Field(3, ge=1)
    encoder: Literal["lstm", "gru", "rnn"] = "lstm"
    layers: int = Field(1, ge=1, le=4)
    bidirectional: bool = True
    hidden_size: int = Field(100, ge=1)  # per direction
    dropout: float = Field(0.5, ge=0.0, lt=1.0)
    word_dropout: float = Field(0.0, ge=0.0, lt=1.0)  # training only: a token's word id becomes <unk> with this probability
    decoder: Literal["crf", "softmax"] = "crf"
    # Beside each token's encoder state, the mean state of every occurrence of its word in the document: a name
    # tagged from a clear context in one sentence informs the others (document memory, as in Akbik et al. 2019).
    doc_context: bool = False
    # TagLM: the pretrained language model's states beside each token's features, kept as trained or fine-tuned
    lm: Literal["none", "frozen", "finetune"] = "none"


class TokenIds(NamedTuple):
    """One token's model inputs (see :meth:`TaggerAssets.token_ids`)."""

    word: int
    casing: int
    chars: list[int]  # at least one id: a token's character encoding is never empty
    subword: np.ndarray | None = None  # (word_dim,) n-gram vector of a word outside the vocabulary (fastText vectors)
    lm_word: int = 0  # its id in the language model's vocabulary (0 without one)


@dataclass
class TaggerAssets:
    """What turns tokens into ids and ids back into tags; saved beside the weights."""

    vocab: Vocab
    chars: list[str]  # chars[0] is padding, chars[1] unknown
    tags: list[str]
    scheme: Scheme
    trainable_words: int  # vocab rows 0..n-1 are padding, unknown and the training words; the rest only have vectors
    subwords: Subwords | None = None  # fastText's n-gram table: vectors for words outside the vocabulary
    lm_vocab: Vocab | None = None  # the language model's vocabulary (a tagger with ``lm`` ≠ none)
    lm_config: dict | None = None  # the language model's architecture (LMConfig), to rebuild it before its weights load

    def __post_init__(self) -> None:
        self.char_index = {c: i for i, c in enumerate(self.chars)}
        self.tag_index = {t: i for i, t in enumerate(self.tags)}
        self._token_cache: dict[str, TokenIds] = {}

    def token_ids(self, token: str) -> TokenIds:
        """Word id, casing category, character ids and (a word outside the vocabulary, with fastText vectors) the
        n-gram vector of ``token``, memoised.

        Text is Zipfian: most tokens of a batch were seen before, so a dict
        lookup replaces normalising, classifying and spelling each one out.
        The cache is emptied when it
        reaches :data:`~pipeline.embeddings.vocab.CACHE_SIZE` entries, so a long-running service
        stays bounded in memory.
        """
        ids = self._token_cache.get(token)
        if ids is None:
            if len(self._token_cache) >= CACHE_SIZE:
                self._token_cache.clear()
            chars = [self.char_index.get(c, UNK_ID) for c in token[:MAX_WORD_CHARS]] or [UNK_ID]
            word = self.vocab.encode([token])[0]
            subword = None
            if word == UNK_ID and self.subwords is not None:
                subword = self.subwords.vector(self.vocab.normalize(token))
            lm_word = 0 if self.lm_vocab is None else self.lm_vocab.encode([token])[0]
            ids = self._token_cache[token] = TokenIds(word, casing(token), chars, subword, lm_word)
        return ids

    def save(self, directory: Path) -> None:
        self.vocab.save(directory / VOCAB)
        raw = {"chars": self.chars, "tags": self.tags, "scheme": self.scheme, "trainable_words": self.trainable_words}
        if self.lm_vocab is not None:
            self.lm_vocab.save(directory / LM_VOCAB)
            raw["lm"] = self.lm_config
        write_json(directory / TAGGER_ASSETS, raw)
        if self.subwords is not None:
            self.subwords.save(directory)

    @classmethod
    def load(cls, directory: Path) -> TaggerAssets:
        require(directory, (VOCAB, TAGGER_ASSETS), "tagger model")
        raw = read_json(directory / TAGGER_ASSETS)
        lm_vocab = None
        if "lm" in raw:
            require(directory, (LM_VOCAB,), "tagger model with a language model")
            lm_vocab = Vocab.load(directory / LM_VOCAB)
        return cls(Vocab.load(directory / VOCAB), raw["chars"], raw["tags"], raw["scheme"], raw["trainable_words"],
                   Subwords.load(directory), lm_vocab, raw.get("lm"))


def char_alphabet(sentences: Sequence[Sequence[str]]) -> list[str]:
    """Padding, unknown, then every character of the training tokens (most frequent first, for stable ids)."""
    counts = Counter(c for tokens in sentences for token in tokens for c in token)
    return ["<pad>", "<unk>", *sorted(counts, key=lambda c: (-counts[c], c))]


def casing(token: str) -> int:
    """The casing category of a raw token: the case information the lowercased vectors lack."""
    digits = sum(c.isdigit() for c in token)
    if token.isdigit():
        name = "numeric"
    elif digits / max(len(token), 1) > 0.5:
        name = "mostly_numeric"
    elif token.islower():
        name = "lower"
    elif token.isupper():
        name = "upper"
    elif token[:1].isupper():
        name = "title"
    elif digits:
        name = "has_digit"
    else:
        name = "other"
    return CASINGS.index(name)


@dataclass
class Batch:
    """Padded id tensors of one batch; ``tags`` is None at inference."""

    words: torch.Tensor  # (B,T) long
    casing: torch.Tensor  # (B,T) long
    chars: torch.Tensor  # (U,C) long: the characters of each distinct token of the batch
    char_rows: torch.Tensor  # (N,) long: for each real token, sentence by sentence (``mask`` order), its row of ``chars``
    lengths: torch.Tensor  # (B,) long, on CPU (pack_padded_sequence wants it there); every length ≥ 1
    tags: torch.Tensor | None  # (B,T) long
    groups: torch.Tensor | None = None  # (N,) long: each real token's (document, lowercased word) group, with docs
    subword_at: torch.Tensor | None = None  # (M,) long: token (N) positions of the words with an n-gram vector
    subword_vectors: torch.Tensor | None = None  # (M,word_dim): their vectors, in place of the <unk> row
    lm_words: torch.Tensor | None = None  # (B,T) long: language-model vocabulary ids (a tagger with ``lm``)

    def place_subwords(self, words: torch.Tensor) -> torch.Tensor:
        """(N,word_dim) word features with the n-gram vectors of words outside the vocabulary in place."""
        if self.subword_at is None:
            return words
        return words.index_copy(0, self.subword_at, self.subword_vectors)

    @cached_property
    def unpadded(self) -> bool:
        """Every sentence as long as the longest (one sentence alone, say)."""
        return bool((self.lengths == self.words.shape[1]).all())

    @cached_property
    def mask(self) -> torch.Tensor:
        """(B,T) bool: True on real tokens (built once per batch: the model reads it several times)."""
        return torch.arange(self.words.shape[1])[None, :] < self.lengths[:, None]

    @cached_property
    def positions(self) -> torch.Tensor:
        """(N,) long: each real token's flat (B·T) position, in ``mask`` order."""
        return self.mask.flatten().nonzero().squeeze(1)

    @cached_property
    def packing(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """What packs the (N,·) tokens without padding: the token order of a time-major
        :class:`~torch.nn.utils.rnn.PackedSequence` (longest sentence first at each step), its batch sizes, and its
        sorted and unsorted sentence indices."""
        lengths = self.lengths.numpy()
        order = np.argsort(-lengths, kind="stable")  # sentences, longest first
        starts = (np.cumsum(lengths) - lengths)[order]  # (B,) each sorted sentence's first token
        steps = np.arange(int(lengths.max()))[:, None]  # (T,1)
        running = steps < lengths[order][None, :]  # (T,B): a prefix of each row, as the lengths are sorted
        tokens = (starts[None, :] + steps)[running]  # (N,) time-major, as the packed data is laid out
        unsorted = np.empty_like(order)
        unsorted[order] = np.arange(len(order))
        return (torch.from_numpy(tokens), torch.from_numpy(running.sum(axis=1)), torch.from_numpy(order),
                torch.from_numpy(unsorted))


def _scatter(mask: np.ndarray, values: Sequence[int]) -> torch.Tensor:
    """A zero-padded (B,T) id tensor holding ``values`` (one per real token, row by row) where ``mask`` is True."""
    out = np.zeros(mask.shape, dtype=np.int64)
    out[mask] = values
    return torch.from_numpy(out)


def _char_matrix(rows: Sequence[list[int]]) -> torch.Tensor:
    """(len(rows),C) character ids, right-padded with 0, filled by one vectorised assignment, not a loop per row."""
    sizes = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    out = np.zeros((len(rows), int(sizes.max())), dtype=np.int64)
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)  # position of each character's token start in the flat list
    flat = np.fromiter((c for r in rows for c in r), dtype=np.int64, count=int(sizes.sum()))
    out[np.repeat(np.arange(len(rows)), sizes), np.arange(len(flat)) - starts] = flat
    return torch.from_numpy(out)


def encode_batch(sentences: Sequence[Sequence[str]], assets: TaggerAssets,
                 tags: Sequence[Sequence[str]] | None = None, docs: Sequence[int] | None = None) -> Batch:
    """Pad a batch of non-empty token lists (and their tags in ``assets.scheme``) into a :class:`Batch`.

    ``docs`` (a document id per sentence) adds the token groups a
    ``doc_context`` tagger pools over.
    """
    lengths = [len(s) for s in sentences]
    if not sentences or min(lengths) == 0:
        raise ValueError("encode_batch needs at least one sentence and no empty sentence")
    mask = np.arange(max(lengths))[None, :] < np.array(lengths)[:, None]  # (B,T)
    rows: dict[str, int] = {}  # distinct token → its row of chars: the char encoder runs once per distinct token
    char_rows = [rows.setdefault(token, len(rows)) for tokens in sentences for token in tokens]  # N, in mask order
    distinct = [assets.token_ids(token) for token in rows]  # U
    ids = [distinct[row] for row in char_rows]  # N
    tag_ids = None
    if tags is not None:
        if [len(row) for row in tags] != lengths:
            raise ValueError("every sentence needs exactly one tag per token")
        unknown = {t for row in tags for t in row} - assets.tag_index.keys()
        if unknown:
            raise DataError("tags", None, f"tags {sorted(unknown)} were not seen in training")
        tag_ids = _scatter(mask, [assets.tag_index[t] for row in tags for t in row])
    return Batch(
        words=_scatter(mask, [i.word for i in ids]),
        casing=_scatter(mask, [i.casing for i in ids]),
        chars=_char_matrix([i.chars for i in distinct]),
        char_rows=torch.tensor(char_rows),
        lengths=torch.tensor(lengths),
        tags=tag_ids,
        groups=None if docs is None else _word_groups(sentences, docs),
        lm_words=None if assets.lm_vocab is None else _scatter(mask, [i.lm_word for i in ids]),
        **_subwords(ids),
    )


def _subwords(ids: Sequence[TokenIds]) -> dict[str, torch.Tensor]:
    """The :class:`Batch` fields placing n-gram vectors (none when no token of the batch has one)."""
    at = [n for n, i in enumerate(ids) if i.subword is not None]
    if not at:
        return {}
    return {"subword_at": torch.tensor(at),
            "subword_vectors": torch.from_numpy(np.stack([ids[n].subword for n in at]))}


def _word_groups(sentences: Sequence[Sequence[str]], docs: Sequence[int]) -> torch.Tensor:
    """(N,) group ids, in ``mask`` order: tokens share one when their document and lowercased word are the same."""
    groups: dict[tuple[int, str], int] = {}
    return torch.tensor([groups.setdefault((doc, token.lower()), len(groups))
                         for tokens, doc in zip(sentences, docs) for token in tokens])


class CharCNN(nn.Module):
    """Per-token character CNN with max pooling over characters (Ma & Hovy 2016).

    The convolution is one matrix product over unfolded windows, faster on CPU
    than ``conv1d`` for inputs this short.
    """

    def __init__(self, cfg: TaggerConfig) -> None:
        super().__init__()
        self.kernel = cfg.char_kernel
        self.window = nn.Linear(cfg.char_kernel * cfg.char_dim, cfg.char_size)
        self.out_dim = cfg.char_size

    def forward(self, emb: torch.Tensor, char_mask: torch.Tensor) -> torch.Tensor:
        # emb (N,C,char_dim), char_mask (N,C) → (N,char_size)
        left = (self.kernel - 1) // 2
        padded = nn.functional.pad(emb, (0, 0, left, self.kernel - 1 - left))  # (N,C+kernel-1,char_dim)
        windows = padded.unfold(1, self.kernel, 1).flatten(2)  # (N,C,char_dim·kernel)
        feats = self.window(windows)  # (N,C,char_size)
        return feats.masked_fill(~char_mask[:, :, None], float("-inf")).max(dim=1).values


class CharLSTM(nn.Module):
    """Per-token character BiLSTM; the token is the concatenated last states (Lample et al. 2016)."""

    def __init__(self, cfg: TaggerConfig) -> None:
        super().__init__()
        self.rnn = nn.LSTM(cfg.char_dim, cfg.char_size, batch_first=True, bidirectional=True)
        self.out_dim = 2 * cfg.char_size

    def forward(self, emb: torch.Tensor, char_mask: torch.Tensor) -> torch.Tensor:
        # emb (N,C,char_dim) → packed → h (2,N,char_size) → (N,2·char_size)
        packed = pack_padded_sequence(emb, char_mask.sum(1).cpu(), batch_first=True, enforce_sorted=False)
        _, (h, _) = self.rnn(packed)
        return torch.cat([h[0], h[1]], dim=1)


def _language_model(cfg: TaggerConfig, assets: TaggerAssets) -> BiLanguageModel | None:
    """The (untrained) language model a tagger with ``lm`` ≠ none holds, shaped by the assets' LM config."""
    if cfg.lm == "none":
        return None
    if assets.lm_vocab is None or assets.lm_config is None:
        raise ValueError(f"lm: {cfg.lm} needs the language model's vocabulary and config in the tagger's assets")
    vocab = assets.lm_vocab
    model = BiLanguageModel(LMConfig.model_validate(assets.lm_config), len(vocab), vocab.trained or len(vocab))
    return model.requires_grad_(cfg.lm == "finetune")


class Tagger(nn.Module):
    """BiLSTM/BiGRU/BiRNN tagger with a CRF or softmax output layer."""

    def __init__(self, cfg: TaggerConfig, assets: TaggerAssets, vectors: np.ndarray | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        table = initial_table(vectors, len(assets.vocab), cfg.word_dim, torch.zeros)
        self.words = SplitEmbedding(table, assets.trainable_words, cfg.embedding == "frozen", cfg.word_dropout)
        in_dim = cfg.word_dim
        self.casing = nn.Embedding(len(CASINGS), cfg.casing_dim, padding_idx=0) if cfg.casing else None
        in_dim += cfg.casing_dim if cfg.casing else 0
        self.char_emb, self.char_enc = None, None
        if cfg.char_encoder != "none":
            self.char_emb = nn.Embedding(len(assets.chars), cfg.char_dim, padding_idx=0)
            self.char_enc = CharCNN(cfg) if cfg.char_encoder == "cnn" else CharLSTM(cfg)
            in_dim += self.char_enc.out_dim
        self.lm = _language_model(cfg, assets)
        in_dim += 0 if self.lm is None else 2 * self.lm.cfg.hidden_size
        self.dropout = Dropout(cfg.dropout)
        self.rnn = _RNNS[cfg.encoder](
            in_dim, cfg.hidden_size, num_layers=cfg.layers, bidirectional=cfg.bidirectional,
            batch_first=True, dropout=cfg.dropout if cfg.layers > 1 else 0.0,
        )
        states = cfg.hidden_size * (2 if cfg.bidirectional else 1)
        self.out = nn.Linear(states * (2 if cfg.doc_context else 1), len(assets.tags))
        self.crf = constrained_crf(assets.tags, assets.scheme) if cfg.decoder == "crf" else None
        self.engine: Engine = "torch"  # set by use_engine
        self.onnx: OnnxEncoder | None = None  # set by use_engine; dropped by train(): it holds a copy of the weights

    def use_engine(self, engine: Engine = "auto", quantize: Quantize = "none", source: str = "model") -> Engine:
        """Choose what runs the encoder at inference (see :func:`choose_engine`, which returns the choice).

        ``numpy`` runs in :class:`~pipeline.models.numpy_encoder.NumpyEncoder`, which
        :class:`~pipeline.predict.ner.NerPredictor` holds; here ``onnx`` sets the ONNX Runtime session.
        """
        chosen = choose_engine(self, engine, quantize, source)
        self.engine = chosen
        self.onnx = OnnxEncoder(self, quantize) if chosen == "onnx" else None
        return chosen

    def train(self, mode: bool = True) -> Tagger:
        if mode:
            self.onnx, self.engine = None, "torch"  # the session's weights would go stale
        super().train(mode)
        if self.lm is not None and self.cfg.lm == "frozen":
            self.lm.eval()  # a frozen language model gives its trained states: no dropout
        return self

    def _features(self, batch: Batch) -> torch.Tensor:
        """Token features (N,in): word vector, casing and characters, concatenated."""
        mask = batch.mask
        parts = [batch.place_subwords(self.words(batch.words[mask]))]  # (N,word_dim)
        if self.casing is not None:
            parts.append(self.casing(batch.casing[mask]))  # (N,casing_dim)
        if self.char_enc is not None:
            chars = self.char_enc(self.char_emb(batch.chars), batch.chars != 0)  # (U,char_out), distinct tokens
            parts.append(chars[batch.char_rows])  # (N,char_out)
        if self.lm is not None:
            if batch.lm_words is None:
                raise ValueError("a tagger with a language model needs batches from encode_batch with its assets")
            with torch.set_grad_enabled(torch.is_grad_enabled() and self.cfg.lm == "finetune"):
                parts.append(self.lm.states(batch.lm_words, batch.lengths)[mask])  # (N,2·lm_hidden)
        return torch.cat(parts, dim=1)

    def token_emissions(self, batch: Batch) -> torch.Tensor:
        """Tag scores (N,K) of the real tokens, sentence after sentence."""
        if self.onnx is not None and not self.training:
            h = self.onnx(batch)[batch.mask]  # (N,H): features and encoder in one ONNX Runtime call
        else:
            h = self._encode(self.dropout(self._features(batch)), batch)  # (N,H)
        if self.cfg.doc_context:
            h = torch.cat([h, self._document_memory(h, batch)], dim=1)  # (N,2H)
        return self.out(self.dropout(h))  # (N,K)

    def emissions(self, batch: Batch) -> torch.Tensor:
        """Per-token tag scores (B,T,K), zero on padding."""
        return _padded(self.token_emissions(batch), batch)

    def _encode(self, x: torch.Tensor, batch: Batch) -> torch.Tensor:
        """(N,in) token features → (N,H) encoder states.

        The tokens enter the recurrent layer as a packed sequence built from
        their own rows (:attr:`Batch.packing`), never padded. At inference a
        batch without padding (one sentence) runs unpacked, which costs less
        on a short sentence; training always packs, so its arithmetic is the
        same whatever the batch.
        """
        if not self.training and batch.unpadded:
            return self.rnn(x.view(*batch.words.shape, -1))[0].flatten(0, 1)
        tokens, sizes, order, unsorted = batch.packing
        states = self.rnn(PackedSequence(x[tokens], sizes, order, unsorted))[0].data  # (N,H), packed order
        return states.new_empty(states.shape).index_copy(0, tokens, states)

    def _document_memory(self, h: torch.Tensor, batch: Batch) -> torch.Tensor:
        """(N,H): for each real token, the mean encoder state over its group (same word, same document)."""
        if batch.groups is None:
            raise ValueError("a doc_context tagger needs encode_batch(..., docs=...): one document id per sentence")
        count = int(batch.groups.max()) + 1
        if count == len(batch.groups):  # every token its own group (a short sentence alone): the mean is the state itself
            return h
        sums = h.new_zeros(count, h.shape[1]).index_add_(0, batch.groups, h)  # (G,H)
        sizes = torch.bincount(batch.groups, minlength=count).to(h.dtype)  # (G,)
        return (sums / sizes[:, None])[batch.groups]

    def loss(self, batch: Batch) -> torch.Tensor:
        """Mean negative log-likelihood per sentence (CRF) or per token (softmax)."""
        if self.crf is not None:
            return crf_nll(self.crf, self.emissions(batch), batch.tags, batch.mask)
        return nn.functional.cross_entropy(self.token_emissions(batch), batch.tags[batch.mask])

    def decode(self, batch: Batch) -> list[list[int]]:
        """Best tag ids per sentence: Viterbi under the CRF, per-token argmax under softmax."""
        return self._best(self.token_emissions(batch), batch)

    def decode_scored(self, batch: Batch) -> tuple[list[list[int]], list[list[float]]]:
        """Best tag ids and, per token, the probability of that tag (CRF marginal, or softmax)."""
        scores = self.token_emissions(batch)
        best = self._best(scores, batch)
        return best, self.probabilities(_padded(scores, batch), batch.mask, best)

    def probabilities(self, scores: torch.Tensor, mask: torch.Tensor, best: list[list[int]]) -> list[list[float]]:
        """Per token, the probability of its tag in ``best`` under the emissions ``scores`` (B,T,K): the CRF marginal,
        or the softmax."""
        probs = marginals(self.crf, scores, mask) if self.crf is not None else scores.softmax(dim=2)  # (B,T,K)
        return [probs[i, torch.arange(len(row)), row].tolist() for i, row in enumerate(best)]

    def _best(self, scores: torch.Tensor, batch: Batch) -> list[list[int]]:
        """Best tag ids per sentence from the token scores (N,K), in numpy (see :func:`best_paths`)."""
        crf = None if self.crf is None else tuple(
            p.detach().numpy() for p in (self.crf.start_transitions, self.crf.transitions, self.crf.end_transitions))
        return best_paths(crf, scores.detach().numpy(), batch.lengths.numpy())


def _padded(scores: torch.Tensor, batch: Batch) -> torch.Tensor:
    """Token scores (N,K) laid out as (B,T,K), zero on padding."""
    rows, steps = batch.words.shape
    return scores.new_zeros(rows * steps, scores.shape[1]).index_copy(0, batch.positions, scores).view(rows, steps, -1)


def load_tagger(directory: Path, engine: Engine = "torch", quantize: Quantize = "none") -> tuple[Tagger, TaggerAssets]:
    """Rebuild a tagger from its model directory (``config.json`` + assets + ``model.safetensors``), in eval mode,
    its encoder run by ``engine`` (see :meth:`Tagger.use_engine`)."""
    config = read_config(directory)
    cfg = build_section(TaggerConfig, config.get("model"), directory / CONFIG, "model")
    assets = TaggerAssets.load(directory)
    model = load_weights(directory, Tagger(cfg, assets)).eval()
    model.use_engine(engine, quantize, str(directory))
    return model, assets
