"""CoNLL reader/writer: the embedded CoNLL-2003 sample, malformed files, round trip."""

from __future__ import annotations

import gzip
import io
import re
import warnings
from pathlib import Path

import pytest
from conftest import SAMPLE

from pipeline.data.conll import Sentence, detect_file_scheme, read_conll, write_conll
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
    """With a named scheme a bad second sentence does not stop the first from being yielded; detecting the
    scheme reads every tag first, so there the error comes before any sentence."""
    path = _write(tmp_path, "EU I-ORG\n\nbad X-PER\n")
    sentences = read_conll(path, scheme="iob1")
    assert next(sentences).words == ["EU"]
    with pytest.raises(DataError):
        next(sentences)
    with pytest.raises(DataError, match=re.escape(f"{path}:3: invalid tag 'X-PER'")):
        next(read_conll(path))


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


def test_tab_separated_lowercase_hyphenated_types_and_whitespace_only_blank_lines(tmp_path: Path) -> None:
    """WNUT-style data: tabs, ``B-creative-work``, and a "blank" line holding a tab and spaces."""
    path = _write(tmp_path, "Saw\tO\nStar\tB-creative-work\nWars\tI-creative-work\n\t  \nin\tO\nRome\tB-location\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # detected as IOB2: nothing to repair
        sentences = list(read_conll(path))
    assert [s.words for s in sentences] == [["Saw", "Star", "Wars"], ["in", "Rome"]]
    assert sentences[0].tags == ["O", "B-creative-work", "I-creative-work"]
    assert sentences[1].line == 5
    assert next(read_conll(path, target="bioes")).tags == ["O", "B-creative-work", "E-creative-work"]


def test_word_and_tag_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, "1 EU B-ORG NNP\n2 rejects O VBZ\n")
    (sentence,) = read_conll(path, word_column=1, tag_column=2)
    assert (sentence.words, sentence.tags) == (["EU", "rejects"], ["B-ORG", "O"])
    (sentence,) = read_conll(path, word_column=-3, tag_column=-2)
    assert sentence.words == ["EU", "rejects"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"tag_column": 3}, "tag column 3 is out of range: the line has 2 columns"),
    ({"tag_column": -3}, "tag column -3 is out of range: the line has 2 columns"),
    ({"word_column": 2}, "word column 2 is out of range: the line has 2 columns"),
])
def test_column_out_of_range(tmp_path: Path, kwargs: dict, message: str) -> None:
    path = _write(tmp_path, "\nEU B-ORG\nrejects O\n")
    assert str(_error(path, scheme="iob2", **kwargs)) == f"{path}:2: {message}"
    with pytest.raises(DataError, match=re.escape(f"{path}:2: {message}")):
        detect_file_scheme(path, **kwargs)


def test_comment_lines_are_skipped_outside_sentences_only(tmp_path: Path) -> None:
    """``# sent_id = 1`` before a sentence is a comment; ``# O`` there is a token, and so is ``#`` inside one."""
    text = "# newdoc\n# sent_id = 1\nEU B-ORG\n# O\n\n# text = # comes first\n# O\nhere O\n"
    sentences = list(read_conll(_write(tmp_path, text)))
    assert [(s.words, s.line) for s in sentences] == [(["EU", "#"], 3), (["#", "here"], 7)]
    assert sentences[0].tags == ["B-ORG", "O"]


def test_comment_does_not_set_the_column_count(tmp_path: Path) -> None:
    path = _write(tmp_path, "# a comment of five columns\nEU NNP B-NP B-ORG\nrejects VBZ B-VP\n")
    assert f"{path}:3: expected 4 columns, found 3 (line 2 has 4)" in str(_error(path))


IOB1_FILE = "EU I-ORG\nrejects O\nGerman I-MISC\n\nPeter I-PER\nBlackburn I-PER\nBonn B-PER\n"
IOB2_FILE = "EU B-ORG\nrejects O\nGerman B-MISC\n\nPeter B-PER\nBlackburn I-PER\n"
BIOES_FILE = "EU S-ORG\nrejects O\n\nPeter B-PER\nBlackburn E-PER\n"


@pytest.mark.parametrize(("text", "scheme", "reason", "tags"), [
    (IOB1_FILE, "iob1", "IOB1: 3 entities start with I-, 0 with B-",
     [["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER", "B-PER"]]),
    (IOB2_FILE, "iob2", "IOB2: 3 entities start with B-, 0 with I-", [["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER"]]),
    (BIOES_FILE, "bioes", "BIOES: 2 tags with the S- or E- prefix", [["B-ORG", "O"], ["B-PER", "I-PER"]]),
])
def test_auto_detects_the_scheme_and_reads_with_it(tmp_path: Path, caplog, text: str, scheme: str, reason: str,
                                                    tags: list) -> None:
    path = _write(tmp_path, text)
    detection = detect_file_scheme(path)
    assert (detection.scheme, detection.reason) == (scheme, reason)
    with warnings.catch_warnings(), caplog.at_level("INFO", logger="pipeline.data.conll"):
        warnings.simplefilter("error")  # read in the right scheme, nothing is repaired
        assert [s.tags for s in read_conll(path)] == tags
    assert f"{path}: tag scheme {scheme} (detected: {reason})" in caplog.messages


def test_auto_on_the_conll2003_sample_is_iob1() -> None:
    assert detect_file_scheme(CONLL / "eng.train.gz").scheme == "iob1"


def test_auto_picks_the_majority_and_repairs_the_rest_once(tmp_path: Path) -> None:
    """Mostly IOB2 with two stray ``I-`` starts: read as IOB2, one warning counting both repairs with their lines."""
    path = _write(tmp_path, "EU B-ORG\n\nPeter B-PER\n\nBonn B-LOC\nsaid O\nMerkel I-PER\n\nParis I-LOC\n")
    assert detect_file_scheme(path).reason == "IOB2: 3 entities start with B-, 2 with I- (repaired)"
    with pytest.warns(UserWarning, match=re.escape(f"{path}: 2 IOB2 tags repaired (lines 7, 9;")) as caught:
        sentences = list(read_conll(path))
    assert len(caught) == 1
    assert [s.tags for s in sentences][-2:] == [["B-LOC", "O", "B-PER"], ["B-LOC"]]


def test_iob2_file_read_as_iob1_warns_once_with_count(tmp_path: Path) -> None:
    """The wrong explicit scheme still reads the same entities, with one summary warning naming the first lines."""
    path = _write(tmp_path, "".join(f"w{i} B-PER\nx O\n\n" for i in range(7)))
    with pytest.warns(UserWarning) as caught:
        sentences = list(read_conll(path, scheme="iob1"))
    assert [str(w.message) for w in caught] == [
        f"{path}: 7 IOB1 tags repaired (lines 1, 4, 7, 10, 13, ...; --verbose lists each)"]
    assert all(s.tags == ["B-PER", "O"] for s in sentences)


@pytest.mark.parametrize(("text", "args", "line", "tokens"), [
    (IOB1_FILE, [], "tag scheme iob1 (detected: IOB1: 3 entities start with I-, 0 with B-)", 6),
    (IOB2_FILE, ["--scheme", "iob2"], "tag scheme iob2 (as given)", 5),
])
def test_validate_conll_prints_the_scheme_it_used(tmp_path: Path, text: str, args: list[str], line: str,
                                                   tokens: int) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    path = _write(tmp_path, text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = CliRunner().invoke(app, ["validate-conll", str(path), *args])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"{path}: {line}", f"{path}: 2 sentences, {tokens} tokens"]
