"""A forward and a backward LSTM language model over the word vocabulary (TagLM / ULMFiT style pretraining).

Shapes: ``B`` windows in a batch, ``T`` tokens in the longest one, ``E`` word
dimension, ``H`` hidden size, ``N`` prediction targets (real tokens with a
neighbour in their window, per direction), ``S`` sampled negatives, ``V`` the
output vocabulary (pad, unknown and the training words).

    ids (B,T) ─ shared word embedding (word2vec rows) ─ dropout → (B,T,E)
        ├─ forward LSTM ────────────────────────────→ h→ (B,T,H)  at t: has read tokens ≤ t, predicts t+1
        └─ reverse within length, backward LSTM, reverse → h← (B,T,H)  at t: has read tokens ≥ t, predicts t-1
    states: concat (B,T,2H), zero on padding
    targets: h→ and h← at their N valid positions each (2N,H) ─ dropout → output embedding · h + bias
        training: sampled softmax over the true word and S shared negatives → (2N, 1+S) logits
        eval:     full softmax over the output vocabulary → (2N, V) logits (exact dev perplexity)

Padding never leaks, as in :mod:`pipeline.models.classifier`: the forward
LSTM reads a window's tokens before its padding, the backward one reads the
window reversed *within its length*, so no state at a real token has seen
padding. The two directions share the input embedding and the output layer
(as ELMo does) but not their LSTM weights.

The output vocabulary is the vocabulary's first ``trained`` rows (pad,
unknown, the training words, most frequent first, as
:func:`pipeline.embeddings.vocab.build_vocab` ranks them); a target outside
it (a word that only has a vector) is predicted as ``<unk>``. The input
table covers the whole vocabulary through :class:`SplitEmbedding`. The
config (:class:`LMConfig`) plus the vocabulary rebuild the model:
:func:`load_language_model` needs nothing but the model directory.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import Field
from torch import nn

from pipeline.config import Section, build_section
from pipeline.embeddings.vocab import UNK_ID, Vocab
from pipeline.model_dir import CONFIG, VOCAB, load_weights, read_config, require
from pipeline.models.classifier import flip, reversal_index
from pipeline.models.embedding import SplitEmbedding, initial_table

FIRST_SAMPLED_ID = UNK_ID  # negatives are drawn from <unk> and the words, never from padding
MIN_OUTPUT_ROWS = UNK_ID + 2  # <pad>, <unk> and at least one word to predict


class LMConfig(Section):
    """Architecture of :class:`BiLanguageModel` (``pretrain_lm.model``; stored beside its weights)."""

    embedding: Literal["frozen", "finetune"] = "finetune"
    word_dim: int = Field(100, ge=1)  # must equal the word2vec vector_size
    hidden_size: int = Field(256, ge=1)  # per direction
    layers: int = Field(1, ge=1, le=4)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)  # on the embeddings, between layers and before the output layer
    samples: int = Field(1024, ge=1)  # negatives of the sampled softmax per batch (training only)


class LogUniformSampler:
    """Negatives drawn with replacement from a log-uniform (Zipf) distribution over frequency-ranked ids.

    Rank ``r`` (id ``FIRST_SAMPLED_ID + r``) has probability
    ``log((r+2)/(r+1)) / log(n+1)``: TensorFlow's log-uniform candidate sampler,
    which suits a vocabulary ranked most frequent first.
    """

    def __init__(self, n: int) -> None:
        self.n = n  # candidate ids FIRST_SAMPLED_ID .. FIRST_SAMPLED_ID + n - 1
        self.log_range = math.log(n + 1)

    def draw(self, count: int) -> torch.Tensor:
        """``count`` ids (with replacement) from the torch generator, so seeded epochs replay the same draws."""
        ranks = torch.exp(torch.rand(count) * self.log_range).long() - 1  # (S,)
        return ranks.clamp(0, self.n - 1) + FIRST_SAMPLED_ID  # float rounding may reach rank n

    def log_expected_count(self, ids: torch.Tensor, draws: int) -> torch.Tensor:
        """``log(draws · Q(id))`` of each id (any shape): how often ``draws`` draws pick it, on a log scale."""
        ranks = (ids - FIRST_SAMPLED_ID).double()
        return (draws * torch.log1p(1.0 / (ranks + 1.0)) / self.log_range).log().float()


class BiLanguageModel(nn.Module):
    """Forward and backward LSTM language models over a shared word embedding and a shared output layer."""

    def __init__(self, cfg: LMConfig, vocab_size: int, trainable_rows: int, vectors: np.ndarray | None = None) -> None:
        """``trainable_rows``: the training words (fine-tuned; the output vocabulary); later rows keep their vectors."""
        super().__init__()
        if trainable_rows < MIN_OUTPUT_ROWS:
            raise ValueError(f"the output vocabulary needs a word beside <pad> and <unk>; it has {trainable_rows} rows")
        self.cfg = cfg
        table = initial_table(vectors, vocab_size, cfg.word_dim, torch.zeros)  # zeros: load_weights fills them
        self.embedding = SplitEmbedding(table, trainable_rows, cfg.embedding == "frozen")
        self.dropout = nn.Dropout(cfg.dropout)
        self.forward_lstm, self.backward_lstm = (
            nn.LSTM(cfg.word_dim, cfg.hidden_size, num_layers=cfg.layers, batch_first=True,
                    dropout=cfg.dropout if cfg.layers > 1 else 0.0)
            for _ in range(2)
        )
        self.output = nn.Embedding(trainable_rows, cfg.hidden_size)  # a row per output word: looked up, not multiplied
        nn.init.normal_(self.output.weight, std=cfg.hidden_size ** -0.5)  # unit-variance logits for unit-scale states
        self.output_bias = nn.Parameter(torch.zeros(trainable_rows))
        self.sampler = LogUniformSampler(trainable_rows - FIRST_SAMPLED_ID)

    @property
    def output_size(self) -> int:
        """``V``: pad, unknown and the training words."""
        return self.output_bias.shape[0]

    def directions(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Forward states (B,T,H), backward states (B,T,H), both zero on padding, and the padding mask (B,T)."""
        if bool((lengths < 1).any()):
            raise ValueError("every sequence needs at least one token")
        mask = torch.arange(ids.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)  # (B,T)
        reverse = reversal_index(lengths, ids.shape[1])  # (B,T)
        words = self.dropout(self.embedding(ids, mask))  # (B,T,E)
        forward = self.forward_lstm(words)[0]  # (B,T,H)
        backward = flip(self.backward_lstm(flip(words, reverse))[0], reverse)  # (B,T,H)
        keep = mask.unsqueeze(-1)  # (B,T,1)
        return forward * keep, backward * keep, mask

    def states(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Per-token features (B,T,2H) for a downstream tagger: forward beside backward state, zero on padding."""
        forward, backward, _ = self.directions(ids, lengths)
        return torch.cat([forward, backward], dim=-1)  # (B,T,2H)

    def targets(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """States (2N,H) and the word each predicts (2N,): the next word forward, then the previous word backward."""
        forward, backward, mask = self.directions(ids, lengths)
        valid = mask[:, 1:]  # (B,T-1): both t and t+1 are real tokens
        hidden = torch.cat([forward[:, :-1][valid], backward[:, 1:][valid]])  # (2N,H)
        words = torch.cat([ids[:, 1:][valid], ids[:, :-1][valid]])  # (2N,)
        words = words.masked_fill(words >= self.output_size, UNK_ID)  # vector-only words are <unk> to the output
        return self.dropout(hidden), words

    def full_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Scores (N,V) of every output word for states (N,H)."""
        return hidden @ self.output.weight.T + self.output_bias  # (N,V)

    def sampled_losses(self, hidden: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        """Per-target loss (N,) of the true word against ``samples`` shared negatives: no full-vocabulary product.

        Sampled softmax of Jean et al. 2015 (TensorFlow's ``sampled_softmax_loss``): every logit is corrected by
        its log expected count ``log(S·Q(w))``, and a negative equal to the target (an accidental hit) is masked out.
        """
        draws = self.cfg.samples
        negatives = self.sampler.draw(draws)  # (S,)
        true = (hidden * self.output(words)).sum(-1) + self.output_bias[words]  # (N,)
        true = true - self.sampler.log_expected_count(words, draws)
        sampled = hidden @ self.output(negatives).T + self.output_bias[negatives]  # (N,S)
        sampled = sampled - self.sampler.log_expected_count(negatives, draws)
        sampled = sampled.masked_fill(words.unsqueeze(1) == negatives.unsqueeze(0), float("-inf"))  # (N,S)
        logits = torch.cat([true.unsqueeze(1), sampled], dim=1)  # (N,1+S), the target in column 0
        return torch.logsumexp(logits, dim=1) - true  # (N,)

    def target_losses(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of each target (2N,): sampled softmax in training, the exact full softmax in eval."""
        hidden, words = self.targets(ids, lengths)
        if self.training:
            return self.sampled_losses(hidden, words)
        return nn.functional.cross_entropy(self.full_logits(hidden), words, reduction="none")  # (2N,)

    def loss(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Mean loss over both directions' targets of a batch of windows (each window at least two tokens)."""
        losses = self.target_losses(ids, lengths)
        if losses.numel() == 0:
            raise ValueError("no window in the batch has two tokens: nothing to predict")
        return losses.mean()


def load_language_model(directory: Path) -> tuple[BiLanguageModel, Vocab]:
    """Rebuild a language model from its model directory (``config.json`` + vocabulary + weights), in eval mode."""
    config = read_config(directory)
    require(directory, (VOCAB,), "language model")
    cfg = build_section(LMConfig, config.get("model"), directory / CONFIG, "model")
    vocab = Vocab.load(directory / VOCAB)
    model = BiLanguageModel(cfg, len(vocab), vocab.trained or len(vocab))
    return load_weights(directory, model).eval(), vocab
