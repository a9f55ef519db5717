"""fastText's character n-gram table: a vector for any word, seen or not, stored without pickle.

A word's subword vector is the mean of the bucket rows of its character
n-grams (``<word>`` cut into ``min_n``…``max_n``-grams, hashed into
``bucket`` rows), as gensim's ``FastTextKeyedVectors`` computes it for a
word outside its vocabulary. The table is saved as ``subwords.npy`` (float32,
read with ``allow_pickle=False``) and ``subwords.json`` (``min_n``, ``max_n``);
the bucket count is the table's row count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gensim.models.fasttext import FastTextKeyedVectors, ft_ngram_hashes

from pipeline.atomic import atomic_open, write_json
from pipeline.errors import DataError
from pipeline.model_dir import SUBWORDS, SUBWORDS_CONFIG, read_json


@dataclass(frozen=True)
class Subwords:
    """The n-gram bucket table (bucket, dim) and the n-gram lengths it was trained with."""

    table: np.ndarray
    min_n: int
    max_n: int

    @classmethod
    def of(cls, kv: FastTextKeyedVectors) -> Subwords:
        """The table of trained fastText vectors."""
        return cls(np.asarray(kv.vectors_ngrams, dtype=np.float32), kv.min_n, kv.max_n)

    def ngrams(self, word: str) -> list[int]:
        """Bucket rows of ``word``'s n-grams, repeats kept (gensim's mean counts each occurrence)."""
        return ft_ngram_hashes(word, self.min_n, self.max_n, len(self.table))

    def trained_rows(self, words: Iterable[str]) -> set[int]:
        """The rows the n-grams of ``words`` (the training vocabulary) hash to: the rows training updated."""
        return {row for word in words for row in self.ngrams(word)}

    def vector(self, word: str) -> np.ndarray:
        """The (dim,) float32 mean of ``word``'s n-gram rows; zero for a word with none (an empty string)."""
        rows = self.ngrams(word)
        if not rows:
            return np.zeros(self.table.shape[1], dtype=np.float32)
        return np.add.reduce(self.table[rows], axis=0) / np.float32(len(rows))

    def save(self, directory: Path) -> None:
        """Write ``subwords.npy`` and ``subwords.json`` into ``directory``, atomically."""
        with atomic_open(directory / SUBWORDS, "wb") as fh:
            np.save(fh, self.table, allow_pickle=False)
        write_json(directory / SUBWORDS_CONFIG, {"min_n": self.min_n, "max_n": self.max_n})

    @staticmethod
    def remove(directory: Path) -> None:
        """Delete a table saved in ``directory`` (vectors of another kind now live there)."""
        for name in (SUBWORDS, SUBWORDS_CONFIG):
            (directory / name).unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: Path) -> Subwords | None:
        """The table saved in ``directory``, or None when it holds none (word2vec vectors, an older model).

        Memory-mapped, read-only: a service reads only the rows its unseen words hash to.
        """
        if not (directory / SUBWORDS).exists():
            return None
        path = directory / SUBWORDS
        try:
            table = np.load(path, allow_pickle=False, mmap_mode="r")
        except ValueError as err:
            raise DataError(path, None, f"not a float32 n-gram table ({err}): run the word2vec stage again") from None
        if table.ndim != 2 or table.dtype != np.float32:
            raise DataError(path, None, f"expected a 2-d float32 table, found {table.dtype} of shape {table.shape}")
        raw = read_json(directory / SUBWORDS_CONFIG)
        return cls(table, int(raw["min_n"]), int(raw["max_n"]))
