"""IMDB review readers: the JSONL dump, the original ``aclImdb`` tree and the 50k CSV.

The three layouts the IMDB data is passed around in are read into one
:class:`Review` record, so the sentiment stages never care which one a user has.
Every reader streams (the unsup split alone is 50k reviews) and reports a
malformed input as a :class:`DataError` naming ``file:line``.
"""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.data.jsonl import numbered_objects
from pipeline.data.textio import read_text, utf8_lines
from pipeline.errors import DataError, MissingDataError

LABELS = ("pos", "neg")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TREE_FILE = re.compile(r"(\d+)_(\d+)\.txt")
_CSV_HEADER = ["review", "sentiment"]
_CSV_LABELS = {"positive": "pos", "negative": "neg"}


@dataclass(frozen=True)
class Review:
    """One review; ``label`` is None for the unlabelled split, ``rating`` is 1-10 or None."""

    id: str
    text: str
    label: str | None
    rating: int | None


def clean_text(text: str) -> str:
    """Replace the ``<br />`` tags and HTML entities the IMDB scrape left in the text.

    Nothing else is changed: the tokenizer, not the reader, decides about spacing.
    """
    return html.unescape(_BR.sub(" ", text))


def read_imdb(path: str | Path) -> Iterator[Review]:
    """Stream the reviews of a ``.jsonl[.gz]`` file, an ``aclImdb`` split directory or a ``.csv``."""
    path = Path(path)
    if not path.exists():
        raise MissingDataError(path, "expected a .jsonl(.gz) file, an aclImdb split directory or a .csv")
    if path.is_dir():
        return _read_tree(path)
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        return _read_jsonl(path)
    if path.suffix == ".csv":
        return _read_csv(path)
    raise DataError(path, None, "unknown IMDB format: expected .jsonl, .jsonl.gz, .csv or a directory")


def _review(
    path: Path, line: int | None, id_: str, text: object, label: object, rating: int | None
) -> Review:
    """Validate the fields every layout shares, so the three readers fail alike."""
    if not isinstance(text, str):
        raise DataError(path, line, f"review {id_}: 'text' must be a string, got {text!r}")
    if label is not None and label not in LABELS:
        raise DataError(path, line, f"review {id_}: unknown label {label!r} (expected 'pos', 'neg' or null)")
    text = clean_text(text)
    if not text.strip():
        raise DataError(path, line, f"review {id_}: empty text")
    return Review(id=id_, text=text, label=label, rating=rating)


def _read_jsonl(path: Path) -> Iterator[Review]:
    """One JSON object a line; rating 0 is how the dump marks 'no rating' (unsup)."""
    for lineno, obj in numbered_objects(path):
        missing = [key for key in ("id", "label", "text") if key not in obj]
        if missing:
            raise DataError(path, lineno, f"missing key(s) {', '.join(missing)}")
        yield _review(path, lineno, str(obj["id"]), obj["text"], obj["label"], _rating(path, lineno, obj))


def _rating(path: Path, lineno: int, obj: dict) -> int | None:
    """The 1-10 rating, or None for 0 or absent; ``true`` is refused although Python counts it as 1."""
    rating = obj.get("rating", 0)
    if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= 10:
        raise DataError(path, lineno, f"rating must be an integer 0-10, got {rating!r}")
    return rating or None


def count_reviews(path: str | Path) -> int | None:
    """How many reviews :func:`read_imdb` will yield, for a progress total: the non-blank lines of a JSONL file or
    the files of an aclImdb split; None for a CSV, whose quoted reviews may span lines."""
    path = Path(path)
    if path.is_dir():
        return sum(1 for name in ("neg", "pos", "unsup") if (path / name).is_dir() for _ in (path / name).iterdir())
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        return sum(1 for _, text in utf8_lines(path) if text.strip())
    return None


def _read_tree(split: Path) -> Iterator[Review]:
    """The original ``<split>/{pos,neg,unsup}/<id>_<rating>.txt`` layout, in (label, id) order."""
    label_dirs = [split / name for name in ("neg", "pos", "unsup") if (split / name).is_dir()]
    if not label_dirs:
        raise DataError(split, None, "not an aclImdb split: no pos/, neg/ or unsup/ sub-directory")
    for label_dir in label_dirs:
        label = label_dir.name if label_dir.name in LABELS else None
        for number, rating, file in _tree_files(label_dir):
            text = read_text(file)
            yield _review(file, None, f"{split.name}/{label_dir.name}/{number}", text, label, rating or None)


def _tree_files(label_dir: Path) -> list[tuple[int, int, Path]]:
    """Parse ``<id>_<rating>.txt`` names and sort numerically (``10_`` after ``9_``)."""
    files = []
    for file in label_dir.iterdir():
        match = _TREE_FILE.fullmatch(file.name)
        if match is None:
            raise DataError(file, None, f"file name {file.name!r} does not match <id>_<rating>.txt")
        files.append((int(match[1]), int(match[2]), file))
    return sorted(files)


def _read_csv(path: Path) -> Iterator[Review]:
    """The Kaggle 50k layout: ``review,sentiment`` with positive/negative; it has no ratings."""
    rows = csv_rows(path)
    header = next(rows, None)
    if header is None:
        raise DataError(path, None, f"empty file: expected a header row {','.join(_CSV_HEADER)}")
    if header[1] != _CSV_HEADER:
        raise DataError(path, 1, f"expected columns {_CSV_HEADER}, found {header[1]}")
    for row_number, (line, row) in enumerate(rows, start=1):
        if len(row) != 2:
            raise DataError(path, line, f"expected 2 columns, found {len(row)}: quote a review containing a comma")
        text, sentiment = row
        if sentiment not in _CSV_LABELS:
            raise DataError(path, line, f"unknown label {sentiment!r} (expected 'positive' or 'negative')")
        yield _review(path, line, f"{path.stem}/{row_number}", text, _CSV_LABELS[sentiment], None)


def csv_rows(path: Path, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """``(line, row)`` for each CSV (or TSV) row, ``line`` being its last line (a quoted review may span several).

    A ``csv.Error`` (e.g. an unclosed quote swallowing the rest of the file) is named at the line
    where its row starts, the line to fix, not where the reader gave up.
    """
    reader = csv.reader((text for _, text in utf8_lines(path)), delimiter=delimiter)
    start = 1
    try:
        for row in reader:
            yield reader.line_num, row
            start = reader.line_num + 1
    except csv.Error as err:
        message = f"malformed CSV in the row starting here ({err}): is a quote left unclosed?"
        raise DataError(path, start, message) from None
