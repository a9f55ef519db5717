"""Train word2vec with gensim and store the vectors in plain formats.

Vectors are written in word2vec *binary* format plus a ``vocab.tsv`` of
counts: both load without unpickling (gensim's native ``.model`` files are
pickles and are never read by this project).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
from gensim.models import KeyedVectors, Word2Vec
from gensim.models.callbacks import CallbackAny2Vec

from pipeline.atomic import atomic_open, write_with
from pipeline.config import Word2VecConfig
from pipeline.data.corpus import TokenCorpus, iter_lines
from pipeline.embeddings.normalize import normalizer
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

    def __init__(self, epochs: int) -> None:
        self.bar = progress(total=epochs, desc="word2vec", unit="epoch")

    def on_epoch_end(self, model: Word2Vec) -> None:
        self.bar.update(1)

    def on_train_end(self, model: Word2Vec) -> None:
        self.bar.close()


def gensim_kwargs(cfg: Word2VecConfig) -> dict:
    """The gensim ``Word2Vec`` keyword arguments for a config (shared with the benchmark's bare call)."""
    return dict(
        sg=cfg.sg,
        vector_size=cfg.vector_size,
        window=cfg.window,
        min_count=cfg.min_count,
        negative=cfg.negative,
        epochs=cfg.epochs,
        workers=cfg.workers,
        sample=cfg.sample,
        seed=cfg.seed,
    )


def train(corpus: Iterable[list[str]], cfg: Word2VecConfig, show_progress: bool = True) -> tuple[Word2Vec, TrainStats]:
    """Build the vocabulary and train; ``corpus`` must be restartable (it is read once per epoch, plus once)."""
    model = Word2Vec(**gensim_kwargs(cfg))
    model.build_vocab(corpus)
    if not model.wv.key_to_index:
        raise DataError("word2vec corpus", None, f"no word occurs min_count={cfg.min_count} times; lower word2vec.min_count")
    callbacks = [_EpochBar(cfg.epochs)] if show_progress else []
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
        for line in iter_lines(source):
            out.write(norm(line) + "\n")
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
    """Write ``vectors.bin`` (word2vec binary) and ``vocab.tsv`` (word, count; most frequent first), atomically."""
    write_with(out_dir / VECTORS, lambda tmp: kv.save_word2vec_format(str(tmp), binary=True))
    with atomic_open(out_dir / VECTOR_COUNTS) as fh:
        for word in kv.index_to_key:
            fh.write(f"{word}\t{kv.get_vecattr(word, 'count')}\n")


def load(path: Path) -> KeyedVectors:
    """Load word2vec-format vectors (binary, or text for a ``.txt`` path) without unpickling.

    Parsed here rather than by gensim's ``load_word2vec_format``: gensim reports
    a malformed file in numpy's words ("could not broadcast input array") with
    no position, and keeps a duplicated word as a ``None`` key. Every problem
    here is a DataError naming the file, the line (text) or vector (binary) and
    the word.
    """
    if not path.exists():
        raise MissingDataError(path, "run the word2vec stage first (dvc repro word2vec)")
    data = path.read_bytes()
    count, dim, offset = _header(path, data)
    text = path.suffix == ".txt"
    smallest = 2 * dim + 1 if text else 4 * dim + 2  # "w 0 0 0" or "w " and the float32s
    _check_size(path, count, dim, len(data) - offset, smallest)
    records = _text_records if text else _binary_records
    kv = KeyedVectors(vector_size=dim, count=count, dtype=np.float32)
    for index, (where, word, vector) in enumerate(records(path, data, offset, count, dim)):
        if word in kv.key_to_index:
            first = kv.key_to_index[word] + 1
            where.fail(f"word {word!r} occurs twice (first as vector {first}): the file is corrupt")
        if not np.isfinite(vector).all():
            where.fail(f"word {word!r} has a non-finite value (nan or inf)")
        kv.vectors[index] = vector
        kv.index_to_key[index] = word
        kv.key_to_index[word] = index
    kv.allocate_vecattrs(["count"], [np.int64])
    kv.expandos["count"][:] = np.arange(count, 0, -1)  # the made-up counts gensim's loader gives too
    return kv


@dataclass(frozen=True)
class _Where:
    """Where a record lies, for messages: a line of a text file or a vector of a binary one."""

    path: Path
    line: int | None
    vector: int

    def fail(self, message: str) -> NoReturn:
        """Raise the DataError for ``message`` here."""
        prefix = "" if self.line is not None else f"vector {self.vector}: "
        raise DataError(self.path, self.line, prefix + message)


def _header(path: Path, data: bytes) -> tuple[int, int, int]:
    """``(vector count, dimension, offset of the first record)`` from the ``COUNT DIM`` first line."""
    end = data.find(b"\n")
    line = data[: end if end >= 0 else len(data)]
    fields = line.split()
    if len(fields) != 2 or not all(field.isdigit() and int(field) > 0 for field in fields):
        shown = "(the file is empty)" if not data else repr(line[:40].decode("utf-8", "replace"))
        raise DataError(path, 1, f"bad header {shown}: a word2vec file starts with '<vector count> <dimension>'")
    return int(fields[0]), int(fields[1]), len(line) + 1


def _check_size(path: Path, count: int, dim: int, available: int, smallest: int) -> None:
    """Refuse a header announcing more vectors than the file can hold, before allocating ``count × dim`` floats.

    ``smallest`` is the fewest bytes one record takes, so a corrupt count such
    as 10⁹ fails here instead of exhausting memory.
    """
    if count * smallest > available:
        raise DataError(
            path,
            1,
            f"the header announces {count} vectors of dimension {dim}, at least {count * smallest} bytes, "
            f"but {available} follow: the file is truncated or its header is wrong",
        )


Record = tuple[_Where, str, np.ndarray]


def _text_records(path: Path, data: bytes, offset: int, count: int, dim: int) -> Iterator[Record]:
    """``word v1 … vDIM`` lines after the header (blank lines skipped); exactly ``count`` of them."""
    found = 0
    number = 1
    for number, raw in enumerate(data[offset:].splitlines(), start=2):
        if not raw.strip():
            continue
        where = _Where(path, number, found + 1)
        if found == count:
            where.fail(f"more vectors than the {count} the header (line 1) announces")
        try:
            word, *values = raw.decode("utf-8").rstrip().split(" ")
        except UnicodeDecodeError:
            where.fail("not valid UTF-8: is this a binary word2vec file? (only .txt paths are read as text)")
        if len(values) != dim:
            where.fail(f"word {word!r} has {len(values)} values, the header (line 1) says {dim}")
        try:
            vector = np.array([float(value) for value in values], dtype=np.float32)
        except ValueError as exc:
            where.fail(f"word {word!r}: {exc}")
        found += 1
        yield where, word, vector
    if found < count:
        _Where(path, number + 1, found + 1).fail(
            f"the file ends after {found} of the {count} vectors the header announces: it is truncated"
        )


def _binary_records(path: Path, data: bytes, offset: int, count: int, dim: int) -> Iterator[Record]:
    """``word<space>`` then DIM little-endian float32s, ``count`` times; C word2vec adds a newline after each."""
    width = 4 * dim
    for index in range(1, count + 1):
        where = _Where(path, None, index)
        while data[offset : offset + 1] == b"\n":
            offset += 1
        space = data.find(b" ", offset)
        if space < 0 or space + 1 + width > len(data):
            where.fail(
                f"the file ends inside vector {index} of {count}: "
                "it is truncated, or the header's count or dimension is wrong"
            )
        try:
            word = data[offset:space].decode("utf-8")
        except UnicodeDecodeError:
            where.fail("the word is not valid UTF-8: the file is corrupt, or the header's dimension is wrong")
        yield where, word, np.frombuffer(data, dtype="<f4", count=dim, offset=space + 1)
        offset = space + 1 + width
    if data[offset:].strip():
        message = f"data after the {count} vectors the header announces: its count or dimension is wrong"
        raise DataError(path, None, message)
