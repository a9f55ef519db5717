"""Streaming CoNLL reader and writer.

One token a line, columns separated by any whitespace (tabs or spaces), the
word first and the entity tag last by default (2 columns ``word tag`` or the
CoNLL-2003 layout ``word POS chunk NER``; ``word_column``/``tag_column``
pick others); blank (or whitespace-only) lines end sentences and
``-DOCSTART-`` lines end documents. A ``#`` line outside a sentence whose tag
column holds no valid tag is a comment (``# sent_id = 3``); ``# O`` there is
still a token. The tag scheme is detected from the tags unless named
(:func:`detect_file_scheme`, one extra streaming pass).

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

from pipeline.data.tags import (
    Detection,
    Invalid,
    Scheme,
    SchemeEvidence,
    SchemeOrAuto,
    TagError,
    convert,
    is_tag,
)
from pipeline.data.textio import utf8_lines
from pipeline.errors import DataError

DOCSTART = "-DOCSTART-"
MAX_SENTENCE_TOKENS = 1000  # CoNLL-2003's longest sentence has 124 tokens
SHOWN_REPAIRS = 5  # lines a repair warning names; --verbose logs every one
BLANK = "blank"  # what _token_rows yields for a sentence break (a blank line) ...
Row = tuple[int, str, str]  # ... and for a token line: (line number, word, tag)
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


def _check_columns(path: Path, number: int, text: str, columns: list[str], expected: tuple[int, int] | None,
                   word_column: int, tag_column: int) -> None:
    """Check a token line's columns: as many as the first token line (``expected``: its count and number), at
    least 2, and on that first line (the others have as many) ``word_column`` and ``tag_column`` in range."""
    if expected is not None and len(columns) != expected[0]:
        count, first = expected
        message = f"expected {count} columns, found {len(columns)} (line {first} has {count})"
        raise DataError(path, number, message + _whitespace_hint(text))
    if len(columns) < 2:
        message = f"expected at least 2 columns (word and tag), found {len(columns)}"
        raise DataError(path, number, message + _whitespace_hint(text))
    if expected is None:
        for name, index in (("word", word_column), ("tag", tag_column)):
            if not _in_range(index, columns):
                raise DataError(path, number, f"{name} column {index} is out of range: the line has "
                                              f"{len(columns)} columns")


def _in_range(index: int, columns: list[str]) -> bool:
    """Whether the Python index ``index`` (negative counts from the end) names one of ``columns``."""
    return -len(columns) <= index < len(columns)


def _is_comment(columns: list[str], tag_column: int) -> bool:
    """A ``#`` line (read outside a sentence) whose tag column is missing or holds no valid tag."""
    if not columns[0].startswith("#"):
        return False
    return not _in_range(tag_column, columns) or not is_tag(columns[tag_column])


def _token_rows(path: Path, word_column: int, tag_column: int) -> Iterator[Row | str]:
    """Each token line as a :data:`Row`, each blank line as :data:`BLANK`, each ``-DOCSTART-`` line as
    :data:`DOCSTART`; comment lines are skipped (see the module docstring).

    ``-DOCSTART-`` is recognised by its first column only: the first line of
    the real ``eng.train`` (``-DOCSTART- -X- OO O``) has a malformed third one.
    """
    expected: tuple[int, int] | None = None
    in_sentence = False
    for number, text in _lines(path):
        columns = text.split()
        if not columns or columns[0] == DOCSTART:
            in_sentence = False
            yield DOCSTART if columns else BLANK
            continue
        if not in_sentence and _is_comment(columns, tag_column):
            continue
        _check_columns(path, number, text, columns, expected, word_column, tag_column)
        expected = expected or (len(columns), number)
        in_sentence = True
        yield number, columns[word_column], columns[tag_column]


def _sentence_rows(path: Path, word_column: int, tag_column: int, max_tokens: int) -> Iterator[tuple[list[Row], int]]:
    """The rows of each sentence with its document number (``-DOCSTART-`` lines start the next).

    A file without a single sentence is an error, not an empty split that
    would only fail later, far from its cause.
    """
    rows: list[Row] = []
    found = False
    doc, doc_has_sentences = 0, False
    for item in _token_rows(path, word_column, tag_column):
        if isinstance(item, tuple):
            rows.append(item)
            _check_length(path, rows, max_tokens)
            continue
        if rows:
            yield rows, doc
            rows, found, doc_has_sentences = [], True, True
        if item == DOCSTART and doc_has_sentences:
            doc, doc_has_sentences = doc + 1, False
    if rows:
        yield rows, doc
    elif not found:
        raise DataError(path, None, "no sentences: the file is empty or holds only -DOCSTART- and blank lines")


def _whitespace_hint(text: str) -> str:
    """Explain a column miscount on a line mixing tabs and spaces, the usual cause.

    Columns are split on any whitespace, so a tab-separated file whose word
    contains a space (``New York<TAB>B-LOC``) gains a column.
    """
    if "\t" in text and " " in text.strip():
        return "; the line mixes tabs and spaces: columns are split on any whitespace, so no word may contain a space"
    return ""


def _tag_error(path: Path, rows: list[Row], err: TagError) -> DataError:
    """A :class:`TagError` in a sentence, as a :class:`DataError` naming its token's line."""
    return DataError(path, rows[err.index or 0][0], err.message)


def _sentence(path: Path, rows: list[Row], scheme: Scheme, target: Scheme, invalid: Invalid,
              doc: int, repaired: list[int]) -> Sentence:
    """Build a sentence from its rows, converting its tags to ``target``; repairs go to ``repaired``."""

    def warn(index: int, message: str) -> None:
        repaired.append(rows[index][0])
        log.info("%s:%d: %s (repaired)", path, rows[index][0], message)

    try:
        tags = convert([tag for _, _, tag in rows], scheme, target, invalid, warn)
    except TagError as err:
        raise _tag_error(path, rows, err) from None
    return Sentence([word for _, word, _ in rows], tags, str(path), rows[0][0], doc)


def detect_file_scheme(path: str | Path, tag_column: int = -1, word_column: int = 0,
                       max_tokens: int = MAX_SENTENCE_TOKENS) -> Detection:
    """The tag scheme of a CoNLL file, from one streaming pass over its tags (see :class:`SchemeEvidence`).

    The pass checks the file as :func:`read_conll` does, so a malformed line
    is reported here, with its ``file:line``, before any sentence is read.
    """
    path = Path(path)
    evidence = SchemeEvidence()
    for rows, _doc in _sentence_rows(path, word_column, tag_column, max_tokens):
        try:
            evidence.add([tag for _, _, tag in rows])
        except TagError as err:
            raise _tag_error(path, rows, err) from None
    return evidence.detection()


def read_conll(
    path: str | Path,
    scheme: SchemeOrAuto = "auto",
    target: Scheme = "iob2",
    invalid: Invalid = "repair",
    max_tokens: int = MAX_SENTENCE_TOKENS,
    word_column: int = 0,
    tag_column: int = -1,
) -> Iterator[Sentence]:
    """Yield the sentences of a CoNLL file, tags converted from ``scheme`` to ``target``.

    ``scheme="auto"`` first detects the file's scheme (:func:`detect_file_scheme`,
    logged at INFO); CoNLL-2003 as distributed is ``iob1``, which callers that
    know their data name. ``word_column`` and ``tag_column`` are Python
    indices into a line's columns.
    """
    path = Path(path)
    if scheme == "auto":
        detection = detect_file_scheme(path, tag_column, word_column, max_tokens)
        log.info("%s: tag scheme %s (detected: %s)", path, detection.scheme, detection.reason)
        scheme = detection.scheme
    repaired: list[int] = []
    for rows, doc in _sentence_rows(path, word_column, tag_column, max_tokens):
        yield _sentence(path, rows, scheme, target, invalid, doc, repaired)
    if repaired:
        warnings.warn(repair_summary(path, scheme, repaired))


def repair_summary(path: Path, scheme: Scheme, lines: list[int]) -> str:
    """``eng.train.gz: 2 IOB1 tags repaired (lines 152428, 175436)``: the count and the first few places."""
    shown = ", ".join(map(str, lines[:SHOWN_REPAIRS])) + (", ..." if len(lines) > SHOWN_REPAIRS else "")
    plural = "s" if len(lines) > 1 else ""
    return f"{path}: {len(lines)} {scheme.upper()} tag{plural} repaired (line{plural} {shown}; --verbose lists each)"


def _check_length(path: Path, rows: list[Row], max_tokens: int) -> None:
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
