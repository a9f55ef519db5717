"""Train word2vec (or fastText) with gensim and store the vectors in plain formats.

Vectors are written in word2vec *binary* format plus a ``vocab.tsv`` of
counts, and for fastText its n-gram table (:mod:`pipeline.embeddings.subwords`):
all load without unpickling (gensim's native ``.model`` files are pickles and
are never read by this project).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gensim.models import FastText, KeyedVectors, Word2Vec
from gensim.models.fasttext import FastTextKeyedVectors
from gensim.models.callbacks import CallbackAny2Vec

from pipeline.atomic import atomic_open, write_with
from pipeline.config import Word2VecConfig
from pipeline.data.corpus import TokenCorpus, iter_lines
from pipeline.embeddings.normalize import normalizer
from pipeline.embeddings.subwords import Subwords
from pipeline.embeddings.vector_file import read_vectors
from pipeline.errors import DataError, MissingDataError
from pipeline.model_dir import VECTOR_COUNTS, VECTORS
from pipeline.progress import progress


@dataclass(frozen=True)
class TrainStats:
    """What one training run did: raw corpus words seen across epochs and the wall time of training."""

    raw_words: int
    effective_words: int
    train_seconds: float
    normalize_seconds: float = 0.0

    @property
    def words_per_s(self) -> float:
        """Raw words per second of the whole job, normalisation pass included."""
        seconds = self.train_seconds + self.normalize_seconds
        return self.raw_words / seconds if seconds else 0.0


class _EpochBar(CallbackAny2Vec):
    """A tqdm bar over epochs; gensim's own INFO log has the per-second detail."""

    def __init__(self, epochs: int, name: str) -> None:
        self.bar = progress(total=epochs, desc=name, unit="epoch")

    def on_epoch_end(self, model: Word2Vec) -> None:
        self.bar.update(1)

    def on_train_end(self, model: Word2Vec) -> None:
        self.bar.close()


def gensim_class(cfg: Word2VecConfig) -> type[Word2Vec]:
    """gensim's ``Word2Vec`` or ``FastText`` (a subclass sharing its training API), as ``word2vec.model`` says."""
    return FastText if cfg.model == "fasttext" else Word2Vec


def gensim_kwargs(cfg: Word2VecConfig) -> dict:
    """The gensim keyword arguments for a config (shared with the benchmark's bare call)."""
    ngrams = {"min_n": cfg.min_n, "max_n": cfg.max_n, "bucket": cfg.bucket} if cfg.model == "fasttext" else {}
    return ngrams | {
        "sg": cfg.sg,
        "vector_size": cfg.vector_size,
        "window": cfg.window,
        "min_count": cfg.min_count,
        "negative": cfg.negative,
        "epochs": cfg.epochs,
        "workers": cfg.workers,
        "sample": cfg.sample,
        "seed": cfg.seed,
    }


def train(corpus: Iterable[list[str]], cfg: Word2VecConfig, show_progress: bool = True) -> tuple[Word2Vec, TrainStats]:
    """Build the vocabulary and train; ``corpus`` must be restartable (it is read once per epoch, plus once)."""
    model = gensim_class(cfg)(**gensim_kwargs(cfg))
    model.build_vocab(corpus)
    if not model.wv.key_to_index:
        raise DataError("word2vec corpus", None, f"no word occurs min_count={cfg.min_count} times; lower word2vec.min_count")
    callbacks = [_EpochBar(cfg.epochs, cfg.model)] if show_progress else []
    start = time.perf_counter()
    effective, raw = model.train(
        corpus, total_examples=model.corpus_count, epochs=cfg.epochs, callbacks=callbacks
    )
    return model, TrainStats(raw_words=raw, effective_words=effective, train_seconds=time.perf_counter() - start)


def normalize_file(source: Path, target: Path, cfg: Word2VecConfig) -> float:
    """Write the normalised corpus once; returns the seconds it took."""
    norm = normalizer(cfg.lowercase, cfg.digits_to_zero)
    start = time.perf_counter()
    with open(target, "w", encoding="utf-8") as out:
        out.writelines(norm(line) + "\n" for line in iter_lines(source))
    return time.perf_counter() - start


def train_file(corpus: Path, cfg: Word2VecConfig, show_progress: bool = True) -> tuple[Word2Vec, TrainStats]:
    """Train on a tokenized corpus file, normalised once up front into a temporary file.

    Normalising inside the corpus iterator instead would run in gensim's single
    producer thread, which competes with the worker threads for the GIL; one
    pass over the file costs a few seconds. ``benchmarks/word2vec_throughput.py``
    measures the whole path against bare gensim.
    """
    with tempfile.TemporaryDirectory(prefix="w2v-") as tmp:
        normalized = Path(tmp) / "corpus.txt"
        normalize_seconds = normalize_file(corpus, normalized, cfg)
        model, stats = train(TokenCorpus(normalized), cfg, show_progress)
    return model, TrainStats(stats.raw_words, stats.effective_words, stats.train_seconds, normalize_seconds)


def save(kv: KeyedVectors, out_dir: Path) -> None:
    """Write ``vectors.bin`` (word2vec binary) and ``vocab.tsv`` (word, count; most frequent first), atomically;
    fastText vectors add their n-gram table, and any other vectors remove a stale one."""
    write_with(out_dir / VECTORS, lambda tmp: kv.save_word2vec_format(str(tmp), binary=True))
    with atomic_open(out_dir / VECTOR_COUNTS) as fh:
        for word in kv.index_to_key:
            fh.write(f"{word}\t{kv.get_vecattr(word, 'count')}\n")
    if isinstance(kv, FastTextKeyedVectors):
        Subwords.of(kv).save(out_dir)
    else:
        Subwords.remove(out_dir)


def load(path: Path) -> KeyedVectors:
    """Load the stage's vectors (word2vec binary, or text for a ``.txt`` path) without unpickling.

    Parsed by :mod:`pipeline.embeddings.vector_file` rather than gensim's
    ``load_word2vec_format``: gensim reports a malformed file in numpy's words
    ("could not broadcast input array") with no position, and keeps a duplicated
    word as a ``None`` key. Here every problem is a DataError naming the file,
    the line (text) or vector (binary) and the word.
    """
    if not path.exists():
        raise MissingDataError(path, "run the word2vec stage first (dvc repro word2vec)")
    kv, _format = read_vectors(path, "word2vec-text" if path.suffix == ".txt" else "word2vec-binary")
    return kv


def load_subwords(path: Path) -> Subwords | None:
    """The fastText n-gram table beside the vectors file ``path``; None for word2vec vectors."""
    return Subwords.load(path.parent)
