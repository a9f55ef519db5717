"""User-facing errors, collected in one module.

Every error a user can cause (bad file, bad config, missing data) is a
:class:`PipelineError`. The CLI prints such an error as one line and exits
non-zero; anything else is a bug and keeps its traceback. Each message says
what is wrong *where* (file:line or config field) and, where it helps, the fix.
"""

from __future__ import annotations

from pathlib import Path


class PipelineError(Exception):
    """Base class for errors caused by user input, not by a bug."""


class DataError(PipelineError):
    """A data file is malformed: the message names ``file:line``."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class ConfigError(PipelineError):
    """A config value is unknown, of the wrong type or out of range: names the field."""

    def __init__(self, source: str | Path, field: str, message: str) -> None:
        self.source = str(source)
        self.field = field
        super().__init__(f"{self.source}: {field}: {message}")


class MissingDataError(PipelineError):
    """An input file or directory does not exist."""

    def __init__(self, path: str | Path, hint: str = "") -> None:
        self.path = str(path)
        message = f"{path}: not found"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class ChecksumError(PipelineError):
    """A data file's SHA-256 does not match ``SHA256SUMS``: the copy is corrupt."""

    def __init__(self, path: str | Path, expected: str, actual: str) -> None:
        self.path = str(path)
        super().__init__(
            f"{path}: checksum mismatch (expected {expected[:12]}…, got {actual[:12]}…); "
            "the file is corrupt or was changed: copy it again from the original distribution"
        )
