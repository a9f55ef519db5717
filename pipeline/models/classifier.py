"""Recurrent text classifier: embeddings → stacked (Bi)RNN/LSTM/GRU → pooling → linear head.

Shapes use ``B`` batch, ``T`` longest sequence in the batch, ``E`` embedding
dimension, ``D`` encoder output size (hidden × directions) and ``C`` classes.

Padding never leaks: each direction of each layer is a one-way RNN that
reads a review's tokens first and its padding after them (the backward
direction reads every review reversed *within its length*), so no state at
a real token has seen padding; pooling reads states through a mask, and
the last state is taken at each review's own end. A batch therefore gives
each review exactly the output it gets alone.

``PackedSequence`` is not used: on CPU its backward pass grows
quadratically with the length (figures in the README). Batches are bucketed
by length instead, so few steps are spent on padding.

The head is one logit + sigmoid for two classes (the Keras ``Dense(1,
sigmoid)`` of the lecture models) and a softmax over ``C`` logits otherwise.
``num_classes`` may be left unset in a config: training sets it to the
number of classes in the training split, and the saved config holds it.

The config (:class:`ClassifierConfig`, :class:`TextEncoding`) plus
:class:`ClassifierAssets` (vocabulary and labels) rebuild the model:
:func:`load_classifier` needs nothing but the model directory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import Field, PositiveInt, model_validator
from torch import nn

from pipeline.atomic import write_json
from pipeline.config import Section, build_section
from pipeline.data.batching import bucket_batches
from pipeline.embeddings.vocab import PAD_ID, UNK_ID, Vocab
from pipeline.errors import DataError
from pipeline.model_dir import (
    CONFIG,
    LABELS,
    VOCAB,
    load_weights,
    read_config,
    read_json,
    require,
)
from pipeline.models.embedding import SplitEmbedding, initial_table

Pooling = Literal["last", "max", "mean", "attention"]
RNN_CLASSES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
# Padded tokens per forward pass at inference: in a batch of 128 one 1,000-token review pads 127 others to its
# length, so long reviews go 8 at a time instead and short texts up to the batch size.
MAX_BATCH_TOKENS = 8192
HEAD_SHARE = 0.25  # head+tail keeps the first quarter and the last three quarters (Sun et al. 2019)


class ClassifierConfig(Section):
    """Architecture of :class:`RNNClassifier` (stored beside its weights)."""

    embeddings: Literal["frozen", "finetune", "random"] = "finetune"
    embedding_dim: int = Field(100, ge=1)
    encoder: Literal["rnn", "lstm", "gru"] = "lstm"
    # One entry per stacked layer; every layer but the top one passes its whole sequence on
    # (Keras ``return_sequences=True``), so [16, 8] is preset S2's SimpleRNN(16) → SimpleRNN(8).
    hidden_sizes: list[PositiveInt] = Field(default_factory=lambda: [128], min_length=1)
    bidirectional: bool = True
    dropout: float = Field(0.3, ge=0.0, lt=1.0)  # on embeddings, between layers and before the head
    word_dropout: float = Field(0.0, ge=0.0, lt=1.0)  # training only: a token's id becomes <unk> with this probability
    # Several poolings are concatenated, e.g. [max, mean].
    pooling: list[Pooling] = Field(default_factory=lambda: ["max", "mean"], min_length=1)
    attention_dim: int = Field(64, ge=1)
    num_classes: int | None = Field(None, ge=2)  # None: as many as the training split has (the saved config holds it)

    @model_validator(mode="after")
    def _distinct_poolings(self) -> ClassifierConfig:
        if len(set(self.pooling)) != len(self.pooling):
            raise ValueError(f"pooling lists a mode twice: {self.pooling}")
        return self

    @property
    def output_size(self) -> int:
        """Width ``D`` of the top encoder layer's output per token."""
        return self.hidden_sizes[-1] * (2 if self.bidirectional else 1)

    @property
    def logits(self) -> int:
        """1 for the binary (sigmoid) head, ``num_classes`` for the softmax head; the count must be known by now."""
        if self.num_classes is None:
            raise ValueError("num_classes is unset: train_sentiment sets it from the training split's classes")
        return 1 if self.num_classes == 2 else self.num_classes


class TextEncoding(Section):
    """How a review becomes ids: its length limit and which part is kept (top-level keys of the saved config)."""

    max_len: int | None = Field(400, ge=1)  # None keeps whole reviews
    truncation: Literal["head", "tail", "head+tail"] = "head+tail"


@dataclass
class ClassifierAssets:
    """What turns tokens into ids and output columns into class names; saved beside the weights."""

    vocab: Vocab
    labels: list[str]
    encoding: TextEncoding

    def encode(self, tokens: list[str]) -> list[int]:
        """Ids of one review, truncated; an empty review becomes one unknown token."""
        return truncate(self.vocab.encode(tokens), self.encoding.max_len, self.encoding.truncation) or [UNK_ID]

    def save(self, directory: Path) -> None:
        """Vocabulary and labels (the encoding is part of the config written beside them)."""
        self.vocab.save(directory / VOCAB)
        write_json(directory / LABELS, self.labels)

    @classmethod
    def load(cls, directory: Path, config: dict) -> ClassifierAssets:
        require(directory, (VOCAB, LABELS), "sentiment model")
        encoding = {key: config[key] for key in TextEncoding.model_fields if key in config}
        return cls(Vocab.load(directory / VOCAB), read_json(directory / LABELS),
                   build_section(TextEncoding, encoding, directory / CONFIG, "sentiment"))


class AttentionPooling(nn.Module):
    """Additive attention over tokens: ``softmax(v · tanh(W h))`` with padding masked out."""

    def __init__(self, dim: int, attention_dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, attention_dim)
        self.score = nn.Linear(attention_dim, 1, bias=False)

    def weights(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Attention weights ``(B, T)``: they sum to 1 over each review's tokens and are 0 on padding."""
        scores = self.score(torch.tanh(self.proj(states))).squeeze(-1)  # (B, T)
        return scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.bmm(self.weights(states, mask).unsqueeze(1), states).squeeze(1)  # (B, D)


class RNNClassifier(nn.Module):
    """The classifier described by a :class:`ClassifierConfig` over a vocabulary of ``vocab_size``."""

    def __init__(self, cfg: ClassifierConfig, vocab_size: int, vectors: np.ndarray | None = None,
                 trainable_rows: int | None = None) -> None:
        """``trainable_rows``: rows from there on (words without training occurrences) keep their vectors."""
        super().__init__()
        self.cfg = cfg
        table = initial_table(vectors, vocab_size, cfg.embedding_dim, random_table)
        self.embedding = SplitEmbedding(table, trainable_rows or vocab_size, cfg.embeddings == "frozen", cfg.word_dropout)
        self.dropout = nn.Dropout(cfg.dropout)
        directions = 2 if cfg.bidirectional else 1
        inputs = [cfg.embedding_dim] + [size * directions for size in cfg.hidden_sizes[:-1]]
        rnn = RNN_CLASSES[cfg.encoder]
        self.layers = nn.ModuleList(  # layers[i][0] reads forward, layers[i][1] (if any) backward
            nn.ModuleList(rnn(n_in, size, batch_first=True) for _ in range(directions))
            for n_in, size in zip(inputs, cfg.hidden_sizes)
        )
        self.attention = AttentionPooling(cfg.output_size, cfg.attention_dim) if "attention" in cfg.pooling else None
        self.head = nn.Linear(cfg.output_size * len(cfg.pooling), cfg.logits)

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run the stacked encoder.

        ``ids`` (B, T) and ``lengths`` (B,) → token states (B, T, D) (zero on
        padding), the padding mask (B, T) and the last states (B, D): the
        forward direction at each review's last token beside the backward
        direction at its first token.
        """
        if bool((lengths < 1).any()):
            raise ValueError("every sequence needs at least one token (encode empty texts as [UNK])")
        mask = torch.arange(ids.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
        reverse = reversal_index(lengths, ids.shape[1])  # (B, T)
        states = self.embedding(ids, mask)  # (B, T, E)
        for directions in self.layers:
            states = self.dropout(states)
            forward = directions[0](states)[0]  # (B, T, H)
            if len(directions) == 2:
                backward = flip(directions[1](flip(states, reverse))[0], reverse)  # (B, T, H)
                forward = torch.cat([forward, backward], dim=-1)  # (B, T, 2H)
            states = forward * mask.unsqueeze(-1)  # padding states are junk: zero them
        hidden = self.cfg.hidden_sizes[-1]
        at_end = states[torch.arange(len(lengths)), lengths - 1, :hidden]  # (B, H) forward, at the last token
        last = torch.cat([at_end, states[:, 0, hidden:]], dim=-1)  # (B, D) + backward at the first token
        return states, mask, last

    def pool(self, states: torch.Tensor, mask: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        """Concatenate the configured poolings of (B, T, D) states → (B, D × poolings)."""
        pooled = []
        for mode in self.cfg.pooling:
            if mode == "last":
                pooled.append(last)
            elif mode == "max":
                pooled.append(states.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1))
            elif mode == "mean":
                pooled.append(states.sum(dim=1) / mask.sum(dim=1, keepdim=True))  # padding states are zero
            else:
                pooled.append(self.attention(states, mask))
        return torch.cat(pooled, dim=-1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits: (B,) for the binary head, (B, C) for the softmax head."""
        features = self.dropout(self.pool(*self.encode(ids, lengths)))  # (B, D × poolings)
        logits = self.head(features)  # (B, 1) or (B, C)
        return logits.squeeze(-1) if self.cfg.logits == 1 else logits


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


def collate(sequences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad id lists into ``ids`` (B, T) with their ``lengths`` (B,)."""
    lengths = torch.tensor([len(s) for s in sequences])
    ids = torch.full((len(sequences), int(lengths.max())), PAD_ID, dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq)
    return ids, lengths


def predict_proba(model: RNNClassifier, sequences: list[list[int]], batch_size: int,
                  max_tokens: int | None = MAX_BATCH_TOKENS,
                  engine: Callable[[list[list[int]]], np.ndarray] | None = None) -> np.ndarray:
    """Class probabilities (N, C) in input order, in inference mode.

    Batches hold texts of similar length, at most ``batch_size`` of them and
    ``max_tokens`` padded tokens (None: no cap): a review's output does not depend on its batch.
    ``engine`` (the numpy engine's ``predict_proba``) replaces the torch forward pass when given.
    """
    model.eval()
    out = np.zeros((len(sequences), model.cfg.num_classes), dtype=np.float32)
    with torch.inference_mode():
        for batch in bucket_batches([len(s) for s in sequences], batch_size, seed=0, epoch=0, shuffle=False,
                                    max_tokens=max_tokens):
            chosen = [sequences[i] for i in batch]
            out[batch] = engine(chosen) if engine is not None else probabilities(model(*collate(chosen))).numpy()
    return out


def load_classifier(directory: Path) -> tuple[RNNClassifier, ClassifierAssets]:
    """Rebuild a classifier from its model directory (``config.json`` + assets + weights), in eval mode."""
    config = read_config(directory)
    cfg = build_section(ClassifierConfig, config.get("model"), directory / CONFIG, "model")
    assets = ClassifierAssets.load(directory, config)
    if cfg.num_classes != len(assets.labels):
        raise DataError(directory / CONFIG, None, f"model.num_classes is {cfg.num_classes}, but {LABELS} lists "
                                                  f"{len(assets.labels)} classes: {assets.labels}")
    model = load_weights(directory, RNNClassifier(cfg, len(assets.vocab), trainable_rows=assets.vocab.trained))
    return model.eval(), assets


def random_table(rows: int, dim: int) -> torch.Tensor:
    """nn.Embedding's own initialisation: N(0, 1), the padding row zero."""
    table = torch.randn(rows, dim)
    table[PAD_ID] = 0.0
    return table


def reversal_index(lengths: torch.Tensor, total: int) -> torch.Tensor:
    """Positions (B, T) that reverse each row within its length and leave its padding in place."""
    positions = torch.arange(total).unsqueeze(0)  # (1, T)
    return torch.where(positions < lengths.unsqueeze(1), lengths.unsqueeze(1) - 1 - positions, positions)


def flip(states: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Reorder (B, T, F) states along time by a (B, T) index (its own inverse for a reversal)."""
    return states.gather(1, index.unsqueeze(-1).expand_as(states))


def probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Class probabilities (B, C) from either head: ``[1 - p, p]`` for the sigmoid head."""
    if logits.dim() == 1:
        positive = torch.sigmoid(logits)
        return torch.stack([1.0 - positive, positive], dim=-1)
    return logits.softmax(dim=-1)


def loss_fn(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on the single logit, cross-entropy on the softmax head (class indices)."""
    if logits.dim() == 1:
        return nn.functional.binary_cross_entropy_with_logits(logits, targets.float())
    return nn.functional.cross_entropy(logits, targets)


def count_parameters(model: nn.Module) -> int:
    """All parameters, trainable or frozen (what Keras' ``model.summary()`` totals)."""
    return sum(p.numel() for p in model.parameters())
