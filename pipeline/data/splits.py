"""Readers of the prepared splits (``outputs/prepared/{ner,sentiment}/*.jsonl``) and of a labelled CSV.

Every problem is a :class:`~pipeline.errors.DataError` naming the file and line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline import paths
from pipeline.data.jsonl import read_jsonl
from pipeline.data.tags import TagError, spans_from_tags
from pipeline.data.tokenizer import LANGUAGE, tokenize_many
from pipeline.errors import DataError

Record = tuple[list[str], list[str]]


def prepared_language(path: Path = paths.DATASET) -> str:
    """The data's language as ``prepare`` recorded it (``data.language``), for the models trained on it."""
    if not path.exists():
        return LANGUAGE
    return json.loads(path.read_text(encoding="utf-8"))["language"]


def prepared_files(task: str, path: Path = paths.DATASET) -> list[str]:
    """The raw files (keys under ``data.root``) that ``prepare`` read for ``task`` (``ner``, ``sentiment``)."""
    if not path.exists():
        return []
    return list(json.loads(path.read_text(encoding="utf-8"))[task]["files"].values())


def test_split(directory: Path, task: str) -> Path | None:
    """``directory/test.jsonl``, or None after printing that ``task`` has no test split (its test metrics are skipped)."""
    path = directory / "test.jsonl"
    if path.exists():
        return path
    print(f"{task}: no test split (data.{task}.test is not set): test metrics skipped, dev's figures reported")
    return None


def read_split(path: Path) -> list[Record]:
    """``(tokens, IOB2 tags)`` pairs of a prepared split, checked for shape."""
    return read_split_documents(path)[0]


def read_split_documents(path: Path) -> tuple[list[Record], list[int]]:
    """A prepared split's ``(tokens, IOB2 tags)`` pairs and each sentence's document number, read in one pass.

    A sentence without a ``doc`` field (a split prepared before documents
    were recorded) is a document of its own.
    """
    records, docs = [], []
    for number, raw in enumerate(read_jsonl(path), start=1):
        tokens, tags, doc = raw.get("tokens"), raw.get("tags"), raw.get("doc", -number)
        if not isinstance(tokens, list) or not isinstance(tags, list) or len(tokens) != len(tags):
            raise DataError(path, number, "expected {'tokens': [...], 'tags': [...]} of equal length")
        if not isinstance(doc, int) or isinstance(doc, bool):
            raise DataError(path, number, f"'doc' must be an integer document number, got {doc!r}")
        try:
            spans_from_tags(tags, "iob2", invalid="reject")
        except TagError as err:
            raise DataError(path, number, f"invalid IOB2 tags: {err}") from None
        records.append((tokens, tags))
        docs.append(doc)
    return records, docs


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
    for example_tokens, example_target in stream_examples(path, target):
        tokens.append(example_tokens)
        targets.append(example_target)
    return Examples(tokens, targets)


def stream_examples(path: Path, target: str) -> Iterator[tuple[list[str], str]]:
    """A prepared ``.jsonl`` split's ``(tokens, target)`` pairs one at a time, so a reader can hold one batch."""
    for line, record in enumerate(read_jsonl(path), start=1):
        if not isinstance(record.get("tokens"), list) or record.get(target) is None:
            raise DataError(path, line, f"expected a 'tokens' list and a non-null {target!r} field")
        yield record["tokens"], str(record[target])


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
