"""Labelled texts for the sentiment task, from the files users have: CSV or TSV with a header row, JSON lines, or an
aclImdb split directory.

The text, label and id columns are named by the caller (``data.sentiment`` in
params.yaml), as in flair's ``CSVClassificationCorpus(column_name_map=...)``.
Labels are any non-empty strings. Every reader streams and reports a problem
as a :class:`DataError` naming ``file:line``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.data.imdb import Review, clean_text, count_reviews, csv_rows, read_imdb
from pipeline.data.jsonl import numbered_objects
from pipeline.errors import DataError, MissingDataError

FORMATS = ("csv", "tsv", "jsonl", "aclimdb")
DELIMITERS = {"csv": ",", "tsv": "\t"}


@dataclass(frozen=True)
class Columns:
    """Which field holds the text, the label and (optionally) the id; ``setting`` is what an error tells to set."""

    text: str = "text"
    label: str = "label"
    id: str | None = None
    setting: str = "data.sentiment.text_column/label_column/id_column"


def detect_format(path: Path, fmt: str = "auto") -> str:
    """``fmt``, or for ``auto`` the format a path's name says: a directory, ``.csv``, ``.tsv``, ``.jsonl[.gz]``."""
    if fmt != "auto":
        return fmt
    if path.is_dir():
        return "aclimdb"
    name = path.name.removesuffix(".gz")
    for suffix, found in ((".csv", "csv"), (".tsv", "tsv"), (".jsonl", "jsonl")):
        if name.endswith(suffix):
            return found
    raise DataError(path, None, "cannot tell the format from the name: set data.sentiment.format (csv, tsv, jsonl, aclimdb)")


def read_labelled(path: Path, columns: Columns = Columns(), fmt: str = "auto", labelled: bool = True) -> Iterator[Review]:
    """Stream the texts of ``path`` (``labelled``: each must have a label) as :class:`Review` records."""
    return (review for _, review in numbered_labelled(path, columns, fmt, labelled))


def numbered_labelled(path: Path, columns: Columns = Columns(), fmt: str = "auto",
                      labelled: bool = True) -> Iterator[tuple[int | None, Review]]:
    """:func:`read_labelled` with each text's line (None in an aclImdb tree, whose texts are files)."""
    if not path.exists():
        raise MissingDataError(path, "check the path in params.yaml's data section (relative to data.root)")
    fmt = detect_format(path, fmt)
    if fmt == "aclimdb":
        return ((None, review) for review in _checked(path, read_imdb(path), labelled))
    if fmt == "jsonl":
        return _from_jsonl(path, columns, labelled)
    return _from_table(path, columns, DELIMITERS[fmt], labelled)


def count_labelled(path: Path, fmt: str = "auto") -> int | None:
    """How many texts :func:`read_labelled` yields, for a progress total (None where it cannot be known cheaply)."""
    return None if detect_format(path, fmt) in DELIMITERS else count_reviews(path)


def _checked(path: Path, reviews: Iterator[Review], labelled: bool) -> Iterator[Review]:
    """aclImdb reviews, refusing the unsup ones where labels are needed."""
    for review in reviews:
        if labelled and review.label is None:
            raise DataError(path, None, f"review {review.id} has no label: a labelled split needs pos/ and neg/ only")
        yield review


def _from_jsonl(path: Path, columns: Columns, labelled: bool) -> Iterator[tuple[int, Review]]:
    """One object a line; an integer ``rating`` field (IMDB's 1-10, 0 for none) is kept for ``target: rating``."""
    for line, obj in numbered_objects(path):
        rating = obj.get("rating")
        rating = rating if isinstance(rating, int) and not isinstance(rating, bool) and rating else None
        yield line, _record(path, line, obj, columns, labelled, f"{path.name}/{line}", rating)


def _from_table(path: Path, columns: Columns, delimiter: str, labelled: bool) -> Iterator[tuple[int, Review]]:
    """A CSV/TSV whose first row names the columns; a quoted text may span lines."""
    rows = csv_rows(path, delimiter)
    first = next(rows, None)
    if first is None:
        raise DataError(path, None, f"empty file: expected a header row naming columns {columns.text!r} and {columns.label!r}")
    header = first[1]
    wanted = [columns.text, columns.label] if labelled else [columns.text]
    for name in [*wanted, *([columns.id] if columns.id else [])]:
        if name not in header:
            raise DataError(path, 1, f"no column {name!r} in the header (columns: {', '.join(header)}): "
                                     f"set {columns.setting}")
    for number, (line, row) in enumerate(rows, start=1):
        if len(row) != len(header):
            raise DataError(path, line, f"expected {len(header)} fields, found {len(row)}: quote a text that holds "
                                        f"the delimiter {delimiter!r}")
        yield line, _record(path, line, dict(zip(header, row)), columns, labelled, f"{path.stem}/{number}", None)


def _record(path: Path, line: int, row: Mapping, columns: Columns, labelled: bool, default_id: str,
            rating: int | None) -> Review:
    """Validate one row's text, label and id; a missing field names the column to set."""
    for name in [columns.text, *([columns.label] if labelled else [])]:
        if name not in row:
            raise DataError(path, line, f"missing field {name!r} (set {columns.setting})")
    text, label = row[columns.text], row.get(columns.label)
    if not isinstance(text, str) or not text.strip():
        raise DataError(path, line, f"field {columns.text!r} must be a non-empty string, got {text!r}")
    if labelled and (label is None or isinstance(label, (bool, dict, list)) or not str(label).strip()):
        raise DataError(path, line, f"field {columns.label!r} must be a non-empty label, got {label!r}")
    id_ = row.get(columns.id) if columns.id else None
    if columns.id and id_ is None:
        raise DataError(path, line, f"missing id field {columns.id!r} (set data.sentiment.id_column, or null)")
    return Review(id=str(id_) if id_ is not None else default_id, text=clean_text(text),
                  label=None if label is None else str(label).strip(), rating=rating)
