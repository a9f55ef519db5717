"""Line-by-line UTF-8 decoding shared by the CoNLL, IMDB, JSON-lines and YAML readers.

Files are opened as bytes and decoded one line at a time, not through a text
wrapper: a wrapper decodes 8 KiB chunks, so a bad byte surfaces as a bare
``UnicodeDecodeError`` with no line number. Here every such problem is a
:class:`~pipeline.errors.DataError` naming ``file:line`` and saying how to fix
the file.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from pipeline.errors import DataError, MissingDataError

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def open_bytes(path: Path) -> BinaryIO:
    """Open ``path`` as bytes, decompressing it on the fly when it ends in ``.gz``."""
    if not path.is_file():
        raise MissingDataError(path)
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # type: ignore[return-value]


def decode_line(path: Path, number: int, raw: bytes) -> str:
    """Decode line ``number`` of ``path`` as UTF-8, dropping a UTF-8 byte-order mark on line 1.

    UTF-16 and binary files are named as such: "not valid UTF-8 at byte 2"
    would leave the user guessing what is wrong with an apparently fine file.
    """
    if number == 1 and raw.startswith(_UTF16_BOMS):
        raise DataError(path, number, "UTF-16 text: convert the file to UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)")
    if b"\0" in raw:
        raise DataError(path, number, "NUL byte: this looks like a binary file, not text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(
            path, number, f"not valid UTF-8 at byte {err.start + 1} of the line: re-save the file as UTF-8"
        ) from None
    return text.removeprefix("\ufeff") if number == 1 else text


def utf8_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` of a plain or ``.gz`` file, 1-based, line endings kept.

    Endings are kept because the CSV reader needs them to tell a quoted
    newline from the end of a row; readers of line formats strip them.
    """
    number = 0
    try:
        with open_bytes(path) as stream:
            for number, raw in enumerate(stream, start=1):
                yield number, decode_line(path, number, raw)
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise DataError(path, number + 1, f"corrupt gzip file ({err}): copy or download it again") from None


def read_text(path: Path) -> str:
    """The whole (small) file as text, with the same ``file:line`` errors as :func:`utf8_lines`."""
    return "".join(text for _, text in utf8_lines(path))
