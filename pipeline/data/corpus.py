"""Plain-text corpus reader for word2vec.

A corpus is one or more ``.txt``/``.gz`` files of pre-tokenized text, one
sentence a line. Files are streamed line by line, never loaded whole, because
a training corpus is routinely larger than memory.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from pipeline.errors import DataError, MissingDataError

CORPUS_SUFFIXES = (".txt", ".gz")


def iter_corpus_files(path: str | Path) -> list[Path]:
    """The corpus files a path names: the file itself, or a directory's ``.txt``/``.gz`` files, sorted.

    Sorting makes the corpus order, and so a seeded word2vec run, independent of the file system.
    """
    path = Path(path)
    if not path.exists():
        raise MissingDataError(path, "expected a .txt/.gz corpus file or a directory of them")
    if path.is_file():
        if path.suffix not in CORPUS_SUFFIXES:
            raise DataError(path, None, "a corpus file must end in .txt or .gz")
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in CORPUS_SUFFIXES)
    if not files:
        raise DataError(path, None, "no .txt or .gz corpus file in this directory")
    return files


def iter_lines(path: str | Path) -> Iterator[str]:
    """Stream the non-empty lines of every corpus file under ``path``, without their newline."""
    for file in iter_corpus_files(path):
        yield from _file_lines(file)


def _file_lines(file: Path) -> Iterator[str]:
    """Lines of one file; a binary or empty file is an error, since training on it is a silent mistake."""
    opener = gzip.open if file.suffix == ".gz" else open
    lineno, seen = 0, False
    try:
        with opener(file, "rb") as f:
            for lineno, raw in enumerate(f, start=1):
                line = _decode(file, lineno, raw)
                if line.strip():
                    seen = True
                    yield line
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise DataError(file, lineno + 1, f"corrupt gzip file: {e}") from None
    if not seen:
        raise DataError(file, None, "empty corpus file")


def _decode(file: Path, lineno: int, raw: bytes) -> str:
    """Decode one line as UTF-8; a NUL byte or bad UTF-8 means a binary file was passed by mistake."""
    if b"\0" in raw:
        raise DataError(file, lineno, "NUL byte: this looks like a binary file, not text")
    try:
        return raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as e:
        raise DataError(file, lineno, f"not UTF-8 text ({e.reason} at byte {e.start})") from None


class TokenCorpus:
    """Restartable iterable of token lists, as gensim wants (one pass per epoch plus the vocabulary pass).

    Lines are already tokenized, so a line is split on whitespace. ``transform`` (e.g.
    lowercasing or digit normalisation) is applied to the whole line before splitting: one
    C-level call per line instead of a Python call per token keeps gensim's worker threads
    fed. It must therefore leave whitespace alone, which holds for any per-character token
    normalisation.
    """

    def __init__(
        self,
        paths: str | Path | Iterable[str | Path],
        transform: Callable[[str], str] | None = None,
    ) -> None:
        if isinstance(paths, (str, Path)):
            paths = [paths]
        self.files = [file for path in paths for file in iter_corpus_files(path)]
        self.transform = transform

    def __iter__(self) -> Iterator[list[str]]:
        for file in self.files:
            for line in _file_lines(file):
                yield (self.transform(line) if self.transform else line).split()

    def count_tokens(self) -> int:
        """Total tokens in one pass, e.g. for gensim's ``total_words``."""
        return sum(len(tokens) for tokens in self)
