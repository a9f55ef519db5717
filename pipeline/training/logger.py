"""The one logging interface every trainer and evaluator writes to.

Trainers call ``log_params`` once, ``log_metrics(metrics, step)`` per epoch
and ``log_artifact`` for files; which back ends receive them (dvclive for
DVC plots, MLflow for the registry, in :mod:`pipeline.tracking`) is decided
by the stage, not the trainer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class MetricsLogger(Protocol):
    """What a trainer may log; implementations must not drop anything silently."""

    def log_params(self, params: dict) -> None: ...

    def log_metrics(self, metrics: dict[str, float], step: int) -> None: ...

    def log_artifact(self, path: Path) -> None: ...

    def close(self) -> None: ...


class NullLogger:
    """Logs nothing: for tests and library use without tracking."""

    def log_params(self, params: dict) -> None:
        pass

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        pass

    def log_artifact(self, path: Path) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> NullLogger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
