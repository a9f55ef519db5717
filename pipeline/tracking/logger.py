"""Back ends of :class:`~pipeline.training.logger.MetricsLogger`: dvclive, and several loggers side by side."""

from __future__ import annotations

from pathlib import Path

from dvclive import Live
from pipeline.training.logger import MetricsLogger


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
