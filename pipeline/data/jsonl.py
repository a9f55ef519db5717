"""JSON-lines files for prepared splits: written atomically, read with ``file:line`` errors."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.atomic import atomic_open
from pipeline.data.textio import utf8_lines
from pipeline.errors import DataError, MissingDataError


def write_jsonl(path: Path, records: Iterable[dict]) -> int:
    """Write one JSON object a line; returns the number written."""
    count = 0
    with atomic_open(path) as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def numbered_objects(path: Path) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for each non-blank line; anything but a JSON object is an error naming the line."""
    for number, line in utf8_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line.rstrip("\r\n"))  # so an error's column is on this line
        except json.JSONDecodeError as exc:
            raise DataError(path, number, f"invalid JSON: {exc.msg} at column {exc.colno}") from None
        if not isinstance(record, dict):
            raise DataError(path, number, f"expected a JSON object, found {type(record).__name__}")
        yield number, record


def read_jsonl(path: Path) -> Iterator[dict]:
    """Stream the objects of a prepared JSON-lines split."""
    if not path.exists():
        raise MissingDataError(path, "run the prepare stage first (dvc repro prepare)")
    for _, record in numbered_objects(path):
        yield record
