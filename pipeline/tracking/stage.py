"""Tracking for a DVC stage: one context manager that every training and evaluation stage uses.

It opens the MLflow run (``tracking`` section of params.yaml decides whether
an unreachable server is an error), tags it with the SHA-256 of the raw data
files the ``prepare`` stage read, and, for training stages, fans per-epoch
metrics out to dvclive (``dvc plots``) and MLflow alike, so the two never
disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlflow.entities.model_registry import ModelVersion

from pipeline import paths
from pipeline.atomic import write_json
from pipeline.config import load_section
from pipeline.tracking.logger import DvcLiveLogger, FanOutLogger
from pipeline.tracking.mlflow_logger import TrackingConfig, start_tracking
from pipeline.tracking.registry import promote
from pipeline.training.logger import MetricsLogger


@dataclass
class StageRun:
    """``tracker`` is the MLflow run (for params, test metrics, artifacts, registration);
    ``epochs`` receives per-epoch metrics (MLflow and, for training stages, dvclive)."""

    tracker: MetricsLogger
    epochs: MetricsLogger


def data_checksums() -> dict[str, str]:
    """``{relative path: sha256}`` of the raw files behind the prepared splits."""
    if not paths.SOURCES.exists():
        return {}
    return json.loads(paths.SOURCES.read_text(encoding="utf-8"))


def promote_if_better(version: ModelVersion | None, metric: str) -> None:
    """Offer a newly registered version as challenger: ``champion`` moves only if it beats the current one on
    ``metric`` (a dev-set metric: the test split never chooses anything). ``version`` is None when tracking is off."""
    if version is not None:
        print(f"{version.name}: {promote(version.name, version.version, metric).reason}")


@contextmanager
def stage_run(experiment: str, stage: str, live_dir: Path | None = None, resume: bool = False) -> Iterator[StageRun]:
    """An MLflow run for ``stage`` (marked FAILED if the block raises), plus dvclive when ``live_dir`` is given."""
    cfg = load_section(TrackingConfig, "tracking")
    with start_tracking(experiment, stage, cfg, data_checksums=data_checksums()) as tracker:
        if live_dir is None:
            yield StageRun(tracker, tracker)
            return
        live = DvcLiveLogger(live_dir, resume=resume)
        try:
            yield StageRun(tracker, FanOutLogger(live, tracker))
        finally:
            live.close()


def publish_results(experiment: str, stage: str, metrics_file: Path, metrics: dict, *, params: dict | None = None,
                    artifacts: Iterable[Path] = (), register: Callable[[MetricsLogger], ModelVersion | None] | None = None,
                    monitor: str = "") -> None:
    """The tail every evaluating stage shares: write ``metrics_file``, then one MLflow run with the params, the
    metrics and the ``artifacts``; ``register`` logs the model version that is then offered as champion on
    ``monitor``."""
    write_json(metrics_file, metrics)
    with stage_run(experiment, stage) as tracked:
        if params is not None:
            tracked.tracker.log_params(params)
        tracked.tracker.log_metrics(metrics, step=0)
        for path in artifacts:
            tracked.tracker.log_artifact(path)
        if register is not None:
            promote_if_better(register(tracked.tracker), monitor)
