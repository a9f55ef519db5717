"""Length-bucketed batches: sequences of similar length share a batch, so packing wastes little.

The order depends only on ``(seed, epoch)``: an epoch replayed after a
resume sees the very same batches as the uninterrupted run, and under
torchrun every rank computes the same order and takes its own share of it
(``distributed.shard``), so the shares keep the bucketing.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
POOL_BATCHES = 50  # sort within pools of 50 batches: similar lengths, yet still shuffled across epochs
MAX_DOC_SENTENCES = 256  # document_batches: longer documents are pooled in chunks of this many sentences (bounded memory)


def bucket_batches(lengths: list[int], batch_size: int, seed: int, epoch: int, shuffle: bool = True,
                   max_tokens: int | None = None) -> list[list[int]]:
    """Index lists, one per batch. Without ``shuffle``: sorted by length, longest first (for inference).

    ``max_tokens`` (inference only) also caps a batch's padded size, its
    count times its longest length: long texts go in small batches, short
    ones in batches of up to ``batch_size``.
    """
    indices = list(range(len(lengths)))
    if not shuffle:
        indices.sort(key=lambda i: -lengths[i])
        return _capped(indices, lengths, batch_size, max_tokens)
    rng = random.Random(seed * 100_003 + epoch)
    rng.shuffle(indices)
    pool = batch_size * POOL_BATCHES
    batches = []
    for start in range(0, len(indices), pool):
        chunk = sorted(indices[start : start + pool], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _runs(items: Iterable[int], starts_new: Callable[[list[int], int], bool]) -> list[list[int]]:
    """``items`` cut into consecutive runs, a new one starting wherever ``starts_new(current_run, item)`` holds."""
    runs: list[list[int]] = []
    current: list[int] = []
    for item in items:
        if current and starts_new(current, item):
            runs.append(current)
            current = []
        current.append(item)
    if current:
        runs.append(current)
    return runs


def _capped(ordered: list[int], lengths: list[int], batch_size: int, max_tokens: int | None) -> list[list[int]]:
    """Consecutive runs of ``ordered`` (longest first) of at most ``batch_size`` items and ``max_tokens`` padded tokens."""
    return _runs(ordered, lambda run, _: len(run) == batch_size or
                 (max_tokens is not None and (len(run) + 1) * lengths[run[0]] > max_tokens))


def document_chunks(docs: list[int], max_sentences: int) -> list[list[int]]:
    """Sentence indices grouped by document (runs of equal ids), runs longer than ``max_sentences`` cut into chunks."""
    return _runs(range(len(docs)), lambda run, index: docs[index] != docs[run[-1]] or len(run) == max_sentences)


def document_batches(docs: list[int], batch_size: int, seed: int, epoch: int, shuffle: bool = True,
                     lengths: list[int] | None = None) -> list[list[int]]:
    """Batches of whole documents, for a tagger that pools over a document (``ner.model.doc_context``).

    Documents (cut at :data:`MAX_DOC_SENTENCES`) are packed into a batch until
    it holds at least ``batch_size`` sentences, so a document is never split
    across batches. With ``shuffle`` the documents' order depends on
    ``(seed, epoch)`` only, as in :func:`bucket_batches`; without it (for
    inference) and with sentence ``lengths``, documents go longest sentence
    first, so one-sentence documents batch as tightly as :func:`bucket_batches` does.
    """
    chunks = document_chunks(docs, MAX_DOC_SENTENCES)
    if shuffle:
        random.Random(seed * 100_003 + epoch).shuffle(chunks)
    elif lengths is not None:
        chunks.sort(key=lambda chunk: -max(lengths[i] for i in chunk))
    batches: list[list[int]] = []
    current: list[int] = []
    for chunk in chunks:
        current += chunk
        if len(current) >= batch_size:
            batches.append(current)
            current = []
    if current:
        batches.append(current)
    return batches


class Batches(Generic[T]):
    """An epoch's batches, built lazily from their index lists, whose count is known before the first one."""

    def __init__(self, order: list[list[int]], build: Callable[[list[int]], T]) -> None:
        self.order, self.build = order, build

    def __len__(self) -> int:
        return len(self.order)

    def __iter__(self) -> Iterator[T]:
        return (self.build(ids) for ids in self.order)
