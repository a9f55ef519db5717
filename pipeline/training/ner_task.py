"""The NER training task for :func:`pipeline.training.loop.fit`, and its config (``ner`` in params.yaml).

Tags are read as IOB2 from the prepared splits and converted to
``tag_scheme`` (BIOES by default: explicit entity ends help the CRF) for
training; predictions are converted back to IOB2 before scoring, so dev F1
is the same chunk-level F1 conlleval reports.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Literal

import torch
from pydantic import Field

from pipeline.config import Section
from pipeline.data.batching import Batches, bucket_batches, document_batches
from pipeline.data.splits import Record
from pipeline.data.tags import convert, split_tag
from pipeline.embeddings import word2vec
from pipeline.embeddings.vocab import Vocab, build_vocab, embedding_matrix
from pipeline.errors import ConfigError
from pipeline.evaluation.ner import entity_scores
from pipeline.model_dir import read_config
from pipeline.models.language_model import BiLanguageModel
from pipeline.models.tagger import Batch, Tagger, TaggerAssets, TaggerConfig, char_alphabet, encode_batch
from pipeline.predict.ner import NerPredictor
from pipeline.training.config import TrainConfig
from pipeline.training.distributed import shard
from pipeline.training.lm_task import pretrained
from pipeline.training.logger import MetricsLogger
from pipeline.training.loop import FitResult, fit

MONITOR = "dev_f1"


class NerTrainConfig(TrainConfig):
    """Training settings with NER defaults (Adam, small batches; early stopping on dev F1)."""

    epochs: int = Field(30, ge=1, le=1000)
    batch_size: int = Field(32, ge=1)  # larger batches spread the per-step overhead
    lr: float = Field(2e-3, gt=0.0)
    lr_schedule: Literal["constant", "inverse_time", "linear"] = "inverse_time"
    patience: int = Field(5, ge=1)


class NerConfig(Section):
    """The ``ner`` section: model architecture, training and the internal tag scheme."""

    model: TaggerConfig = TaggerConfig()
    train: NerTrainConfig = NerTrainConfig()
    tag_scheme: Literal["iob2", "bioes"] = "bioes"
    eval_batch_size: int = Field(256, ge=1)
    threads: int = Field(1, ge=1)  # torch intra-op threads: matrices this small lose more to thread hand-offs than they gain


Documents = tuple[list[int], list[int]]  # the document number of each train sentence and of each dev sentence


def tag_set(records: list[Record], scheme: str) -> list[str]:
    """``O`` plus every prefix of ``scheme`` for each entity type in the training data."""
    types = sorted({split_tag(t)[1] for _, tags in records for t in tags if t != "O"})
    prefixes = "BIES" if scheme == "bioes" else "BI"
    return ["O", *(f"{p}-{t}" for t in types for p in prefixes)]


class NerTask:
    """Bucketed training batches, the tagger's loss and dev entity F1."""

    def __init__(self, cfg: NerConfig, assets: TaggerAssets, train: list[Record], dev: list[Record],
                 docs: Documents | None = None) -> None:
        """``docs``: the document number of each train and dev sentence (else each sentence is its own)."""
        self.cfg, self.assets = cfg, assets
        train_docs, self.dev_docs = docs or (list(range(len(train))), list(range(len(dev))))
        kept = [i for i, (tokens, _) in enumerate(train) if tokens]
        self.train = [(train[i][0], convert(train[i][1], "iob2", cfg.tag_scheme)) for i in kept]
        self.train_docs = [train_docs[i] for i in kept]
        self.dev = dev

    def batches(self, epoch: int) -> Batches[Batch]:
        """Length-bucketed sentences; whole documents per batch for a ``doc_context`` tagger."""
        size, seed = self.cfg.train.batch_size, self.cfg.train.seed
        if self.cfg.model.doc_context:
            order = document_batches(self.train_docs, size, seed, epoch)
        else:
            order = bucket_batches([len(tokens) for tokens, _ in self.train], size, seed, epoch)
        return Batches(shard(order), self._encode)

    def _encode(self, ids: list[int]) -> Batch:
        docs = [self.train_docs[i] for i in ids] if self.cfg.model.doc_context else None
        return encode_batch([self.train[i][0] for i in ids], self.assets, [self.train[i][1] for i in ids], docs)

    def loss(self, model: Tagger, batch: Batch) -> tuple[torch.Tensor, int]:
        return model.loss(batch), int(batch.lengths.sum())

    def evaluate(self, model: Tagger) -> dict[str, float]:
        predictor = NerPredictor(model, self.assets, self.cfg.eval_batch_size)
        predicted = predictor.predict_tokens([t for t, _ in self.dev], self.dev_docs)
        scores = entity_scores([tags for _, tags in self.dev], predicted)
        return {f"dev_{k}": scores[k] for k in ("precision", "recall", "f1")}

    def save_assets(self, directory: Path) -> None:
        self.assets.save(directory)


def build_model(cfg: NerConfig, train: list[Record], vectors_path: Path,
                lm_dir: Path | None = None) -> tuple[Tagger, TaggerAssets]:
    """Vocabularies from the training data (plus every word with a vector) and a seeded, initialised tagger;
    with fastText vectors, training words without a vector start at their n-gram vector.

    The vectors' own config (beside them) gives the normalisation; with
    ``embedding: random`` the vectors are not read, only their normalisation.
    With ``model.lm`` ≠ none the tagger starts from the language model in ``lm_dir``.
    """
    normalisation = read_config(vectors_path.parent)
    kv = None if cfg.model.embedding == "random" else word2vec.load(vectors_path)
    subwords = None if kv is None else word2vec.load_subwords(vectors_path)
    if kv is not None and kv.vector_size != cfg.model.word_dim:
        raise ConfigError("params.yaml", "ner.model.word_dim",
                          f"is {cfg.model.word_dim} but the vectors have {kv.vector_size} dimensions")
    counts = Counter(t for tokens, _ in train for t in tokens)
    vocab = build_vocab(counts, kv, normalisation["lowercase"], normalisation["digits_to_zero"])
    lm = _pretrained_lm(cfg, lm_dir)
    assets = TaggerAssets(vocab, char_alphabet([t for t, _ in train]), tag_set(train, cfg.tag_scheme), cfg.tag_scheme,
                          vocab.trained, subwords, *(lm[1:] if lm else (None, None)))
    matrix, _ = embedding_matrix(vocab, cfg.model.word_dim, kv, cfg.train.seed, subwords)
    torch.manual_seed(cfg.train.seed)
    model = Tagger(cfg.model, assets, matrix)
    if lm is not None:
        model.lm.load_state_dict(lm[0].state_dict())
    return model, assets


def _pretrained_lm(cfg: NerConfig, lm_dir: Path | None) -> tuple[BiLanguageModel, Vocab, dict] | None:
    """The ``pretrain_lm`` stage's model, vocabulary and config for a tagger with ``model.lm`` ≠ none."""
    if cfg.model.lm == "none":
        return None
    lm, lm_vocab = pretrained(lm_dir, "ner.model.lm", cfg.model.lm)
    return lm, lm_vocab, lm.cfg.model_dump(mode="json")


def train(cfg: NerConfig, train_records: list[Record], dev_records: list[Record], vectors_path: Path,
          out_dir: Path, logger: MetricsLogger, resume: bool = False, docs: Documents | None = None,
          lm_dir: Path | None = None) -> FitResult:
    """Train with early stopping on dev entity F1; the best model lands in ``out_dir/model``.

    ``docs`` gives the train and dev sentences' document numbers, which a
    ``doc_context`` tagger pools over; ``lm_dir`` the pretrained language model a tagger with ``model.lm`` uses.
    """
    model, assets = build_model(cfg, train_records, vectors_path, lm_dir)
    task = NerTask(cfg, assets, train_records, dev_records, docs)
    return fit(model, task, cfg.train, out_dir, MONITOR, cfg.model_dump(mode="json"), logger, resume)
