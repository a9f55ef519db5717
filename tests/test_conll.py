"""CoNLL reader/writer: the embedded CoNLL-2003 sample, malformed files, round trip."""

from __future__ import annotations

import gzip
import io
import re
import warnings
from pathlib import Path

import pytest
from conftest import SAMPLE

from pipeline.data.conll import Sentence, read_conll, write_conll
from pipeline.errors import DataError, MissingDataError

CONLL = SAMPLE / "conll2003"


def _write(tmp_path: Path, text: str | bytes, name: str = "x.conll") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def _error(path: Path, **kwargs: str) -> DataError:
    with pytest.raises(DataError) as info:
        list(read_conll(path, **kwargs))
    return info.value


def test_eng_train_sample() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the real data needs no repair
        sentences = list(read_conll(CONLL / "eng.train.gz"))
    assert len(sentences) == 300
    first = sentences[0]
    assert " ".join(first.words) == "EU rejects German call to boycott British lamb ."
    assert first.tags == ["B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O"]
    assert first.line == 3  # line 1 is "-DOCSTART- -X- OO O", line 2 blank
    second = sentences[1]
    assert (second.words, second.tags, second.line) == (["Peter", "Blackburn"], ["B-PER", "I-PER"], 13)
    assert sentences[2].line == 16
    assert first.path.endswith("eng.train.gz")
    assert all(len(s.words) == len(s.tags) > 0 for s in sentences)
    assert not any(s.words[0] == "-DOCSTART-" for s in sentences)


def test_eng_testa_sample() -> None:
    sentences = list(read_conll(CONLL / "eng.testa.gz", invalid="reject"))
    assert len(sentences) == 100
    assert sentences[0].words[:3] == ["CRICKET", "-", "LEICESTERSHIRE"]
    assert sentences[0].tags[:3] == ["O", "O", "B-ORG"]


def test_sample_to_bioes() -> None:
    first = next(read_conll(CONLL / "eng.train.gz", target="bioes"))
    assert first.tags == ["S-ORG", "O", "S-MISC", "O", "O", "O", "S-MISC", "O", "O"]


def test_reader_is_lazy(tmp_path: Path) -> None:
    """A bad second sentence does not stop the first from being yielded."""
    path = _write(tmp_path, "EU I-ORG\n\nbad X-PER\n")
    sentences = read_conll(path)
    assert next(sentences).words == ["EU"]
    with pytest.raises(DataError):
        next(sentences)


def test_wrong_column_count(tmp_path: Path) -> None:
    path = _write(tmp_path, "-DOCSTART- -X- O O\n\nEU NNP I-NP I-ORG\nrejects VBZ O\n")
    err = _error(path)
    assert f"{path}:4: expected 4 columns, found 3" in str(err)
    assert err.line == 4


def test_single_column_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "EU\n")
    assert f"{path}:1: expected at least 2 columns" in str(_error(path))


@pytest.mark.parametrize("tag", ["X-PER", "B-", "BPER"])
def test_invalid_tag(tmp_path: Path, tag: str) -> None:
    path = _write(tmp_path, f"a O\n\nb O\nc {tag}\n")
    assert f"{path}:4: " in str(_error(path))


def test_non_utf8_bytes(tmp_path: Path) -> None:
    path = _write(tmp_path, b"a O\nb O\n\nM\xfcller I-PER\n")
    err = _error(path)
    assert f"{path}:4: not valid UTF-8" in str(err)


def test_bom_crlf_and_no_trailing_newline(tmp_path: Path) -> None:
    path = _write(tmp_path, "\ufeffEU I-ORG\r\nrejects O\r\n\r\nPeter I-PER\r\nBlackburn I-PER")
    sentences = list(read_conll(path))
    assert [s.words for s in sentences] == [["EU", "rejects"], ["Peter", "Blackburn"]]
    assert [s.tags for s in sentences] == [["B-ORG", "O"], ["B-PER", "I-PER"]]
    assert [s.line for s in sentences] == [1, 4]


def test_two_columns_multiple_blank_lines_and_docstart_inside(tmp_path: Path) -> None:
    path = _write(tmp_path, "\n\n-DOCSTART- O\n\nEU I-ORG\n\n\n\nPeter I-PER\n-DOCSTART- O\nBonn I-LOC\n\n")
    sentences = list(read_conll(path))
    assert [(s.words, s.line) for s in sentences] == [(["EU"], 5), (["Peter"], 9), (["Bonn"], 11)]


def test_bioes_input(tmp_path: Path) -> None:
    path = _write(tmp_path, "Peter B-PER\nBlackburn E-PER\nin O\nBonn S-LOC\n")
    (sentence,) = read_conll(path, scheme="bioes", target="iob1")
    assert sentence.tags == ["I-PER", "I-PER", "O", "I-LOC"]


def test_iob2_repair_warns_with_file_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "a O\nb O\nPeter I-PER\n")
    with pytest.warns(UserWarning, match=re.escape(f"{path}: 1 IOB2 tag repaired (line 3;")):
        (sentence,) = read_conll(path, scheme="iob2")
    assert sentence.tags == ["O", "O", "B-PER"]
    assert f"{path}:3: " in str(_error(path, scheme="iob2", invalid="reject"))


def test_bioes_unclosed_at_end_names_last_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "a O\nPeter B-PER\nBlackburn I-PER\n")
    assert f"{path}:3: " in str(_error(path, scheme="bioes", invalid="reject"))


def test_missing_and_corrupt_gzip(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError):
        list(read_conll(tmp_path / "nope.conll"))
    path = _write(tmp_path, b"not gzip at all\n", "bad.conll.gz")
    assert "corrupt gzip" in str(_error(path))


def test_gzip_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "x.conll.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write("Müller I-PER\n")
    (sentence,) = read_conll(path)
    assert sentence.words == ["Müller"] and sentence.tags == ["B-PER"]


@pytest.mark.parametrize("scheme", ["iob1", "iob2", "bioes"])
@pytest.mark.parametrize("name", ["out.conll", "out.conll.gz"])
def test_write_read_round_trip(tmp_path: Path, scheme: str, name: str) -> None:
    sentences = list(read_conll(CONLL / "eng.train.gz"))
    path = tmp_path / name
    write_conll(sentences, path, scheme=scheme)
    back = list(read_conll(path, scheme=scheme, target="iob2", invalid="reject"))
    assert [(s.words, s.tags) for s in back] == [(s.words, s.tags) for s in sentences]


def test_write_to_stream() -> None:
    stream = io.StringIO()
    sentences = [Sentence(["Peter", "Blackburn"], ["B-PER", "I-PER"], "mem", 1), Sentence(["x"], ["O"], "mem", 4)]
    write_conll(sentences, stream, scheme="bioes")
    assert stream.getvalue() == "Peter B-PER\nBlackburn E-PER\n\nx O\n\n"


def test_write_rejects_word_with_space() -> None:
    with pytest.raises(ValueError, match="whitespace"):
        write_conll([Sentence(["New York"], ["B-LOC"], "mem", 1)], io.StringIO())


def test_sentence_length_mismatch() -> None:
    with pytest.raises(ValueError, match="1 words but 2 tags"):
        Sentence(["a"], ["O", "O"], "mem", 1)


def test_documents_are_numbered_from_docstart_lines(tmp_path: Path) -> None:
    """Sentences before the first -DOCSTART- are document 0; each later -DOCSTART- with text after it starts the next."""
    path = _write(tmp_path, "EU I-ORG\n\n-DOCSTART- O\n\n-DOCSTART- O\nPeter I-PER\n\nBonn I-LOC\n-DOCSTART- O\nRome I-LOC\n")
    assert [(s.words, s.doc) for s in read_conll(path)] == [(["EU"], 0), (["Peter"], 1), (["Bonn"], 1), (["Rome"], 2)]


def test_eng_testb_sample_documents() -> None:
    sentences = list(read_conll(CONLL / "eng.testb.gz"))
    docs = [s.doc for s in sentences]
    assert docs == sorted(docs) and docs[0] == 0 and len(set(docs)) > 1
