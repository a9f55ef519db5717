import shutil

import pytest

from pipeline.data.checksums import read_sums, verify
from pipeline.errors import ChecksumError, DataError, MissingDataError


def test_sample_verifies(sample_root):
    sums = read_sums(sample_root)
    assert len(sums) == 6
    for relative in sums:
        assert verify(sample_root, relative, sums).exists()


def test_corrupt_file_is_named(sample_root, tmp_path):
    shutil.copytree(sample_root, tmp_path / "data")
    target = tmp_path / "data" / "conll2003" / "eng.testb.gz"
    target.write_bytes(target.read_bytes()[:-10])
    with pytest.raises(ChecksumError, match="eng.testb.gz: checksum mismatch"):
        verify(tmp_path / "data", "conll2003/eng.testb.gz", read_sums(tmp_path / "data"))


def test_missing_file_and_missing_sums(sample_root, tmp_path):
    with pytest.raises(MissingDataError, match="SHA256SUMS"):
        read_sums(tmp_path)
    with pytest.raises(MissingDataError, match="nope.gz"):
        verify(sample_root, "nope.gz", {"nope.gz": "0" * 64})


def test_malformed_sums_line(tmp_path):
    (tmp_path / "SHA256SUMS").write_text("abc  file\n")
    with pytest.raises(DataError, match="SHA256SUMS:1"):
        read_sums(tmp_path)
