"""Read word vectors from a local file, streamed, into gensim ``KeyedVectors``, without unpickling.

Three formats, told apart by their first bytes (or fixed by the caller):

- ``word2vec-binary``: a ``COUNT DIM`` line, then per word ``word<space>`` and DIM little-endian float32s
  (C word2vec puts a newline after each; gensim ``save_word2vec_format(binary=True)``);
- ``word2vec-text``: the same header, then ``word v1 … vDIM`` lines (fastText's ``.vec`` files too);
- ``glove``: no header, the first line already is ``word v1 … vDIM``.

A header is a first line of exactly two positive integers. After it the file is
text when the next ``4·DIM + 256`` bytes (more than a binary record's word and
floats) are UTF-8 without control characters: a binary record's float32 bytes
practically never are. A ``.gz`` path is decompressed as it is read.

On a line, the last DIM space-separated fields are the vector and the rest is
the word, so GloVe's few words holding a space read whole; a word whose own last
part is a number would be indistinguishable from a line with too many values,
and is read as such. A word occurring twice is an error, not "keep the first":
the file is corrupt or was concatenated, and either vector could be the one meant.
Every problem is a DataError naming the file and the line (a text file) or the
vector (a binary one, which has no lines) and, where known, the word.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, NoReturn

import numpy as np
from gensim.models import KeyedVectors

from pipeline.data.textio import open_bytes
from pipeline.errors import DataError

VectorFormat = Literal["word2vec-binary", "word2vec-text", "glove"]
CHUNK = 1 << 20  # bytes read at a time from a binary file
PROBE_WORD = 256  # bytes beyond a binary record's floats that the text/binary probe looks at
FIRST_LINE_LIMIT = 1 << 20  # bytes of line 1 read to tell the format: a binary file may hold no newline at all
FIRST_ROWS = 1 << 12  # rows allocated first when the count is unknown or unchecked (doubled as needed)
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r") + b"\x7f"
_MAGIC = {  # first bytes of files people mistake for vectors, and what to do instead
    b"\x80": "it looks like a Python pickle (a gensim .model?), which is never loaded: export the vectors with "
    "model.wv.save_word2vec_format(path, binary=True)",
    b"\x1f\x8b": "it is gzip-compressed: give it a name ending in .gz",
    b"PK\x03\x04": "it is a zip archive: unpack it and name the vectors file inside",
    **dict.fromkeys((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE), "it is UTF-16 text: convert it to UTF-8 (iconv)"),
}


@dataclass(frozen=True)
class Layout:
    """What the first bytes say: the format, dimension, header count (None: GloVe) and where records start."""

    format: VectorFormat
    dim: int
    count: int | None
    offset: int  # byte offset of the first record
    first_line: int  # line number of the first record (text formats)

    def expected(self) -> str:
        """Where the dimension comes from, for messages about a line with another number of values."""
        if self.count is not None:
            return f"the header (line 1) says {self.dim}"
        return f"line 1 has {self.dim} (read as GloVe: the file has no '<vector count> <dimension>' header)"


def read_vectors(path: Path, format: VectorFormat | None = None) -> tuple[KeyedVectors, VectorFormat]:
    """The vectors of ``path`` and the format they were read as (detected when ``format`` is None)."""
    try:
        with open_bytes(path) as stream:
            layout = _layout(path, stream, format)
            _check_size(path, layout)
            stream.seek(layout.offset)
            records = _binary_records if layout.format == "word2vec-binary" else _text_records
            return _collect(records(path, stream, layout), layout, _first_rows(path, layout)), layout.format
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise DataError(path, None, f"corrupt gzip file ({err}): copy or download it again") from None


def _layout(path: Path, stream: BinaryIO, format: VectorFormat | None) -> Layout:
    """The layout ``format`` prescribes (its header read and checked), or the one the first bytes show."""
    first = stream.readline(FIRST_LINE_LIMIT)
    bom = len(codecs.BOM_UTF8) if first.startswith(codecs.BOM_UTF8) else 0
    if format == "glove" or (format is None and not _is_header(first[bom:])):
        return _glove_layout(path, first, bom)
    count, dim = _header(path, first[bom:])
    if format is None:
        format = "word2vec-text" if _looks_like_text(stream.read(4 * dim + PROBE_WORD)) else "word2vec-binary"
    return Layout(format, dim, count, len(first), 2)


def _is_header(line: bytes) -> bool:
    """Whether a first line is a word2vec header: two integers (``0`` included, so "2 0" reads as a bad header)."""
    fields = line.split()
    return len(fields) == 2 and all(field.isdigit() for field in fields)


def _header(path: Path, line: bytes) -> tuple[int, int]:
    """``(vector count, dimension)`` from a ``COUNT DIM`` first line."""
    fields = line.split()
    if len(fields) != 2 or not all(field.isdigit() and int(field) > 0 for field in fields):
        shown = "(the file is empty)" if not line else repr(line.rstrip(b"\r\n")[:40].decode("utf-8", "replace"))
        raise DataError(path, 1, f"bad header {shown}: a word2vec file starts with '<vector count> <dimension>'")
    return int(fields[0]), int(fields[1])


def _glove_layout(path: Path, first: bytes, bom: int) -> Layout:
    """A headerless text file's layout: the dimension is the count of numbers ending line 1, after a word."""
    if not first:
        raise DataError(path, 1, "the file is empty: expected word2vec, fastText .vec or GloVe vectors")
    if not _looks_like_text(first):
        hints = [hint for magic, hint in _MAGIC.items() if first.startswith(magic)]
        raise DataError(
            path, 1, "binary data without a '<vector count> <dimension>' header, so not word2vec binary"
            + (f": {hints[0]}" if hints else ": expected word2vec (binary or text), fastText .vec or GloVe vectors")
        )
    fields = first[bom:].decode("utf-8").rstrip().split(" ")
    dim = min(_trailing_numbers(fields), len(fields) - 1)
    if dim < 1:
        raise DataError(path, 1, "expected '<word> <v1> … <vN>' (GloVe) or a '<vector count> <dimension>' header")
    return Layout("glove", dim, None, bom, 1)


def _looks_like_text(data: bytes) -> bool:
    """UTF-8 (a character cut at the end allowed) without control characters other than tab and line ends."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return not any(byte in _CONTROL for byte in data)


def _is_number(field: str) -> bool:
    """Whether ``field`` reads as a float."""
    try:
        float(field)
    except ValueError:
        return False
    return True


def _trailing_numbers(fields: list[str]) -> int:
    """How many of the last ``fields`` are numbers."""
    count = 0
    while count < len(fields) and _is_number(fields[-1 - count]):
        count += 1
    return count


def _check_size(path: Path, layout: Layout) -> None:
    """Refuse a header announcing more vectors than an uncompressed file can hold, before allocating for them.

    The fewest bytes a record takes (``w 0 0 0`` or ``w `` and the float32s)
    times the count must fit in the file, so a corrupt count such as 10⁹ fails
    here instead of exhausting memory. A ``.gz`` file's size says nothing:
    its rows are allocated as they arrive.
    """
    if layout.count is None or path.suffix == ".gz":
        return
    smallest = 4 * layout.dim + 2 if layout.format == "word2vec-binary" else 2 * layout.dim + 1
    available = path.stat().st_size - layout.offset
    if layout.count * smallest > available:
        raise DataError(
            path,
            1,
            f"the header announces {layout.count} vectors of dimension {layout.dim}, at least "
            f"{layout.count * smallest} bytes, but {available} follow: the file is truncated or its header is wrong",
        )


def _first_rows(path: Path, layout: Layout) -> int:
    """Rows to allocate up front: the header's count once :func:`_check_size` vouched for it, else a few."""
    checked = layout.count is not None and path.suffix != ".gz"
    return layout.count if checked else min(layout.count or FIRST_ROWS, FIRST_ROWS)


@dataclass(frozen=True)
class _Where:
    """Where a record lies, for messages: a line of a text file or a vector of a binary one."""

    path: Path
    line: int | None
    vector: int

    def fail(self, message: str) -> NoReturn:
        """Raise the DataError for ``message`` here."""
        prefix = "" if self.line is not None else f"vector {self.vector}: "
        raise DataError(self.path, self.line, prefix + message)


Record = tuple[_Where, str, np.ndarray]


def _collect(records: Iterator[Record], layout: Layout, rows: int) -> KeyedVectors:
    """KeyedVectors of the records, in file order; a repeated word or a nan/inf value fails at its record."""
    vectors = np.empty((rows, layout.dim), dtype=np.float32)
    words: list[str] = []
    index: dict[str, int] = {}
    for where, word, vector in records:
        if word in index:
            where.fail(f"word {word!r} occurs twice (first as vector {index[word] + 1}): the file is corrupt")
        if not np.isfinite(vector).all():
            where.fail(f"word {word!r} has a non-finite value (nan or inf)")
        if len(words) == len(vectors):
            vectors.resize((2 * len(vectors), layout.dim), refcheck=False)  # in place: no other view of it exists
        vectors[len(words)] = vector
        index[word] = len(words)
        words.append(word)
    vectors.resize((len(words), layout.dim), refcheck=False)
    kv = KeyedVectors(vector_size=layout.dim, dtype=np.float32)
    kv.vectors, kv.index_to_key, kv.key_to_index, kv.next_index = vectors, words, index, len(words)
    kv.allocate_vecattrs(["count"], [np.int64])
    kv.expandos["count"][:] = np.arange(len(words), 0, -1)  # a file has no counts: gensim's loader makes up these
    return kv


def _text_records(path: Path, stream: BinaryIO, layout: Layout) -> Iterator[Record]:
    """``word v1 … vDIM`` lines (blank ones skipped); exactly the header's count of them when there is one."""
    found = 0
    number = layout.first_line - 1
    for number, raw in enumerate(stream, start=layout.first_line):
        if not raw.strip():
            continue
        where = _Where(path, number, found + 1)
        if found == layout.count:
            where.fail(f"more vectors than the {layout.count} the header (line 1) announces")
        word, vector = _text_record(where, raw, layout)
        found += 1
        yield where, word, vector
    if layout.count is not None and found < layout.count:
        _Where(path, number + 1, found + 1).fail(
            f"the file ends after {found} of the {layout.count} vectors the header announces: it is truncated"
        )


def _text_record(where: _Where, raw: bytes, layout: Layout) -> tuple[str, np.ndarray]:
    """The word and vector of one line: its last DIM fields are the vector, the rest is the word."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        where.fail("not valid UTF-8: is this a binary word2vec file? (a text vectors file must be UTF-8)")
    word, *values = text.rstrip().rsplit(" ", layout.dim)
    surplus = _trailing_numbers(word.split(" ")[1:]) if " " in word else 0
    if surplus:
        word = word.rsplit(" ", surplus)[0]
    if len(values) + surplus != layout.dim:
        where.fail(f"word {word!r} has {len(values) + surplus} values, {layout.expected()}")
    if not word:
        where.fail("no word before the values")
    try:
        return word, np.array(values, dtype=np.float32)
    except ValueError as exc:
        where.fail(f"word {word!r}: {exc}")


def _binary_records(path: Path, stream: BinaryIO, layout: Layout) -> Iterator[Record]:
    """``word<space>`` then DIM little-endian float32s, ``count`` times; newlines between records are skipped."""
    count, width = layout.count, 4 * layout.dim
    data, offset = b"", 0
    for index in range(1, count + 1):
        where = _Where(path, None, index)
        while True:
            while data[offset : offset + 1] == b"\n":
                offset += 1
            space = data.find(b" ", offset)
            if space >= 0 and space + 1 + width <= len(data):
                break
            more = stream.read(CHUNK)
            if not more:
                where.fail(
                    f"the file ends inside vector {index} of {count}: "
                    "it is truncated, or the header's count or dimension is wrong"
                )
            data, offset = data[offset:] + more, 0
        try:
            word = data[offset:space].decode("utf-8")
        except UnicodeDecodeError:
            where.fail("the word is not valid UTF-8: the file is corrupt, or the header's dimension is wrong")
        yield where, word, np.frombuffer(data, dtype="<f4", count=layout.dim, offset=space + 1)
        offset = space + 1 + width
    rest = data[offset:] or stream.read(CHUNK)
    while rest:
        if rest.strip():
            message = f"data after the {count} vectors the header announces: its count or dimension is wrong"
            raise DataError(path, None, message)
        rest = stream.read(CHUNK)
