"""The one logging interface every trainer and evaluator writes to.

Trainers call ``log_params`` once, ``log_metrics(metrics, step)`` per epoch
and ``log_artifact`` for files; which back ends receive them (dvclive for
DVC plots, MLflow for the registry) is decided by the stage, not the trainer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from dvclive import Live


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


class DvcLiveLogger:
    """Per-epoch metrics as dvclive plots (``<dir>/plots/metrics/*.tsv``) for ``dvc plots``.

    dvclive's own ``dvc.yaml`` edits and experiment saving are off: the
    project's ``dvc.yaml`` declares the plots, and ``dvc exp run`` saves runs.
    """

    def __init__(self, directory: Path, resume: bool = False) -> None:
        self.live = Live(str(directory), resume=resume, save_dvc_exp=False, dvcyaml=False, report=None)

    def log_params(self, params: dict) -> None:
        self.live.log_params(params)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.live.step = step
        for name, value in metrics.items():
            self.live.log_metric(name, value)
        self.live.make_summary()

    def log_artifact(self, path: Path) -> None:
        """Artifacts are DVC outputs already; dvclive need not copy them."""

    def close(self) -> None:
        self.live.end()


class FanOutLogger:
    """Sends every call to several loggers (dvclive and MLflow side by side)."""

    def __init__(self, *loggers: MetricsLogger) -> None:
        self.loggers = loggers

    def log_params(self, params: dict) -> None:
        for logger in self.loggers:
            logger.log_params(params)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        for logger in self.loggers:
            logger.log_metrics(metrics, step)

    def log_artifact(self, path: Path) -> None:
        for logger in self.loggers:
            logger.log_artifact(path)

    def close(self) -> None:
        for logger in self.loggers:
            logger.close()
