"""Language-model pretraining on unlabelled text: corpus lines → id windows → :func:`pipeline.training.loop.fit`.

The prepared corpus holds one whitespace-tokenized document a line. The
first ``max_tokens`` tokens are read (all with None), the last
``dev_fraction`` of those documents is held out for dev, and each document
is encoded once into an int32 id array, then cut into windows of
``bptt + 1`` tokens that overlap by one: a window's ``bptt`` forward
predictions (and as many backward) continue where the previous window's
stopped, so every neighbouring pair of a document is predicted exactly once
per direction, and no window crosses a document boundary (states are reset
at every window). Dev perplexity is the exact full-softmax perplexity,
averaged over both directions' predictions; early stopping keeps the epoch
of the lowest one.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from gensim.models import KeyedVectors
from pydantic import Field

from pipeline.config import Section
from pipeline.data.batching import Batches, bucket_batches
from pipeline.data.corpus import iter_lines
from pipeline.embeddings import word2vec
from pipeline.embeddings.vocab import Vocab, build_vocab, embedding_matrix
from pipeline.errors import ConfigError, DataError
from pipeline.model_dir import VOCAB, read_config
from pipeline.models.classifier import collate
from pipeline.models.language_model import MIN_OUTPUT_ROWS, BiLanguageModel, LMConfig, load_language_model
from pipeline.training.config import TrainConfig
from pipeline.training.distributed import shard
from pipeline.training.logger import MetricsLogger
from pipeline.training.loop import FitResult, fit

SECTION = "pretrain_lm"  # its section of params.yaml: config errors name fields under it
MONITOR = "dev_neg_perplexity"  # fit keeps the highest monitor: the lowest dev perplexity
Window = tuple[int, int]  # (document, start token): the window is that document's tokens [start, start + bptt + 1)


class LMTrainConfig(TrainConfig):
    """Training settings with language-model defaults (few epochs over a large corpus; clipping as in AWD-LSTM)."""

    epochs: int = Field(10, ge=1, le=1000)
    batch_size: int = Field(32, ge=1)  # windows per step
    patience: int = Field(2, ge=1)
    grad_clip: float = Field(0.25, gt=0.0)


class PretrainConfig(Section):
    """The ``pretrain_lm`` section: the language model, its training and how the corpus is read."""

    model: LMConfig = LMConfig()
    train: LMTrainConfig = LMTrainConfig()
    bptt: int = Field(64, ge=1)  # predictions per window (its tokens, less one: windows overlap by one)
    max_tokens: int | None = Field(None, ge=2)  # corpus tokens read, from the start; None reads them all
    dev_fraction: float = Field(0.05, gt=0.0, lt=1.0)  # of the documents read: the last ones are dev
    min_count: int = Field(2, ge=1)  # rarer training words are not output words: they are predicted as <unk>
    eval_batch_size: int = Field(64, ge=1)
    threads: int = Field(1, ge=1)  # torch intra-op threads (the stage sets them)


def read_documents(path: Path, max_tokens: int | None) -> list[list[str]]:
    """The corpus's token lists, in order, until ``max_tokens`` tokens are read (the last document cut there)."""
    documents, total = [], 0
    for line in iter_lines(path):
        tokens = line.split()
        if max_tokens is not None:
            tokens = tokens[: max_tokens - total]
        if tokens:
            documents.append(tokens)
            total += len(tokens)
        if max_tokens is not None and total >= max_tokens:
            break
    return documents


def split_documents(documents: list[list[str]], dev_fraction: float, path: Path) -> tuple[list, list]:
    """Train and dev documents: dev is the last ``dev_fraction`` of them (at least one), the same on every run."""
    n_dev = math.ceil(len(documents) * dev_fraction)
    if len(documents) - n_dev < 1:
        raise DataError(path, None, f"{len(documents)} document(s) read: need at least 2 to hold out "
                                    f"{SECTION}.dev_fraction={dev_fraction} for dev (raise max_tokens, or add text)")
    return documents[:-n_dev], documents[-n_dev:]


def cut_windows(documents: list[np.ndarray], bptt: int) -> list[Window]:
    """Every window of ``bptt + 1`` tokens starting at a multiple of ``bptt``, while it still has a prediction."""
    return [(doc, start) for doc, ids in enumerate(documents) for start in range(0, len(ids) - 1, bptt)]


class LMTask:
    """The :class:`~pipeline.training.loop.Task` of the language model: encoded windows, loss and dev perplexity."""

    def __init__(self, cfg: PretrainConfig, vocab: Vocab, train: list[list[str]], dev: list[list[str]],
                 source: Path) -> None:
        """``source``: the corpus, named in the error when dev has nothing to predict."""
        self.cfg, self.vocab = cfg, vocab
        self.train_ids = [np.asarray(vocab.encode(tokens), dtype=np.int32) for tokens in train]
        self.dev_ids = [np.asarray(vocab.encode(tokens), dtype=np.int32) for tokens in dev]
        vocab.forget()  # the memo holds raw token strings: free them with the token lists
        self.train_windows = cut_windows(self.train_ids, cfg.bptt)
        self.dev_windows = cut_windows(self.dev_ids, cfg.bptt)
        self.train_lengths = [len(self.window(self.train_ids, w)) for w in self.train_windows]
        if not self.train_windows or not self.dev_windows:
            raise DataError(source, None, "train and dev each need a document of two tokens or more to predict")

    def window(self, documents: list[np.ndarray], window: Window) -> np.ndarray:
        """The ids of one window (``bptt + 1`` tokens, fewer at a document's end)."""
        doc, start = window
        return documents[doc][start : start + self.cfg.bptt + 1]

    def _collate(self, documents: list[np.ndarray], windows: list[Window],
                 indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded ``(ids (B,T), lengths (B,))`` of the windows at ``indices``."""
        return collate([self.window(documents, windows[i]) for i in indices])

    def batches(self, epoch: int) -> Batches:
        """This rank's shuffled ``(ids, lengths)`` batches of windows, fixed by ``(seed, epoch)``."""
        order = bucket_batches(self.train_lengths, self.cfg.train.batch_size, self.cfg.train.seed, epoch)
        return Batches(shard(order), lambda indices: self._collate(self.train_ids, self.train_windows, indices))

    def loss(self, model: BiLanguageModel, batch) -> tuple[torch.Tensor, int]:
        ids, lengths = batch
        return model.loss(ids, lengths), int(lengths.sum())

    def dev_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Dev windows in batches of ``eval_batch_size``, longest first."""
        lengths = [len(self.window(self.dev_ids, w)) for w in self.dev_windows]
        for indices in bucket_batches(lengths, self.cfg.eval_batch_size, seed=0, epoch=0, shuffle=False):
            yield self._collate(self.dev_ids, self.dev_windows, indices)

    def evaluate(self, model: BiLanguageModel) -> dict[str, float]:
        """Dev loss (mean full-softmax NLL over both directions), its perplexity and the negated one (the monitor)."""
        total, count = 0.0, 0
        for ids, lengths in self.dev_batches():
            losses = model.target_losses(ids, lengths)
            total, count = total + float(losses.sum()), count + losses.numel()
        loss = total / count
        perplexity = math.exp(loss)
        return {"dev_loss": loss, "dev_perplexity": perplexity, MONITOR: -perplexity}

    def save_assets(self, directory: Path) -> None:
        self.vocab.save(directory / VOCAB)


def load_vectors(cfg: PretrainConfig, vectors_path: Path) -> tuple[KeyedVectors, dict]:
    """The word2vec vectors, checked against ``model.word_dim``, and their normalisation (``config.json`` beside)."""
    normalisation = read_config(vectors_path.parent)
    kv = word2vec.load(vectors_path)
    if kv.vector_size != cfg.model.word_dim:
        raise ConfigError("params.yaml", f"{SECTION}.model.word_dim",
                          f"is {cfg.model.word_dim} but the vectors have {kv.vector_size} dimensions")
    return kv, normalisation


def build_task(cfg: PretrainConfig, corpus_path: Path, vectors_path: Path) -> tuple[BiLanguageModel, LMTask]:
    """A seeded language model whose embedding rows are the word2vec vectors (fastText: n-gram vectors for training
    words without one), and the encoded task over the corpus."""
    kv, normalisation = load_vectors(cfg, vectors_path)
    train, dev = split_documents(read_documents(corpus_path, cfg.max_tokens), cfg.dev_fraction, corpus_path)
    counts = Counter(token for tokens in train for token in tokens)
    vocab = build_vocab(counts, kv, normalisation["lowercase"], normalisation["digits_to_zero"],
                        min_count=cfg.min_count)
    if vocab.trained < MIN_OUTPUT_ROWS:
        raise ConfigError("params.yaml", f"{SECTION}.min_count",
                          f"is {cfg.min_count}: no training word of {corpus_path} is that frequent, nothing to predict")
    matrix, _ = embedding_matrix(vocab, cfg.model.word_dim, kv, cfg.train.seed, word2vec.load_subwords(vectors_path))
    torch.manual_seed(cfg.train.seed)
    model = BiLanguageModel(cfg.model, len(vocab), vocab.trained, matrix)
    return model, LMTask(cfg, vocab, train, dev, corpus_path)


def train_lm(cfg: PretrainConfig, corpus_path: Path, vectors_path: Path, out_dir: Path, logger: MetricsLogger,
             resume: bool = False) -> FitResult:
    """Pretrain on the corpus with early stopping on dev perplexity; the best model lands in ``out_dir/model``."""
    model, task = build_task(cfg, corpus_path, vectors_path)
    return fit(model, task, cfg.train, out_dir, MONITOR, cfg.model_dump(mode="json"), logger, resume)


def pretrained(lm_dir: Path | None, field: str, setting: str) -> tuple[BiLanguageModel, Vocab]:
    """The ``pretrain_lm`` stage's model and vocabulary for a task whose ``field`` is ``setting`` (not none)."""
    if lm_dir is None or not lm_dir.exists():
        raise ConfigError("params.yaml", field, f"is {setting} but there is no language model at {lm_dir}: "
                                                "run the pretrain_lm stage first")
    return load_language_model(lm_dir)
