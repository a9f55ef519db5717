"""``pipeline.embeddings.vector_file``: each format read back as written, and every bad file named by its line."""

from __future__ import annotations

import gzip
import pickle
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from conftest import keyed_vectors

from pipeline.embeddings import vector_file
from pipeline.embeddings.vector_file import read_vectors
from pipeline.errors import DataError

WORDS = ["the", "film", "Zürich", "naïve", "東京", "1996"]


def glove_text(kv) -> str:
    """``kv`` as GloVe writes it: no header, ``word v1 … vN`` a line."""
    return "".join(f"{w} {' '.join(repr(float(x)) for x in kv[w])}\n" for w in kv.index_to_key)


def write_format(path: Path, kv, fmt: str) -> Path:
    """``kv`` written to ``path`` in ``fmt`` (gensim writes the word2vec formats; GloVe is written by hand)."""
    if fmt == "glove":
        path.write_text(glove_text(kv), encoding="utf-8")
    else:
        kv.save_word2vec_format(str(path), binary=fmt == "word2vec-binary")
    return path


def gzipped(path: Path) -> Path:
    """A ``.gz`` copy of ``path``."""
    target = path.with_name(path.name + ".gz")
    target.write_bytes(gzip.compress(path.read_bytes()))
    return target


def assert_same(kv, expected) -> None:
    assert kv.index_to_key == expected.index_to_key
    np.testing.assert_allclose(kv.vectors, expected.vectors, rtol=1e-6)


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("fmt", ["word2vec-binary", "word2vec-text", "glove"])
def test_each_format_reads_back_as_written(tmp_path, fmt, compressed):
    expected = keyed_vectors(WORDS, dim=5, seed=3)
    path = write_format(tmp_path / "vectors", expected, fmt)
    kv, detected = read_vectors(gzipped(path) if compressed else path)
    assert detected == fmt
    assert_same(kv, expected)
    assert kv.vector_size == 5 and kv.get_vecattr("the", "count") == len(WORDS)  # made-up counts, most "frequent" first


def test_fasttext_vec_with_trailing_spaces_and_crlf(tmp_path):
    path = tmp_path / "cc.vec"
    path.write_bytes("2 3 \r\nParis 0.5 1 -1.5 \r\nZürich 0.25 -0.5 2 \r\n".encode())
    kv, detected = read_vectors(path)
    assert detected == "word2vec-text"
    assert kv.index_to_key == ["Paris", "Zürich"]
    np.testing.assert_array_equal(kv["Zürich"], np.array([0.25, -0.5, 2.0], dtype=np.float32))


def test_glove_words_with_spaces_and_byte_order_mark(tmp_path):
    """The last DIM fields are the vector and the rest is the word; a UTF-8 BOM is not part of the first word."""
    path = tmp_path / "glove.txt"
    path.write_bytes("\ufeff. . . 1 2\nname@domain.com 3 4\nat home 5 6\n".encode())
    kv, detected = read_vectors(path)
    assert detected == "glove"
    assert kv.index_to_key == [". . .", "name@domain.com", "at home"]
    np.testing.assert_array_equal(kv["at home"], np.array([5.0, 6.0], dtype=np.float32))


def test_glove_first_word_may_be_a_number(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("1996 1 2\nfilm 3 4\n", encoding="utf-8")
    kv, _ = read_vectors(path)
    assert kv.vector_size == 2 and kv.index_to_key == ["1996", "film"]


def test_rows_grow_past_the_first_allocation_and_binary_reads_across_chunks(tmp_path, monkeypatch):
    """Unknown counts (GloVe) grow the rows as they come; a binary record may straddle two reads."""
    monkeypatch.setattr(vector_file, "FIRST_ROWS", 2)
    monkeypatch.setattr(vector_file, "CHUNK", 7)
    expected = keyed_vectors([f"w{i}" for i in range(11)], dim=3, seed=1)
    for fmt in ("glove", "word2vec-binary"):
        kv, _ = read_vectors(gzipped(write_format(tmp_path / fmt, expected, fmt)))
        assert_same(kv, expected)


def test_the_forced_format_is_not_sniffed(tmp_path):
    """``word2vec.load`` fixes the format by suffix: a GloVe file is then a bad header, not GloVe."""
    path = tmp_path / "glove.txt"
    path.write_text("paris 0.5 1.0\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"glove\.txt:1: bad header 'paris 0\.5 1\.0'"):
        read_vectors(path, "word2vec-text")


HEADER = "3 2\n"
TEXT_CASES = {
    "too_few_values.txt": ("a 1 2\nb 3\nc 5 6\n", r":2: word 'b' has 1 values, line 1 has 2 \(read as GloVe"),
    "too_many_values.txt": ("a 1 2\nb 3 4 5\n", r":2: word 'b' has 3 values, line 1 has 2"),
    "header_too_few.vec": (HEADER + "a 1 2\nb 3.0000\nc 5 6\n", r":3: word 'b' has 1 values, the header \(line 1\) says"),
    "non_number.txt": ("a 1 2\nb 3 x4\n", r":2: word 'b': could not convert string to float: 'x4'"),
    "non_finite.txt": ("a 1 2\nb inf 4\n", r":2: word 'b' has a non-finite value"),
    "duplicate.txt": ("a 1 2\nb 3 4\n\na 5 6\n", r":4: word 'a' occurs twice \(first as vector 1\)"),
    "fewer_rows.vec": (HEADER + "a 1.0 2.0\nb 3.0 4.0\n", r":4: the file ends after 2 of the 3 vectors the header"),
    "more_rows.vec": (HEADER + "a 1 2\nb 3 4\nc 5 6\nd 7 8\n", r":5: more vectors than the 3 the header"),
    "no_word.txt": ("a 1 2\n 3 4\n", r":2: no word before the values"),
    "empty.vec": ("", r":1: the file is empty"),
    "blank.vec": ("\n", r":1: expected '<word> <v1> … <vN>' \(GloVe\) or a '<vector count> <dimension>' header"),
    "zero_dim.vec": ("3 0\na\n", r":1: bad header '3 0'"),
}


@pytest.mark.parametrize("name", TEXT_CASES)
def test_bad_text_file_names_the_line(tmp_path, name):
    text, message = TEXT_CASES[name]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=rf"^{path}{message}"):
        read_vectors(path)


def test_non_utf8_line_names_the_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"a 1 2\nna\xefve 3 4\n")
    with pytest.raises(DataError, match=rf"^{path}:2: not valid UTF-8"):
        read_vectors(path)


def test_a_pickle_is_refused_unread(tmp_path):
    """A gensim ``.model`` (a pickle) is binary without a word2vec header: named as such, and never unpickled."""
    path = tmp_path / "w2v.model"
    path.write_bytes(pickle.dumps({"not": "vectors"}, protocol=4))
    with pytest.raises(DataError, match=rf"^{path}:1: binary data without .* header.*Python pickle"):
        read_vectors(path)


def test_binary_with_the_wrong_dimension_names_the_vector(tmp_path):
    """Header says 3 but the records hold 2 floats: reading 3 a record, the data runs out at a vector it names."""
    record = b"".join(word + b" " + struct.pack("<2f", 1.0, 2.0) for word in (b"a", b"b", b"c"))
    path = tmp_path / "vectors.bin"
    path.write_bytes(b"2 3\n" + record)
    with pytest.raises(DataError, match=rf"^{path}: vector 2: the file ends inside vector 2 of 2: .* dimension is wrong"):
        read_vectors(path)


def test_gz_header_count_is_not_trusted_for_allocation(tmp_path):
    """A ``.gz`` size says nothing of its rows: a count of 10⁹ must fail at the end of the data, not allocate 12 GB."""
    path = tmp_path / "huge.vec.gz"
    path.write_bytes(gzip.compress(b"1000000000 3\na 1 2 3\nb 4 5 6\n"))
    tracemalloc.start()  # numpy reports its array memory to tracemalloc
    try:
        with pytest.raises(DataError, match=rf"^{path}:4: the file ends after 2 of the 1000000000 vectors"):
            read_vectors(path)
        assert tracemalloc.get_traced_memory()[1] < 50_000_000
    finally:
        tracemalloc.stop()


def test_corrupt_gzip_is_a_data_error(tmp_path):
    path = tmp_path / "vectors.vec.gz"
    path.write_bytes(gzip.compress(b"2 2\na 1 2\nb 3 4\n")[:-12])
    with pytest.raises(DataError, match=rf"^{path}: corrupt gzip file"):
        read_vectors(path)
