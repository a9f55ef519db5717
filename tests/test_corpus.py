"""Plain-text corpus reader: file kinds, restartable iteration and bad inputs."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from pipeline.data.corpus import TokenCorpus, iter_corpus_files, iter_lines
from pipeline.errors import DataError, MissingDataError


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("The cat sat\n\nOn 2 mats\r\n")
    (root / "sub" / "b.gz").write_bytes(gzip.compress("Dogs run 10 km\n".encode()))
    (root / "README.md").write_text("not a corpus file\n")
    return root


def test_txt_file(corpus_dir: Path) -> None:
    assert list(iter_lines(corpus_dir / "a.txt")) == ["The cat sat", "On 2 mats"]


def test_gz_file(corpus_dir: Path) -> None:
    assert list(iter_lines(corpus_dir / "sub" / "b.gz")) == ["Dogs run 10 km"]


def test_directory(corpus_dir: Path) -> None:
    assert iter_corpus_files(corpus_dir) == [corpus_dir / "a.txt", corpus_dir / "sub" / "b.gz"]
    assert list(iter_lines(corpus_dir)) == ["The cat sat", "On 2 mats", "Dogs run 10 km"]


def test_restartable(corpus_dir: Path) -> None:
    corpus = TokenCorpus(corpus_dir)
    first = list(corpus)
    assert first == [["The", "cat", "sat"], ["On", "2", "mats"], ["Dogs", "run", "10", "km"]]
    assert list(corpus) == first
    assert corpus.count_tokens() == 10


def test_transform_and_several_paths(corpus_dir: Path) -> None:
    corpus = TokenCorpus([corpus_dir / "a.txt", corpus_dir / "sub"], transform=str.lower)
    assert list(corpus) == [["the", "cat", "sat"], ["on", "2", "mats"], ["dogs", "run", "10", "km"]]


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "model.txt"
    path.write_bytes(b"fine line\n\x00\x01\x02binary\n")
    with pytest.raises(DataError, match=r"model\.txt:2: NUL byte"):
        list(iter_lines(path))


def test_undecodable_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("ok\ncaf\u00e9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1\.txt:2: not UTF-8"):
        list(TokenCorpus(path))


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"empty\.txt: empty corpus file"):
        list(iter_lines(path))


def test_corrupt_gz(tmp_path: Path) -> None:
    path = tmp_path / "broken.gz"
    path.write_bytes(b"plain text, not gzip\n")
    with pytest.raises(DataError, match=r"broken\.gz:1: corrupt gzip"):
        list(iter_lines(path))


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match="nope: not found"):
        iter_corpus_files(tmp_path / "nope")
    with pytest.raises(MissingDataError):
        TokenCorpus(tmp_path / "nope")


def test_directory_without_corpus_files(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("x\n")
    with pytest.raises(DataError, match="no .txt or .gz corpus file"):
        iter_corpus_files(tmp_path)


def test_file_with_other_suffix(tmp_path: Path) -> None:
    path = tmp_path / "corpus.csv"
    path.write_text("a b\n")
    with pytest.raises(DataError, match="must end in .txt or .gz"):
        iter_corpus_files(path)
