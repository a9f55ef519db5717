"""A word table split in two: fine-tuned rows for the training words, a fixed buffer for words that only have vectors.

Both the tagger and the classifier put pad, unknown and the training words
first in their vocabulary (:func:`pipeline.embeddings.vocab.build_vocab`),
then every other word that has a word2vec vector. Rows of the second kind
get no gradient in training, so fine-tuning could not change them anyway;
keeping them in a buffer spares the optimiser a dense update of the whole
(often 100k-row) table every step, and lets a classifier keep rare training
words at their vectors (``min_count``) instead of fitting them to the labels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from pipeline.embeddings.vocab import PAD_ID, UNK_ID


def initial_table(vectors: np.ndarray | None, rows: int, dim: int,
                  init: Callable[[int, int], torch.Tensor]) -> torch.Tensor:
    """The (rows, dim) starting table: ``vectors``, checked for shape, or ``init(rows, dim)`` when there are none.

    ``init`` is only called without vectors, so a model built from vectors
    draws nothing from the random generator for its table.
    """
    if vectors is None:
        return init(rows, dim)
    if vectors.shape != (rows, dim):
        raise ValueError(f"vectors have shape {vectors.shape}, the model expects {(rows, dim)}")
    return torch.from_numpy(vectors)


class SplitEmbedding(nn.Module):
    """``table`` rows ``[0, trainable_rows)`` are a parameter (frozen with ``freeze``), the rest a buffer.

    With ``word_dropout`` each real token's id becomes ``<unk>`` with that
    probability in training. Every training word has its own row, so without
    it the ``<unk>`` row would never see a gradient, yet test words without a
    vector map to it; dropping words also makes a model lean on context (and
    a tagger on characters and casing) instead of memorising word identities,
    which is what unseen names and other movies' reviews need.
    """

    def __init__(self, table: torch.Tensor, trainable_rows: int, freeze: bool, word_dropout: float = 0.0) -> None:
        super().__init__()
        if not 0 < trainable_rows <= table.shape[0]:
            raise ValueError(f"trainable_rows must be in 1..{table.shape[0]}, got {trainable_rows}")
        self.trainable_rows = trainable_rows
        self.word_dropout = word_dropout
        self.trained = nn.Embedding.from_pretrained(table[:trainable_rows].clone(), freeze=freeze, padding_idx=PAD_ID)
        self.register_buffer("fixed", table[trainable_rows:].clone())

    @property
    def weight(self) -> torch.Tensor:
        """The whole (rows, dim) table, for inspection."""
        return torch.cat([self.trained.weight, self.fixed])

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        # ids (...), mask (...) True on real tokens, or None when every id is one → (...,dim)
        if self.training and self.word_dropout > 0.0:
            dropped = torch.rand(ids.shape) < self.word_dropout
            ids = ids.masked_fill(dropped if mask is None else dropped & mask, UNK_ID)
        if self.fixed.shape[0] == 0:  # every word is a training word
            return self.trained(ids)
        in_fixed = ids >= self.trainable_rows
        trained = self.trained(ids.masked_fill(in_fixed, PAD_ID))
        fixed = nn.functional.embedding((ids - self.trainable_rows).clamp(min=0), self.fixed)
        return torch.where(in_fixed[..., None], fixed, trained)
