"""MLflow back end of :class:`~pipeline.tracking.logger.MetricsLogger`: one MLflow run per DVC stage run.

Where runs go: ``$MLFLOW_TRACKING_URI`` when set, else a SQLite file
``mlflow.db`` in the project root with artifacts under ``mlruns/`` (both
git-ignored). The project root is ``$DVC_ROOT`` when DVC runs the stage:
queued experiments (``dvc exp run --queue``) execute in a temporary copy,
and their runs must still land in the project's database, not the copy's.

A remote server that cannot be reached fails the stage before training
starts (:class:`TrackingUnavailableError`), because a run whose metrics are
lost cannot be compared or registered later. ``tracking.required: false``
in params.yaml or ``PIPELINE_MLFLOW_OPTIONAL=1`` turns that into a warning
saying that this run is not tracked, and the stage continues untracked.

Stages may run at the same time against one SQLite store (``dvc queue start
-j 2``): the steps that race there run under :func:`store_lock`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import mlflow
from mlflow.entities import RunStatus

from pipeline.config import Section
from pipeline.errors import MissingDataError, PipelineError
from pipeline.training.logger import MetricsLogger, NullLogger

OPTIONAL_ENV = "PIPELINE_MLFLOW_OPTIONAL"
DB_FILE = "mlflow.db"
ARTIFACTS_DIR = "mlruns"
PROBE_TIMEOUT_S = 3.0


class TrackingConfig(Section):
    """The ``tracking`` section of params.yaml."""

    required: bool = True  # False: an unreachable tracking server only warns, and the run is not tracked


class TrackingUnavailableError(PipelineError):
    """The MLflow tracking server does not answer: names the URI and the ways out."""

    def __init__(self, uri: str, reason: str) -> None:
        self.uri = uri
        super().__init__(
            f"MLflow tracking server {uri} is unreachable ({reason}); start it, fix or unset "
            f"MLFLOW_TRACKING_URI (unset: a local {DB_FILE} is used), or set tracking.required: false "
            f"in params.yaml / {OPTIONAL_ENV}=1 to train without tracking"
        )


class TrackingDisabledWarning(UserWarning):
    """Tracking was allowed to fail: this run records nothing in MLflow."""


def project_root() -> Path:
    """``$DVC_ROOT`` (the real repository, even for queued experiments run in a temporary copy), else the cwd."""
    return Path(os.environ.get("DVC_ROOT", ".")).resolve()


def local_store_uri() -> str:
    """The project's own SQLite file."""
    return f"sqlite:///{project_root() / DB_FILE}"


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI``, else the project's SQLite file."""
    return os.environ.get("MLFLOW_TRACKING_URI") or local_store_uri()


def default_artifact_location() -> str | None:
    """``<root>/mlruns`` for the project's own SQLite store; ``None`` lets a server or a team store choose.

    Decided by the URI, not by whether ``$MLFLOW_TRACKING_URI`` is set: MLflow 3's
    ``set_tracking_uri`` exports that variable itself, after which the store's
    own default (``./mlruns`` of the working directory: a queued experiment's
    temporary copy, deleted when it ends) would silently take over.
    """
    if tracking_uri() != local_store_uri():
        return None
    return (project_root() / ARTIFACTS_DIR).as_uri()


@contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Hold an exclusive lock, across processes, on the local SQLite store ``uri`` (no-op for other stores).

    Two processes opening a fresh ``mlflow.db`` together both create its tables
    (MLflow's SQL store does so unlocked), and the second fails with ``table ...
    already exists``; two creating the same experiment, or reading then moving
    the champion alias, race the same way. The lock is a file in the temporary
    directory, named after the store: never the database file itself, since
    closing any descriptor of it would drop SQLite's own POSIX locks.
    """
    if not uri.startswith("sqlite:") or os.name == "nt":
        yield
        return
    import fcntl

    name = hashlib.sha256(uri.encode("utf-8")).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"w2v-pipeline-mlflow-{name}.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def probe(uri: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Raise :class:`TrackingUnavailableError` unless an http(s) server answers at ``uri``.

    MLflow's own client retries a dead server for minutes before failing, so
    one short request to ``/health`` decides first. Any HTTP answer (even an
    error status from a proxy) proves the server is up; other URI schemes
    (SQLite, PostgreSQL) are opened directly and fail on their own.
    """
    if not uri.startswith(("http://", "https://")):
        return
    try:
        urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout).close()
    except urllib.error.HTTPError:
        return
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingUnavailableError(uri, str(reason)) from None


def tracking_optional(cfg: TrackingConfig) -> bool:
    """Whether an unreachable server may be skipped: the config or ``PIPELINE_MLFLOW_OPTIONAL=1`` allows it."""
    return not cfg.required or os.environ.get(OPTIONAL_ENV) == "1"


def flatten(params: Mapping, prefix: str = "") -> dict[str, object]:
    """Nested config → ``{"model.encoder": "lstm", ...}``: MLflow params are flat, and dotted keys read like params.yaml."""
    flat: dict[str, object] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat |= flatten(value, f"{name}.")
        else:
            flat[name] = value
    return flat


def git_commit(cwd: Path) -> str:
    """The checked-out commit, with ``-dirty`` when tracked files differ: a run must say which code produced it."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        return commit + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def run_tags(stage: str, data_checksums: Mapping[str, str]) -> dict[str, str]:
    """Tags that tie a run to its code, its DVC stage (and experiment) and the exact data it read."""
    tags = {
        "git.commit": git_commit(Path.cwd()),
        "dvc.stage": os.environ.get("DVC_STAGE", stage),
        **{f"data.sha256.{name}": digest for name, digest in data_checksums.items()},
    }
    if "DVC_EXP_NAME" in os.environ:
        tags["dvc.exp_name"] = os.environ["DVC_EXP_NAME"]
    return tags


class MlflowLogger:
    """One MLflow run, active from construction to :meth:`close`.

    The run is MLflow's *active* run, so :mod:`pipeline.tracking.pyfunc_models`
    logs and registers models into it. Use it as a context manager to mark
    the run FAILED when the stage raises.
    """

    def __init__(self, experiment: str, stage: str, data_checksums: Mapping[str, str] | None = None) -> None:
        uri = tracking_uri()
        probe(uri)
        mlflow.set_tracking_uri(uri)
        with store_lock(uri):  # the first store access creates a fresh database's tables; then the experiment
            self.experiment_id = self._experiment_id(experiment, default_artifact_location())
        tags = run_tags(stage, data_checksums or {})
        self.run_id = mlflow.start_run(experiment_id=self.experiment_id, run_name=tags["dvc.stage"], tags=tags).info.run_id

    @staticmethod
    def _experiment_id(name: str, artifact_location: str | None) -> str:
        """The experiment's id, created with the project's artifact root on first use."""
        existing = mlflow.get_experiment_by_name(name)
        if existing is not None:
            return existing.experiment_id
        return mlflow.create_experiment(name, artifact_location=artifact_location)

    def log_params(self, params: dict) -> None:
        mlflow.log_params(flatten(params))

    def log_metrics(self, metrics: dict, step: int) -> None:
        """Nested metrics (per-type F1) are logged under dotted names, e.g. ``test_per_type.PER.f1``."""
        mlflow.log_metrics({name: float(value) for name, value in flatten(metrics).items()}, step=step)

    def log_artifact(self, path: Path) -> None:
        """A file, or a directory (the model, the spaCy pipeline) under its own name."""
        path = Path(path)
        if not path.exists():
            raise MissingDataError(path, "cannot log a missing artifact to MLflow")
        if path.is_dir():
            mlflow.log_artifacts(str(path), artifact_path=path.name)
        else:
            mlflow.log_artifact(str(path))

    def close(self, status: str = RunStatus.to_string(RunStatus.FINISHED)) -> None:
        """End the run (idempotent: a stage may close in ``finally`` after the context manager did)."""
        active = mlflow.active_run()
        if active is not None and active.info.run_id == self.run_id:
            mlflow.end_run(status)

    def __enter__(self) -> MlflowLogger:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close(RunStatus.to_string(RunStatus.FAILED if exc_type else RunStatus.FINISHED))


def start_tracking(
    experiment: str,
    stage: str,
    cfg: TrackingConfig = TrackingConfig(),
    data_checksums: Mapping[str, str] | None = None,
) -> MetricsLogger:
    """An :class:`MlflowLogger`, or — when the server is down and tracking is optional — a warned :class:`NullLogger`."""
    try:
        return MlflowLogger(experiment, stage, data_checksums)
    except TrackingUnavailableError as exc:
        if not tracking_optional(cfg):
            raise
        warnings.warn(
            f"{exc.uri} is unreachable and tracking is optional: MLflow tracking is OFF for this run "
            "(no params, metrics, artifacts or model versions are recorded)",
            TrackingDisabledWarning,
            stacklevel=2,
        )
        return NullLogger()
