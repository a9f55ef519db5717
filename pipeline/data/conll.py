"""Streaming CoNLL reader and writer.

One token a line, whitespace-separated columns, the word first and the entity
tag last (2 columns ``word tag`` or the CoNLL-2003 layout ``word POS chunk
NER``); blank lines end sentences and ``-DOCSTART-`` lines end documents.
Files are read a line at a time, so the full CoNLL-2003 (or larger) corpora
never sit in memory; ``.gz`` files are decompressed on the fly.

Every problem in a file is a :class:`~pipeline.errors.DataError` naming the
exact ``file:line``. Repaired tag sequences are one warning per file, with
their count and first lines; each one is logged at INFO (``--verbose``).
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pipeline.data.tags import Invalid, Scheme, TagError, convert
from pipeline.data.textio import utf8_lines
from pipeline.errors import DataError

DOCSTART = "-DOCSTART-"
MAX_SENTENCE_TOKENS = 1000  # CoNLL-2003's longest sentence has 124 tokens
SHOWN_REPAIRS = 5  # lines a repair warning names; --verbose logs every one
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sentence:
    """One sentence; ``path`` and ``line`` (1-based, first token) locate it for messages.

    ``doc`` numbers its document within the file (``-DOCSTART-`` lines start
    a new one; a file without them is one document).
    """

    words: list[str]
    tags: list[str]
    path: str
    line: int
    doc: int = 0

    def __post_init__(self) -> None:
        if len(self.words) != len(self.tags):
            raise ValueError(f"{self.path}:{self.line}: {len(self.words)} words but {len(self.tags)} tags")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)``, decoded as UTF-8, BOM and line ending removed."""
    for number, text in utf8_lines(path):
        yield number, text.rstrip("\r\n")


def _columns(path: Path, number: int, text: str, expected: tuple[int, int] | None) -> list[str]:
    """Split a token line and check its column count against ``expected``: (count, line) of the first token line."""
    columns = text.split()
    if expected is not None and len(columns) != expected[0]:
        count, first = expected
        message = f"expected {count} columns, found {len(columns)} (line {first} has {count})"
        raise DataError(path, number, message + _whitespace_hint(text))
    if len(columns) < 2:
        message = f"expected at least 2 columns (word and tag), found {len(columns)}"
        raise DataError(path, number, message + _whitespace_hint(text))
    return columns


def _whitespace_hint(text: str) -> str:
    """Explain a column miscount on a line mixing tabs and spaces, the usual cause.

    Columns are split on any whitespace, so a tab-separated file whose word
    contains a space (``New York<TAB>B-LOC``) gains a column.
    """
    if "\t" in text and " " in text.strip():
        return "; the line mixes tabs and spaces: columns are split on any whitespace, so no word may contain a space"
    return ""


def _sentence(path: Path, rows: list[tuple[int, str, str]], scheme: Scheme, target: Scheme, invalid: Invalid,
              doc: int, repaired: list[int]) -> Sentence:
    """Build a sentence from ``(line, word, tag)`` rows, converting its tags to ``target``; repairs go to ``repaired``."""
    numbers = [number for number, _, _ in rows]

    def warn(index: int, message: str) -> None:
        repaired.append(numbers[index])
        log.info("%s:%d: %s (repaired)", path, numbers[index], message)

    try:
        tags = convert([tag for _, _, tag in rows], scheme, target, invalid, warn)
    except TagError as err:
        raise DataError(path, numbers[err.index or 0], err.message) from None
    return Sentence([word for _, word, _ in rows], tags, str(path), numbers[0], doc)


def read_conll(
    path: str | Path,
    scheme: Scheme = "iob1",
    target: Scheme = "iob2",
    invalid: Invalid = "repair",
    max_tokens: int = MAX_SENTENCE_TOKENS,
) -> Iterator[Sentence]:
    """Yield the sentences of a CoNLL file, tags converted from ``scheme`` to ``target``.

    ``-DOCSTART-`` is recognised by its first column only: the first line of
    the real ``eng.train`` (``-DOCSTART- -X- OO O``) has a malformed third one.
    A file without a single sentence is an error, not an empty split that
    would only fail later, far from its cause.
    """
    path = Path(path)
    repaired: list[int] = []
    expected: tuple[int, int] | None = None
    rows: list[tuple[int, str, str]] = []
    found = False
    doc, doc_has_sentences = 0, False
    for number, text in _lines(path):
        docstart = text.strip() and text.split(maxsplit=1)[0] == DOCSTART
        if text.strip() and not docstart:
            columns = _columns(path, number, text, expected)
            expected = expected or (len(columns), number)
            rows.append((number, columns[0], columns[-1]))
            _check_length(path, rows, max_tokens)
            continue
        if rows:
            yield _sentence(path, rows, scheme, target, invalid, doc, repaired)
            rows, found, doc_has_sentences = [], True, True
        if docstart and doc_has_sentences:
            doc, doc_has_sentences = doc + 1, False
    if rows:
        yield _sentence(path, rows, scheme, target, invalid, doc, repaired)
    elif not found:
        raise DataError(path, None, "no sentences: the file is empty or holds only -DOCSTART- and blank lines")
    if repaired:
        warnings.warn(repair_summary(path, scheme, repaired))


def repair_summary(path: Path, scheme: Scheme, lines: list[int]) -> str:
    """``eng.train.gz: 2 IOB1 tags repaired (lines 152428, 175436)``: the count and the first few places."""
    shown = ", ".join(map(str, lines[:SHOWN_REPAIRS])) + (", ..." if len(lines) > SHOWN_REPAIRS else "")
    plural = "s" if len(lines) > 1 else ""
    return f"{path}: {len(lines)} {scheme.upper()} tag{plural} repaired (line{plural} {shown}; --verbose lists each)"


def _check_length(path: Path, rows: list[tuple[int, str, str]], max_tokens: int) -> None:
    """Stop at a sentence longer than ``max_tokens``: its blank separator lines are almost surely missing.

    Without this limit a file with no blank lines would be read whole into
    one sentence, breaking the reader's bounded memory.
    """
    if len(rows) > max_tokens:
        raise DataError(
            path,
            rows[-1][0],
            f"the sentence starting at line {rows[0][0]} has more than {max_tokens} tokens: "
            "are the blank lines between sentences missing?",
        )


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
