"""Length-bucketed batches: sequences of similar length share a batch, so packing wastes little.

The order depends only on ``(seed, epoch)``: an epoch replayed after a
resume sees the very same batches as the uninterrupted run, and under
torchrun every rank computes the same order and takes its own share of it
(``distributed.shard``), so the shares keep the bucketing.
"""

from __future__ import annotations

import random

POOL_BATCHES = 50  # sort within pools of 50 batches: similar lengths, yet still shuffled across epochs


def bucket_batches(lengths: list[int], batch_size: int, seed: int, epoch: int, shuffle: bool = True) -> list[list[int]]:
    """Index lists, one per batch. Without ``shuffle``: sorted by length, longest first (for inference)."""
    indices = list(range(len(lengths)))
    if not shuffle:
        indices.sort(key=lambda i: -lengths[i])
        return [indices[i : i + batch_size] for i in range(0, len(indices), batch_size)]
    rng = random.Random(seed * 100_003 + epoch)
    rng.shuffle(indices)
    pool = batch_size * POOL_BATCHES
    batches = []
    for start in range(0, len(indices), pool):
        chunk = sorted(indices[start : start + pool], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches
