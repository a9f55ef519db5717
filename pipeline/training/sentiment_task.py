"""Sentiment training: examples → ids → length-bucketed batches → :func:`pipeline.training.loop.fit`.

The target is any field of the prepared records: ``label`` (pos/neg, the
binary head) or ``rating`` (IMDB's 1-10 stars, the softmax head); a CSV with
a ``text`` column and a label column trains the same way. Long reviews are
cut to ``max_len`` tokens by the ``truncation`` policy; an empty review is
one unknown token, so every text gets a prediction. Dev, carved from train
by the prepare stage, chooses the epoch; the test set is never read here.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from gensim.models import KeyedVectors
from pydantic import Field

from pipeline.atomic import write_json
from pipeline.config import Section, build_section, read_yaml
from pipeline.data.jsonl import read_jsonl
from pipeline.data.tokenizer import tokenize_many
from pipeline.embeddings import word2vec
from pipeline.embeddings.vocab import PAD_ID, UNK_ID, Vocab, build_vocab, embedding_matrix
from pipeline.errors import ConfigError, DataError, MissingDataError
from pipeline.models.classifier import ClassifierConfig, RNNClassifier, loss_fn, probabilities
from pipeline.tracking.logger import MetricsLogger
from pipeline.training.batching import bucket_batches
from pipeline.training.checkpoint import CONFIG, read_config
from pipeline.training.config import TrainConfig
from pipeline.training.distributed import shard
from pipeline.training.loop import FitResult, fit

VOCAB_FILE = "vocab.json"
LABELS_FILE = "labels.json"
HEAD_SHARE = 0.25  # head+tail keeps the first quarter and the last three quarters (Sun et al. 2019)


class SentimentConfig(Section):
    """The ``sentiment`` section of ``params.yaml`` and of every preset in ``configs/``."""

    model: ClassifierConfig = ClassifierConfig()
    train: TrainConfig = TrainConfig(epochs=5, batch_size=32, patience=2)
    target: str = "label"  # record field to predict: label (pos/neg) or rating (1-10)
    max_vocab: int | None = Field(None, ge=3)  # Keras num_words: the most frequent training words only
    min_count: int = Field(1, ge=1)  # rarer training words are not fine-tuned: they keep their vector, or become <unk>
    lowercase: bool = True  # must match the word2vec normalisation when vectors are used
    digits_to_zero: bool = True
    max_len: int | None = Field(400, ge=1)  # None keeps whole reviews
    truncation: Literal["head", "tail", "head+tail"] = "head+tail"
    eval_batch_size: int = Field(128, ge=1)
    # torch CPU threads; null keeps torch's default. On a shared, busy machine 1 is far faster than
    # threads that wait on each other (measured 5x on the sample while other jobs held the cores).
    threads: int | None = Field(None, ge=1)


@dataclass
class Examples:
    """Token lists and their raw target values, read from one split file."""

    tokens: list[list[str]]
    targets: list[str]


def load_examples(path: Path, target: str) -> Examples:
    """Read a prepared ``.jsonl`` split or a ``.csv`` with a ``text`` column and a ``target`` column."""
    if path.suffix == ".csv":
        return _load_csv(path, target)
    tokens, targets = [], []
    for line, record in enumerate(read_jsonl(path), start=1):
        if not isinstance(record.get("tokens"), list) or record.get(target) is None:
            raise DataError(path, line, f"expected a 'tokens' list and a non-null {target!r} field")
        tokens.append(record["tokens"])
        targets.append(str(record[target]))
    return Examples(tokens, targets)


def _load_csv(path: Path, target: str) -> Examples:
    """A labelled CSV (header row with ``text`` and ``target``), tokenized like the prepared splits."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "text" not in rows[0] or target not in rows[0]:
        raise DataError(path, 1, f"expected a header with columns 'text' and {target!r}")
    for line, row in enumerate(rows, start=2):
        if not row[target]:
            raise DataError(path, line, f"empty {target!r}")
    return Examples(list(tokenize_many(row["text"] for row in rows)), [row[target] for row in rows])


def class_labels(targets: list[str]) -> list[str]:
    """The classes in a stable order: numeric when every value is a number (ratings), else alphabetical."""
    values = set(targets)
    numeric = all(v.lstrip("-").isdigit() for v in values)
    return sorted(values, key=int if numeric else str)


def class_indices(examples: Examples, labels: list[str], source: str | Path) -> np.ndarray:
    """Target values as indices into ``labels``; a class the model never saw is a :class:`DataError`."""
    unknown = sorted(set(examples.targets) - set(labels))
    if unknown:
        raise DataError(source, None, f"classes {unknown} do not occur in the training data {labels}")
    index = {label: i for i, label in enumerate(labels)}
    return np.array([index[y] for y in examples.targets], dtype=np.int64)


def truncate(ids: list[int], max_len: int | None, policy: str) -> list[int]:
    """Cut ``ids`` to ``max_len``: keep the head, the tail, or a quarter head and three quarters tail."""
    if max_len is None or len(ids) <= max_len:
        return ids
    if policy == "head":
        return ids[:max_len]
    if policy == "tail":
        return ids[-max_len:]
    head = int(max_len * HEAD_SHARE)
    return ids[:head] + ids[len(ids) - (max_len - head) :]


def encode(vocab: Vocab, tokens: list[str], cfg: SentimentConfig) -> list[int]:
    """Ids of one review, truncated; an empty review becomes one unknown token."""
    return truncate(vocab.encode(tokens), cfg.max_len, cfg.truncation) or [UNK_ID]


def collate(sequences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad id lists into ``ids`` (B, T) with their ``lengths`` (B,)."""
    lengths = torch.tensor([len(s) for s in sequences])
    ids = torch.full((len(sequences), int(lengths.max())), PAD_ID, dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq)
    return ids, lengths


def predict_proba(model: RNNClassifier, sequences: list[list[int]], batch_size: int) -> np.ndarray:
    """Class probabilities (N, C) in input order; batches of similar length, inference mode."""
    model.eval()
    out = np.zeros((len(sequences), model.cfg.num_classes), dtype=np.float32)
    with torch.inference_mode():
        for batch in bucket_batches([len(s) for s in sequences], batch_size, seed=0, epoch=0, shuffle=False):
            out[batch] = probabilities(model(*collate([sequences[i] for i in batch]))).numpy()
    return out


class SentimentTask:
    """The :class:`~pipeline.training.loop.Task` of a classifier: encoded splits, loss and dev metrics."""

    def __init__(self, cfg: SentimentConfig, vocab: Vocab, labels: list[str], train: Examples, dev: Examples) -> None:
        self.cfg, self.vocab, self.labels = cfg, vocab, labels
        self.train_ids = [encode(vocab, t, cfg) for t in train.tokens]
        self.train_y = torch.from_numpy(class_indices(train, labels, "train split"))
        self.dev_ids = [encode(vocab, t, cfg) for t in dev.tokens]
        self.dev_y = class_indices(dev, labels, "dev split")

    def batches(self, epoch: int):
        """This rank's shuffled, length-bucketed ``(ids, lengths, targets)`` batches, fixed by ``(seed, epoch)``."""
        lengths = [len(s) for s in self.train_ids]
        for batch in shard(bucket_batches(lengths, self.cfg.train.batch_size, self.cfg.train.seed, epoch)):
            yield (*collate([self.train_ids[i] for i in batch]), self.train_y[batch])

    def loss(self, model: RNNClassifier, batch) -> tuple[torch.Tensor, int]:
        ids, lengths, targets = batch
        return loss_fn(model(ids, lengths), targets), int(lengths.sum())

    def evaluate(self, model: RNNClassifier) -> dict[str, float]:
        """Dev accuracy (the early-stopping monitor) and dev log-loss."""
        probs = predict_proba(model, self.dev_ids, self.cfg.eval_batch_size)
        picked = probs[np.arange(len(self.dev_y)), self.dev_y]
        return {
            "dev_acc": float((probs.argmax(axis=1) == self.dev_y).mean()),
            "dev_loss": float(-np.log(np.clip(picked, 1e-7, 1.0)).mean()),
        }

    def save_assets(self, directory: Path) -> None:
        """Vocabulary and class labels: with ``config.json`` they rebuild the model."""
        self.vocab.save(directory / VOCAB_FILE)
        write_json(directory / LABELS_FILE, self.labels)


def load_vectors(path: Path, cfg: SentimentConfig) -> KeyedVectors:
    """word2vec vectors whose normalisation (``config.json`` beside them) matches the config's."""
    if (path.parent / CONFIG).exists():
        trained = read_config(path.parent)
        for key in ("lowercase", "digits_to_zero"):
            if trained.get(key, getattr(cfg, key)) != getattr(cfg, key):
                raise ConfigError("params.yaml", f"sentiment.{key}", f"the vectors in {path} were trained with {key}={trained[key]}")
    return word2vec.load(path)


def apply_threads(cfg: SentimentConfig) -> None:
    """Set torch's CPU thread count when the config names one (a process-wide setting)."""
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)


def build_model(cfg: SentimentConfig, vocab: Vocab, kv: KeyedVectors | None) -> RNNClassifier:
    """A fresh classifier; its embedding rows come from ``kv`` where it has the word, small random values elsewhere."""
    if kv is not None and kv.vector_size != cfg.model.embedding_dim:
        raise ConfigError(
            "params.yaml", "sentiment.model.embedding_dim", f"is {cfg.model.embedding_dim}, the vectors have {kv.vector_size}"
        )
    matrix, _ = embedding_matrix(vocab, cfg.model.embedding_dim, kv, cfg.train.seed)
    return RNNClassifier(cfg.model, len(vocab), matrix, vocab.trained)


def train_sentiment(
    cfg: SentimentConfig,
    data_dir: Path,
    vectors: Path | None,
    out_dir: Path,
    logger: MetricsLogger,
    resume: bool = False,
) -> FitResult:
    """Train on ``data_dir/{train,dev}.jsonl``; the best model lands in ``out_dir/model``."""
    train = load_examples(data_dir / "train.jsonl", cfg.target)
    dev = load_examples(data_dir / "dev.jsonl", cfg.target)
    labels = class_labels(train.targets)
    if len(labels) != cfg.model.num_classes:
        raise ConfigError(
            "params.yaml", "sentiment.model.num_classes", f"is {cfg.model.num_classes}, but {cfg.target!r} has {len(labels)} classes: {labels}"
        )
    kv = None
    if cfg.model.embeddings != "random":
        if vectors is None:
            raise ConfigError("params.yaml", "sentiment.model.embeddings", f"{cfg.model.embeddings!r} needs word2vec vectors")
        kv = load_vectors(vectors, cfg)
    counts = Counter(token for tokens in train.tokens for token in tokens)
    vocab = build_vocab(counts, kv, cfg.lowercase, cfg.digits_to_zero, cfg.max_vocab, cfg.min_count)
    apply_threads(cfg)
    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg, vocab, kv)
    task = SentimentTask(cfg, vocab, labels, train, dev)
    return fit(model, task, cfg.train, out_dir, "dev_acc", cfg.model_dump(mode="json"), logger, resume)


def load_config_file(path: Path) -> SentimentConfig:
    """A ``sentiment`` section kept in its own YAML file (``configs/sentiment_full.yaml``, the presets)."""
    if not path.exists():
        raise MissingDataError(path, "expected a YAML file with the sentiment section's keys")
    return build_section(SentimentConfig, read_yaml(path), path, "sentiment")
