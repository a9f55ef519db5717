"""The input files a ``data`` section names: globs and folders expanded, checked against ``SHA256SUMS``, hashed.

Every input's SHA-256 is recorded (``sources.json``, and tags on every
tracked run); where the data root holds a ``SHA256SUMS`` file, each input must
be listed there and match it.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path

from pipeline.data.checksums import SUMS_FILE, read_sums, sha256, verify
from pipeline.errors import DataError, MissingDataError

CORPUS_SUFFIXES = (".txt", ".gz", ".jsonl")
_GLOB = set("*?[")


def expand(root: Path, name: str, suffixes: tuple[str, ...] = CORPUS_SUFFIXES) -> list[Path]:
    """The files ``name`` stands for under ``root``: itself, a folder's files ending in ``suffixes``, or a glob's
    matches, sorted so the order (and a seeded run) does not depend on the file system."""
    path = root / name
    if _GLOB & set(name):
        found = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
    elif path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(suffixes))
    elif path.exists():
        return [path]
    else:
        raise MissingDataError(path, "check the path in params.yaml's data section (relative to data.root)")
    if not found:
        raise DataError(path, None, f"no file matches (a folder or glob needs files ending in {', '.join(suffixes)})")
    return found


def files_in(path: Path) -> list[Path]:
    """A file, or every file under a directory (an aclImdb split), for hashing."""
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def key_of(root: Path, path: Path) -> str:
    """How ``sources.json`` and ``SHA256SUMS`` name a file: its path under the root, else its absolute path."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path.resolve())


def checksums(root: Path, files: Iterable[Path], check: bool) -> dict[str, str]:
    """``{key: sha256}`` of ``files`` (see :func:`files_in`); verified against ``root/SHA256SUMS`` when ``check`` and the
    file exists (an input it does not list is an error: a checksum file that covers only some inputs proves nothing)."""
    sums = read_sums(root) if check and (root / SUMS_FILE).exists() else None
    found = {}
    for path in files:
        key = key_of(root, path)
        if sums is not None:
            verify(root, key, sums)
            found[key] = sums[key]
        else:
            found[key] = sha256(path)
    return found
