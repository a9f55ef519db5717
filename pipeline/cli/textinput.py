"""The commands' text input: one text a line, from a file or from stdin (``-``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import MissingDataError


def text_lines(source: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of the non-empty lines of ``source`` (``-`` is stdin)."""
    if str(source) != "-" and not source.exists():
        raise MissingDataError(source, "expected a text file with one text a line, or - for stdin")
    handle = sys.stdin if str(source) == "-" else open(source, encoding="utf-8")
    with handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line.rstrip("\n")
