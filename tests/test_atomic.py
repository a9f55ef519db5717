"""Atomic writes under crashes: the target is the old file, the whole new file, or absent; never a partial one.

``tests/test_training_infra.py`` already checks that an exception inside
``atomic_open`` keeps an existing target and leaves no temporary file; these
tests cover the rest: a target that did not exist, ``write_with`` (a
library's save function writing the temporary path), the project's writers
that go through it, and a process killed with SIGKILL in the middle of a
large write, which no ``finally`` can clean up after.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import keyed_vectors
from gensim.models import KeyedVectors
from process_util import sigkill_and_reap

from pipeline.atomic import FILE_MODE, atomic_open, write_json, write_with
from pipeline.embeddings import word2vec

CHUNK = b"0123456789abcdef" * 65536  # 1 MiB
CHUNKS = 64  # a 64 MiB file
TIMEOUT_S = 120.0
WRITER = """
import sys
from pathlib import Path
from pipeline.atomic import atomic_open, write_with

target, how, marker = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
chunk = b"0123456789abcdef" * 65536

def write(fh):
    for number in range({chunks}):
        fh.write(chunk)
        if number == {chunks} // 2:  # half written: tell the parent, then wait to be killed
            fh.flush()
            marker.write_text("half")
            sys.stdin.read()
            raise SystemExit(3)  # stdin closed without a kill: the parent is gone

if how == "atomic_open":
    with atomic_open(target, "wb") as fh:
        write(fh)
else:
    def save(tmp):
        with open(tmp, "wb") as fh:
            write(fh)
    write_with(target, save)
""".format(chunks=CHUNKS)


def temp_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("existed", [True, False])
def test_exception_in_write_with_keeps_old_target_or_none(tmp_path, existed):
    """A library save function that fails after writing part of its file publishes nothing and leaves no temp file."""
    target = tmp_path / "vectors.bin"
    if existed:
        target.write_bytes(b"old")

    def save(tmp: Path) -> None:
        tmp.write_bytes(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_with(target, save)
    assert (target.read_bytes() if target.exists() else None) == (b"old" if existed else None)
    assert temp_files(tmp_path) == []


def test_exception_in_atomic_open_without_old_target_leaves_nothing(tmp_path):
    """With no previous file, a failed write leaves no target at all (an empty or partial one would load)."""
    target = tmp_path / "sub" / "metrics.json"
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(target) as fh:
            fh.write('{"f1": ')
            raise KeyboardInterrupt  # not an Exception: the cleanup must not depend on the error's type
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_success_replaces_whole_file_with_shared_mode(tmp_path):
    """A completed write replaces the old file entirely and gets the ordinary 0644 mode, not mkstemp's 0600."""
    target = tmp_path / "metrics.json"
    target.write_text("x" * 1000)
    write_json(target, {"f1": 0.5})
    assert json.loads(target.read_text()) == {"f1": 0.5}
    assert target.stat().st_mode & 0o777 == FILE_MODE and temp_files(tmp_path) == []


def test_word2vec_save_failure_keeps_previous_vectors(tmp_path, monkeypatch):
    """The word2vec stage's writer goes through ``pipeline.atomic``: a crash while saving new vectors keeps the old ones."""
    def vectors(seed: int) -> KeyedVectors:
        kv = keyed_vectors(["a", "b"], dim=4, seed=seed)
        for word in ("a", "b"):
            kv.set_vecattr(word, "count", 1)
        return kv

    word2vec.save(vectors(0), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def crash(self, path, **kwargs):
        Path(path).write_bytes(b"half a vector file")
        raise OSError("killed")

    monkeypatch.setattr(KeyedVectors, "save_word2vec_format", crash)
    with pytest.raises(OSError, match="killed"):
        word2vec.save(vectors(1), tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("how", ["atomic_open", "write_with"])
@pytest.mark.parametrize("existed", [True, False])
def test_sigkill_mid_write_leaves_old_target_or_none(tmp_path, how, existed):
    """SIGKILL halfway through a 64 MiB write: the target is untouched (or still absent); only a hidden
    ``.<name>.*.tmp`` remains, which no reader opens, holding the partial data."""
    target, marker = tmp_path / "big.bin", tmp_path / "marker"
    old = b"old content\n" * 1000
    if existed:
        target.write_bytes(old)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target), how, str(marker)],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the writer never got halfway"
            time.sleep(0.02)
    finally:
        sigkill_and_reap(proc, TIMEOUT_S)
    assert (target.read_bytes() if target.exists() else None) == (old if existed else None)
    leftovers = temp_files(tmp_path)
    assert len(leftovers) == 1 and leftovers[0].startswith(".big.bin.")
    partial = (tmp_path / leftovers[0]).stat().st_size
    assert 0 < partial < len(CHUNK) * CHUNKS


def test_completed_large_write_is_byte_exact(tmp_path):
    """The same 64 MiB write, not interrupted, publishes every byte (the fsync-then-replace path)."""
    target = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with atomic_open(target, "wb") as fh:
        for _ in range(CHUNKS):
            fh.write(CHUNK)
            digest.update(CHUNK)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == digest.hexdigest()
    assert os.path.getsize(target) == len(CHUNK) * CHUNKS and temp_files(tmp_path) == []
