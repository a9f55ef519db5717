"""JSON-lines files for prepared splits: written atomically, read with ``file:line`` errors."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.atomic import atomic_open
from pipeline.errors import DataError, MissingDataError


def write_jsonl(path: Path, records: Iterable[dict]) -> int:
    """Write one JSON object a line; returns the number written."""
    count = 0
    with atomic_open(path) as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def read_jsonl(path: Path) -> Iterator[dict]:
    """Stream the objects of a JSON-lines file."""
    if not path.exists():
        raise MissingDataError(path, "run the prepare stage first (dvc repro prepare)")
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(path, number, f"invalid JSON: {exc.msg}") from None
