"""Streaming CoNLL reader and writer.

One token a line, whitespace-separated columns, the word first and the entity
tag last (2 columns ``word tag`` or the CoNLL-2003 layout ``word POS chunk
NER``); blank lines end sentences and ``-DOCSTART-`` lines end documents.
Files are read a line at a time, so the full CoNLL-2003 (or larger) corpora
never sit in memory; ``.gz`` files are decompressed on the fly.

Every problem in a file is a :class:`~pipeline.errors.DataError` naming the
exact ``file:line``; a repaired tag sequence is a warning naming it.
"""

from __future__ import annotations

import contextlib
import gzip
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from pipeline.data.tags import Invalid, Scheme, TagError, convert
from pipeline.errors import DataError, MissingDataError

DOCSTART = "-DOCSTART-"


@dataclass(frozen=True)
class Sentence:
    """One sentence; ``path`` and ``line`` (1-based, first token) locate it for messages."""

    words: list[str]
    tags: list[str]
    path: str
    line: int

    def __post_init__(self) -> None:
        if len(self.words) != len(self.tags):
            raise ValueError(f"{self.path}:{self.line}: {len(self.words)} words but {len(self.tags)} tags")


def _open_binary(path: Path) -> BinaryIO:
    """Open ``path`` (gzip if it ends in ``.gz``) as bytes.

    Bytes, not text: decoding line by line is what lets an undecodable byte be
    reported at its line (a text wrapper decodes 8 KiB chunks and loses it).
    """
    if not path.is_file():
        raise MissingDataError(path)
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # type: ignore[return-value]


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)``, decoded as UTF-8, BOM and line ending removed."""
    number = 0
    try:
        with _open_binary(path) as stream:
            for number, raw in enumerate(stream, start=1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    raise DataError(path, number, f"not valid UTF-8 at byte {err.start + 1} of the line") from None
                yield number, (text.removeprefix("\ufeff") if number == 1 else text).rstrip("\r\n")
    except (gzip.BadGzipFile, EOFError) as err:
        raise DataError(path, number + 1, f"corrupt gzip file ({err})") from None


def _columns(path: Path, number: int, text: str, expected: int | None) -> list[str]:
    """Split a token line and check its column count against the file's first token line."""
    columns = text.split()
    if expected is not None and len(columns) != expected:
        raise DataError(path, number, f"expected {expected} columns, found {len(columns)}")
    if len(columns) < 2:
        raise DataError(path, number, f"expected at least 2 columns (word and tag), found {len(columns)}")
    return columns


def _sentence(
    path: Path, rows: list[tuple[int, str, str]], scheme: Scheme, target: Scheme, invalid: Invalid
) -> Sentence:
    """Build a sentence from ``(line, word, tag)`` rows, converting its tags to ``target``."""
    numbers = [number for number, _, _ in rows]

    def warn(index: int, message: str) -> None:
        warnings.warn(f"{path}:{numbers[index]}: {message} (repaired)")

    try:
        tags = convert([tag for _, _, tag in rows], scheme, target, invalid, warn)
    except TagError as err:
        raise DataError(path, numbers[err.index or 0], err.message) from None
    return Sentence([word for _, word, _ in rows], tags, str(path), numbers[0])


def read_conll(
    path: str | Path,
    scheme: Scheme = "iob1",
    target: Scheme = "iob2",
    invalid: Invalid = "repair",
) -> Iterator[Sentence]:
    """Yield the sentences of a CoNLL file, tags converted from ``scheme`` to ``target``.

    ``-DOCSTART-`` is recognised by its first column only: the first line of
    the real ``eng.train`` (``-DOCSTART- -X- OO O``) has a malformed third one.
    """
    path = Path(path)
    expected: int | None = None
    rows: list[tuple[int, str, str]] = []
    for number, text in _lines(path):
        if text.strip() and text.split(maxsplit=1)[0] != DOCSTART:
            columns = _columns(path, number, text, expected)
            expected = len(columns)
            rows.append((number, columns[0], columns[-1]))
        elif rows:
            yield _sentence(path, rows, scheme, target, invalid)
            rows = []
    if rows:
        yield _sentence(path, rows, scheme, target, invalid)


def write_conll(sentences: Iterable[Sentence], path_or_stream: str | Path | TextIO, scheme: Scheme = "iob2") -> None:
    """Write IOB2-tagged ``sentences`` as ``word tag`` lines in ``scheme``, a blank line after each.

    A word containing whitespace would shift the columns and could not be read
    back, so it is a ``ValueError``; so is an invalid IOB2 sequence (a bug
    upstream, not something to repair silently).
    """
    with _open_text_for_writing(path_or_stream) as out:
        for sentence in sentences:
            tags = convert(sentence.tags, "iob2", scheme, invalid="reject")
            for word, tag in zip(sentence.words, tags, strict=True):
                if word.split() != [word]:
                    raise ValueError(f"{sentence.path}:{sentence.line}: word {word!r} is empty or contains whitespace")
                out.write(f"{word} {tag}\n")
            out.write("\n")


def _open_text_for_writing(path_or_stream: str | Path | TextIO) -> contextlib.AbstractContextManager[TextIO]:
    """A stream is written to and left open; a path is opened (gzip for ``.gz``) and closed."""
    if hasattr(path_or_stream, "write"):
        return contextlib.nullcontext(path_or_stream)  # type: ignore[arg-type]
    path = Path(path_or_stream)
    if path.suffix == ".gz":
        return gzip.open(path, "wt", encoding="utf-8", newline="\n")  # type: ignore[return-value]
    return open(path, "w", encoding="utf-8", newline="\n")
