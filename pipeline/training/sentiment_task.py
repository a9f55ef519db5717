"""Sentiment training: examples → ids → length-bucketed batches → :func:`pipeline.training.loop.fit`.

The target is any field of the prepared records: ``label`` (pos/neg, the
binary head) or ``rating`` (IMDB's 1-10 stars, the softmax head); a CSV with
a ``text`` column and a label column trains the same way. Two classes train
the binary head, more the softmax head; ``model.num_classes`` unset means as
many as the training split has, and the saved config records the number. Long reviews are
cut to ``max_len`` tokens by the ``truncation`` policy; an empty review is
one unknown token, so every text gets a prediction. Dev, carved from train
by the prepare stage, chooses the epoch; the test set is never read here.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from gensim.models import KeyedVectors
from pydantic import Field

from pipeline.config import build_section, read_yaml
from pipeline.data.batching import Batches, bucket_batches
from pipeline.data.splits import Examples, class_indices, class_labels, load_examples
from pipeline.embeddings import word2vec
from pipeline.embeddings.subwords import Subwords
from pipeline.embeddings.vocab import UNK_ID, Vocab, build_vocab, embedding_matrix
from pipeline.errors import ConfigError, DataError, MissingDataError
from pipeline.model_dir import CONFIG, read_config
from pipeline.models.classifier import (
    ClassifierAssets,
    ClassifierConfig,
    RNNClassifier,
    TextEncoding,
    collate,
    loss_fn,
    predict_proba,
)
from pipeline.training.config import TrainConfig
from pipeline.models.language_model import LMConfig
from pipeline.training.distributed import shard
from pipeline.training.lm_task import pretrained
from pipeline.training.logger import MetricsLogger
from pipeline.training.loop import FitResult, fit


class SentimentConfig(TextEncoding):
    """The ``sentiment`` section of ``params.yaml`` and of every preset in ``configs/``."""

    model: ClassifierConfig = ClassifierConfig()
    train: TrainConfig = TrainConfig(epochs=5, batch_size=32, patience=2)
    target: str = "label"  # record field to predict: label (pos/neg) or rating (1-10)
    max_vocab: int | None = Field(None, ge=3)  # Keras num_words: the most frequent training words only
    min_count: int = Field(1, ge=1)  # rarer training words are not fine-tuned: they keep their vector, or become <unk>
    lowercase: bool = True  # must match the word2vec normalisation when vectors are used
    digits_to_zero: bool = True
    eval_batch_size: int = Field(128, ge=1)
    # torch CPU threads; null keeps torch's default. On a busy machine 1 beats threads that wait on each other.
    threads: int | None = Field(None, ge=1)
    # ULMFiT's start (Howard & Ruder 2018), without its schedule: the first layer's forward and backward LSTMs and the
    # rows of the words the language model knows start from the pretrain_lm model
    lm: Literal["none", "init"] = "none"


class SentimentTask:
    """The :class:`~pipeline.training.loop.Task` of a classifier: encoded splits, loss and dev metrics."""

    def __init__(self, cfg: SentimentConfig, assets: ClassifierAssets, train: Examples, dev: Examples) -> None:
        self.cfg, self.assets = cfg, assets
        self.train_ids = [np.asarray(assets.encode(t), dtype=np.int32) for t in train.tokens]  # a quarter of a list's bytes
        self.train_y = torch.from_numpy(class_indices(train, assets.labels, "train split"))
        self.dev_ids = [np.asarray(assets.encode(t), dtype=np.int32) for t in dev.tokens]
        self.dev_y = class_indices(dev, assets.labels, "dev split")
        assets.vocab.forget()  # so the token lists, once dropped, free their memory

    def batches(self, epoch: int) -> Batches:
        """This rank's shuffled, length-bucketed ``(ids, lengths, targets)`` batches, fixed by ``(seed, epoch)``."""
        lengths = [len(s) for s in self.train_ids]
        return Batches(shard(bucket_batches(lengths, self.cfg.train.batch_size, self.cfg.train.seed, epoch)),
                       lambda batch: (*collate([self.train_ids[i] for i in batch]), self.train_y[batch]))

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
        self.assets.save(directory)


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


def build_model(cfg: SentimentConfig, vocab: Vocab, kv: KeyedVectors | None,
                subwords: Subwords | None = None, lm_dir: Path | None = None) -> RNNClassifier:
    """A fresh classifier; its embedding rows come from ``kv`` where it has the word, elsewhere from fastText's
    ``subwords`` when given, else small random values. (Words outside the vocabulary stay ``<unk>`` at inference.)
    With ``lm: init`` the language model in ``lm_dir`` gives the first layer and the rows of the words it knows."""
    if kv is not None and kv.vector_size != cfg.model.embedding_dim:
        raise ConfigError(
            "params.yaml", "sentiment.model.embedding_dim", f"is {cfg.model.embedding_dim}, the vectors have {kv.vector_size}"
        )
    matrix, _ = embedding_matrix(vocab, cfg.model.embedding_dim, kv, cfg.train.seed, subwords)
    if cfg.lm == "none":
        return RNNClassifier(cfg.model, len(vocab), matrix, vocab.trained)
    lm, lm_vocab = pretrained(lm_dir, "sentiment.lm", cfg.lm)
    _check_lm_fits(cfg.model, lm.cfg)
    table = lm.embedding.weight.detach().numpy()
    known = [(i, lm_vocab.index[w]) for i, w in enumerate(vocab.words) if i > UNK_ID and w in lm_vocab.index]
    if known:
        rows, lm_rows = map(list, zip(*known))
        matrix[rows] = table[lm_rows]
    model = RNNClassifier(cfg.model, len(vocab), matrix, vocab.trained)
    for module, source in zip(model.layers[0], (lm.forward_lstm, lm.backward_lstm)):
        module.load_state_dict(source.state_dict())
    return model


def _check_lm_fits(model: ClassifierConfig, lm: LMConfig) -> None:
    """A ConfigError unless the classifier's first layer has the language model's shape (a BiLSTM of its size)."""
    wanted = {"encoder": "lstm", "bidirectional": True, "first hidden size": lm.hidden_size,
              "embedding_dim": lm.word_dim, "language model layers": 1}
    got = {"encoder": model.encoder, "bidirectional": model.bidirectional, "first hidden size": model.hidden_sizes[0],
           "embedding_dim": model.embedding_dim, "language model layers": lm.layers}
    wrong = [f"{k} is {got[k]}, not {v}" for k, v in wanted.items() if got[k] != v]
    if wrong:
        raise ConfigError("params.yaml", "sentiment.lm", "init copies the language model into the first layer, but "
                                                         + "; ".join(wrong))


def with_classes(cfg: SentimentConfig, labels: list[str], source: Path) -> SentimentConfig:
    """``cfg`` with ``model.num_classes`` set to the training split's class count, which the saved config records.

    A configured count that differs is a :class:`ConfigError`; fewer than two
    classes in ``source`` is a :class:`DataError` (nothing to tell apart).
    """
    if len(labels) < 2:
        raise DataError(source, None, f"{cfg.target!r} has {len(labels)} class {labels}: a classifier needs two or more")
    if cfg.model.num_classes not in (None, len(labels)):
        raise ConfigError(
            "params.yaml", "sentiment.model.num_classes", f"is {cfg.model.num_classes}, but {cfg.target!r} has {len(labels)} classes: {labels}"
        )
    return cfg.model_copy(update={"model": cfg.model.model_copy(update={"num_classes": len(labels)})})


def train_sentiment(
    cfg: SentimentConfig,
    data_dir: Path,
    vectors: Path | None,
    out_dir: Path,
    logger: MetricsLogger,
    resume: bool = False,
    lm_dir: Path | None = None,
) -> FitResult:
    """Train on ``data_dir/{train,dev}.jsonl``; the best model lands in ``out_dir/model`` (``lm_dir``: see
    :func:`build_model`)."""
    cfg, model, task = build_task(cfg, data_dir, vectors, lm_dir)
    return fit(model, task, cfg.train, out_dir, "dev_acc", cfg.model_dump(mode="json"), logger, resume)


def build_task(cfg: SentimentConfig, data_dir: Path, vectors: Path | None,
               lm_dir: Path | None = None) -> tuple[SentimentConfig, RNNClassifier, SentimentTask]:
    """The config with its class count, a fresh model and the encoded task.

    The token lists, word counts and vectors are freed on return: training
    reads only ids, and on IMDB they are about 400 MB of the stage's peak.
    """
    train = load_examples(data_dir / "train.jsonl", cfg.target)
    dev = load_examples(data_dir / "dev.jsonl", cfg.target)
    labels = class_labels(train.targets)
    cfg = with_classes(cfg, labels, data_dir / "train.jsonl")
    kv, subwords = None, None
    if cfg.model.embeddings != "random":
        if vectors is None:
            raise ConfigError("params.yaml", "sentiment.model.embeddings", f"{cfg.model.embeddings!r} needs word2vec vectors")
        kv, subwords = load_vectors(vectors, cfg), word2vec.load_subwords(vectors)
    counts = Counter(token for tokens in train.tokens for token in tokens)
    vocab = build_vocab(counts, kv, cfg.lowercase, cfg.digits_to_zero, cfg.max_vocab, cfg.min_count)
    apply_threads(cfg)
    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg, vocab, kv, subwords, lm_dir)
    encoding = TextEncoding(max_len=cfg.max_len, truncation=cfg.truncation)
    return cfg, model, SentimentTask(cfg, ClassifierAssets(vocab, labels, encoding), train, dev)


def load_config_file(path: Path) -> SentimentConfig:
    """A ``sentiment`` section kept in its own YAML file (the presets in ``configs/presets``)."""
    if not path.exists():
        raise MissingDataError(path, "expected a YAML file with the sentiment section's keys")
    return build_section(SentimentConfig, read_yaml(path), path, "sentiment")
