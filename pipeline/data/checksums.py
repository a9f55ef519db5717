"""Verify data files against a ``SHA256SUMS`` file (``sha256sum -c`` format)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.errors import ChecksumError, DataError, MissingDataError

SUMS_FILE = "SHA256SUMS"
CHUNK = 1 << 20


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, streamed in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_sums(root: Path) -> dict[str, str]:
    """Map of relative path -> expected digest from ``root/SHA256SUMS``."""
    sums_path = root / SUMS_FILE
    if not sums_path.exists():
        raise MissingDataError(sums_path, "the data root must hold a SHA256SUMS file; set data.full_root or $PIPELINE_DATA")
    sums = {}
    for number, line in enumerate(sums_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DataError(sums_path, number, "expected '<64 hex digits>  <relative path>'")
        sums[parts[1].lstrip("*")] = parts[0]
    return sums


def verify(root: Path, relative: str, sums: dict[str, str]) -> Path:
    """The path of ``relative`` under ``root`` after checking it exists and matches its digest."""
    path = root / relative
    if not path.exists():
        raise MissingDataError(path, f"expected under the data root {root}; set data.full_root or $PIPELINE_DATA")
    if relative not in sums:
        raise DataError(root / SUMS_FILE, None, f"no checksum listed for {relative}")
    actual = sha256(path)
    if actual != sums[relative]:
        raise ChecksumError(path, sums[relative], actual)
    return path
