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

import torch
from torch import nn

from pipeline.embeddings.vocab import PAD_ID


class SplitEmbedding(nn.Module):
    """``table`` rows ``[0, trainable_rows)`` are a parameter (frozen with ``freeze``), the rest a buffer."""

    def __init__(self, table: torch.Tensor, trainable_rows: int, freeze: bool) -> None:
        super().__init__()
        if not 0 < trainable_rows <= table.shape[0]:
            raise ValueError(f"trainable_rows must be in 1..{table.shape[0]}, got {trainable_rows}")
        self.trainable_rows = trainable_rows
        self.trained = nn.Embedding.from_pretrained(table[:trainable_rows].clone(), freeze=freeze, padding_idx=PAD_ID)
        self.register_buffer("fixed", table[trainable_rows:].clone())

    @property
    def weight(self) -> torch.Tensor:
        """The whole (rows, dim) table, for inspection."""
        return torch.cat([self.trained.weight, self.fixed])

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        # ids (B,T) → (B,T,dim)
        if self.fixed.shape[0] == 0:  # every word is a training word
            return self.trained(ids)
        in_fixed = ids >= self.trainable_rows
        trained = self.trained(ids.masked_fill(in_fixed, PAD_ID))
        fixed = nn.functional.embedding((ids - self.trainable_rows).clamp(min=0), self.fixed)
        return torch.where(in_fixed[..., None], fixed, trained)
