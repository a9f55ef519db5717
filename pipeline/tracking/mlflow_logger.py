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

A server that goes away *during* the stage does not stop it. Params,
metrics, artifacts and the run's end are records in a queue that a
background thread delivers in order (MLflow's own HTTP retries first, then
one attempt a second while ``/health`` does not answer), so the trainer
never waits on the server. At the end the stage waits for the queue to
empty, as long as the server answers; once it has been unreachable for
``tracking.deadline_s`` in a row, the undelivered records (artifacts copied) go to
``outputs/mlflow/pending/<run id>.json`` and the stage fails with one line
naming the run and the first record; ``w2vp mlflow flush``
(:func:`flush_pending`) delivers them once the server is back. Delivering a
record twice is harmless: params and artifacts are overwritten with the same
content, and a metric step already in the run is skipped.

Stages may run at the same time against one SQLite store (``dvc queue start
-j 2``): the steps that race there run under :func:`store_lock`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import mlflow
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus
from mlflow.exceptions import MlflowException
from mlflow.tracking.context.registry import resolve_tags
from pydantic import Field

from pipeline.atomic import write_json
from pipeline.config import PARAMS_FILE, Section, params_profile
from pipeline.errors import DataError, MissingDataError, PipelineError
from pipeline.training.logger import MetricsLogger, NullLogger

OPTIONAL_ENV = "PIPELINE_MLFLOW_OPTIONAL"
DB_FILE = "mlflow.db"
ARTIFACTS_DIR = "mlruns"
PENDING_DIR = Path("outputs") / "mlflow" / "pending"  # under the project root
PROBE_TIMEOUT_S = 3.0
RETRY_EVERY_S = 1.0  # between delivery attempts while the server is away
DEFAULT_DEADLINE_S = 300.0
GIT_TAG, STAGE_TAG, PROFILE_TAG, EXP_TAG = "git.commit", "dvc.stage", "profile", "dvc.exp_name"
DATA_TAG = "data.sha256."  # + the raw file's path under the data root
FINISHED, FAILED = RunStatus.to_string(RunStatus.FINISHED), RunStatus.to_string(RunStatus.FAILED)
FLUSH_COMMAND = "w2vp mlflow flush"


class TrackingConfig(Section):
    """The ``tracking`` section of params.yaml."""

    required: bool = True  # False: an unreachable tracking server only warns, and the run is not tracked
    # Once its work is done, how long a stage waits for a tracking server that went away (seconds in a row without an
    # answer) to take the records it could not deliver; then it exits 1 and `w2vp mlflow flush` delivers them.
    deadline_s: float = Field(DEFAULT_DEADLINE_S, ge=0.0)


class TrackingUnavailableError(PipelineError):
    """The MLflow tracking server does not answer: names the URI and the ways out."""

    def __init__(self, uri: str, reason: str) -> None:
        self.uri = uri
        super().__init__(
            f"MLflow tracking server {uri} is unreachable ({reason}); start it, fix or unset "
            f"MLFLOW_TRACKING_URI (unset: a local {DB_FILE} is used), or set tracking.required: false "
            f"in params.yaml / {OPTIONAL_ENV}=1 to train without tracking"
        )


class TrackingFlushError(PipelineError):
    """A run's records did not reach the server; they wait in a pending file for ``w2vp mlflow flush``.

    Either the server stayed unreachable for ``deadline_s`` (``fatal`` is
    None), or sending stopped for good (``fatal`` says why: a 4xx answer, a failed sender).
    """

    def __init__(self, run_id: str, stage: str, uri: str, first: dict, count: int, reason: str, pending: Path,
                 deadline_s: float, fatal: str | None = None) -> None:
        self.run_id, self.pending = run_id, pending
        more = f" and {count - 1} more record{'s' if count > 2 else ''}" if count > 1 else ""
        why = (f"logging to {uri} stopped ({fatal})" if fatal is not None
               else f"{uri} was unreachable for tracking.deadline_s={deadline_s:g} s ({reason})")
        then = "once the cause is fixed" if fatal is not None else "once the server is back"
        super().__init__(
            f"MLflow run {run_id} ({stage}) could not log {first['what']}{more}: {why}; every output is on disk "
            f"and the records wait in {pending}: run `{FLUSH_COMMAND}` {then}"
        )


class TrackingDisabledWarning(UserWarning):
    """Tracking was allowed to fail: this run records nothing in MLflow."""


class TrackingDelayedWarning(UserWarning):
    """The tracking server stopped answering during the stage: records wait in memory and are retried."""


class TrackingFlushWarning(UserWarning):
    """A stage that failed anyway also left records undelivered (the stage's own error follows)."""


def project_root() -> Path:
    """``$DVC_ROOT`` (the real repository, even for queued experiments run in a temporary copy), else the cwd."""
    return Path(os.environ.get("DVC_ROOT", ".")).resolve()


def local_store_uri() -> str:
    """The project's own SQLite file."""
    return f"sqlite:///{project_root() / DB_FILE}"


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI``, else the project's SQLite file."""
    return os.environ.get("MLFLOW_TRACKING_URI") or local_store_uri()


def pending_dir() -> Path:
    """Where undelivered records wait: ``outputs/mlflow/pending`` of the project root."""
    return project_root() / PENDING_DIR


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


def answers(uri: str) -> bool:
    """Whether the server at ``uri`` answers :func:`probe`."""
    try:
        probe(uri)
    except TrackingUnavailableError:
        return False
    return True


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


def data_profile() -> str | None:
    """``data.profile`` of the params.yaml in the working directory (``sample``/``full``); None without one."""
    if not PARAMS_FILE.exists():
        return None
    return params_profile()


def run_tags(stage: str, data_checksums: Mapping[str, str]) -> dict[str, str]:
    """Tags that tie a run to its code, its DVC stage (and experiment), its data profile and the exact data it read."""
    tags = {
        GIT_TAG: git_commit(Path.cwd()),
        STAGE_TAG: os.environ.get("DVC_STAGE", stage),
        **{f"{DATA_TAG}{name}": digest for name, digest in data_checksums.items()},
    }
    profile = data_profile()
    if profile is not None:
        tags[PROFILE_TAG] = profile
    if "DVC_EXP_NAME" in os.environ:
        tags[EXP_TAG] = os.environ["DVC_EXP_NAME"]
    return tags


def run_name(tags: Mapping[str, str]) -> str:
    """``train_ner-sample`` (stage and profile), plus the experiment's name under ``dvc exp run``."""
    return "-".join(tags[key] for key in (STAGE_TAG, PROFILE_TAG, EXP_TAG) if key in tags)


# --- records and their delivery ---------------------------------------------------------------------------------


def retryable(exc: BaseException) -> bool:
    """Whether a failed delivery may succeed later: the server was away or overloaded, not refusing the record."""
    if isinstance(exc, MlflowException):
        status = exc.get_http_status_code()
        return status >= 500 or status == 429
    return True


DELIVERY_ERRORS = (MlflowException, requests.RequestException, OSError)


SOCKET_ERROR = re.compile(r"\[Errno \d+\] ([^'\")]+)|Error\(\d+, '([^']+)'\)")


def reason_of(exc: BaseException) -> str:
    """A failed delivery in a few words: MLflow wraps a refused or reset connection in a paragraph of urllib3
    retry state, of which the socket error is what matters."""
    text = " ".join((exc.message if isinstance(exc, MlflowException) else str(exc)).split())
    found = SOCKET_ERROR.findall(text)
    if found:
        return next(part for part in found[-1] if part).lower()
    return text if len(text) <= 200 else text[:200] + "…"


def deliver(client: MlflowClient, run_id: str, record: dict, again: bool) -> None:
    """Send one record to the run; ``again``: it may have arrived before, so metric steps already logged are skipped."""
    kind, data = record["kind"], record["data"]
    if kind == "params":
        client.log_batch(run_id, params=[Param(key, value) for key, value in data["params"].items()])
    elif kind == "metrics":
        values = data["metrics"]
        if again:
            values = {key: value for key, value in values.items()
                      if not any(m.step == data["step"] for m in client.get_metric_history(run_id, key))}
        if values:
            client.log_batch(run_id, metrics=[Metric(key, value, data["timestamp"], data["step"])
                                              for key, value in values.items()])
    elif kind == "artifact":
        if data["is_dir"]:
            client.log_artifacts(run_id, data["path"], artifact_path=data["name"])
        else:
            client.log_artifact(run_id, data["path"])
    elif kind == "end":
        client.set_terminated(run_id, data["status"], end_time=data["end_time"])
    else:
        raise ValueError(f"unknown record kind {kind!r}")


class Sender(threading.Thread):
    """Delivers a run's records in order, in the background, retrying each until it lands or :meth:`stop`.

    ``failure`` holds why the current record has not landed yet (None while
    all goes well); ``fatal`` why sending stopped for good: the server
    rejected a record (a 4xx), or the sender itself failed (its traceback is
    printed as the thread ends).
    """

    def __init__(self, client: MlflowClient, run_id: str, uri: str, deadline_s: float) -> None:
        super().__init__(name=f"mlflow-sender-{run_id[:8]}", daemon=True)
        self.client, self.run_id, self.uri, self.deadline_s = client, run_id, uri, deadline_s
        self.queue: deque[dict] = deque()
        self.cond = threading.Condition()
        self.stopped = False
        self.failure: str | None = None
        self.fatal: str | None = None
        self.warned = False

    def put(self, record: dict) -> None:
        with self.cond:
            self.queue.append(record)
            self.cond.notify_all()

    def run(self) -> None:
        try:
            self._send_all()
        except BaseException as exc:
            with self.cond:
                self.fatal = f"the logger's sender failed: {type(exc).__name__}: {exc}"
                self.cond.notify_all()
            raise

    def _send_all(self) -> None:
        while True:
            with self.cond:
                self.cond.wait_for(lambda: self.queue or self.stopped)
                if self.stopped:
                    return
                record = self.queue[0]
            if not self._deliver(record):
                return
            with self.cond:
                self.queue.popleft()
                self.failure = None
                self.cond.notify_all()

    def _deliver(self, record: dict) -> bool:
        """Retry ``record`` until it lands (True), or the sender stops, or the server refuses it (False)."""
        again = False
        while True:
            try:
                deliver(self.client, self.run_id, record, again)
                return True
            except DELIVERY_ERRORS as exc:
                with self.cond:
                    if not retryable(exc):
                        self.fatal = f"the server refused it: {reason_of(exc)}"
                        self.cond.notify_all()
                        return False
                    self.failure = reason_of(exc)
                self._warn_once()
            again = True
            while not self._sleep(RETRY_EVERY_S) and not answers(self.uri):
                pass
            if self.stopped:
                return False

    def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` unless stopped first; whether the sender was stopped."""
        with self.cond:
            return self.cond.wait_for(lambda: self.stopped, seconds)

    def _warn_once(self) -> None:
        if not self.warned:
            self.warned = True
            warnings.warn(f"MLflow tracking server {self.uri} stopped answering ({self.failure}); the stage goes on, "
                          "keeps its records for the server and, once its work is done, waits for it until it has "
                          f"been unreachable for tracking.deadline_s={self.deadline_s:g} s", TrackingDelayedWarning,
                          stacklevel=2)

    def drain(self, timeout: float) -> bool:
        """Wait until every record landed (True), sending stopped for good, or ``timeout`` passed (False)."""
        with self.cond:
            return bool(self.cond.wait_for(lambda: not self.queue or self.fatal, timeout)) and not self.fatal

    def wait(self, deadline_s: float) -> bool:
        """Wait until every record landed (True); give up (False) when sending stopped for good, or once the store
        has been unreachable (``/health`` unanswered, or every attempt failing) for ``deadline_s`` in a row.

        A slow but answering server is waited for: a large artifact may take longer than the deadline to upload.
        """
        last_alive, step = time.monotonic(), max(0.05, min(RETRY_EVERY_S, deadline_s))
        while not self.drain(step):
            if self.fatal:
                return False
            now = time.monotonic()
            if self.failure is None and answers(self.uri):
                last_alive = now
            elif now - last_alive >= deadline_s:
                return False
        return True

    def stop(self) -> list[dict]:
        """Stop sending; the records not (known to be) delivered, oldest first."""
        with self.cond:
            self.stopped = True
            self.cond.notify_all()
            return list(self.queue)


def snapshot(records: list[dict], directory: Path) -> list[dict]:
    """``records`` with each artifact copied under ``directory`` (its source may change or vanish before a flush)."""
    kept = []
    for record in records:
        if record["kind"] == "artifact" and not Path(record["data"]["path"]).is_relative_to(directory):
            source = Path(record["data"]["path"])
            target = directory / str(record["seq"]) / source.name
            if target.parent.exists():  # a copy an earlier give-up of this run left
                shutil.rmtree(target.parent)
            target.parent.mkdir(parents=True)
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copy2(source, target)
            record = record | {"data": record["data"] | {"path": str(target)}}
        kept.append(record)
    return kept


class MlflowLogger:
    """One MLflow run, from construction to :meth:`close`; its records are delivered by a :class:`Sender`.

    :meth:`active` makes the run MLflow's active run for a block, so that
    :mod:`pipeline.tracking.pyfunc_models` logs and registers a model into
    it. Use it as a context manager to mark the run FAILED when the stage
    raises.
    """

    def __init__(self, experiment: str, stage: str, data_checksums: Mapping[str, str] | None = None,
                 deadline_s: float = DEFAULT_DEADLINE_S) -> None:
        self.uri = tracking_uri()
        probe(self.uri)
        mlflow.set_tracking_uri(self.uri)
        with store_lock(self.uri):  # a client opens the store, which creates a fresh database's tables; the experiment
            self.client = MlflowClient(self.uri)
            self.experiment_id = self._experiment_id(experiment, default_artifact_location())
        self.tags = run_tags(stage, data_checksums or {})
        self.stage, self.deadline_s = self.tags[STAGE_TAG], deadline_s
        context = resolve_tags(self.tags)  # MLflow's user and source tags, as mlflow.start_run adds them
        self.run_id = self.client.create_run(self.experiment_id, run_name=run_name(self.tags),
                                             tags=context).info.run_id
        self._sender = self._start_sender()
        self._seq = 0
        self._undelivered: list[dict] | None = None  # once given up: every record not delivered, in order
        self._error: TrackingFlushError | None = None
        self._closed = False

    def _experiment_id(self, name: str, artifact_location: str | None) -> str:
        """The experiment's id, created with the project's artifact root on first use."""
        existing = self.client.get_experiment_by_name(name)
        if existing is not None:
            return existing.experiment_id
        return self.client.create_experiment(name, artifact_location=artifact_location)

    def _start_sender(self) -> Sender:
        sender = Sender(self.client, self.run_id, self.uri, self.deadline_s)
        sender.start()
        return sender

    def _put(self, kind: str, what: str, data: dict) -> None:
        self._seq += 1
        record = {"seq": self._seq, "kind": kind, "what": what, "data": data}
        if self._undelivered is not None:
            self._undelivered.append(record)
            self._error = self._give_up()
        else:
            self._sender.put(record)

    def log_params(self, params: dict) -> None:
        flat = {name: str(value) for name, value in flatten(params).items()}
        self._put("params", f"{len(flat)} params", {"params": flat})

    def log_metrics(self, metrics: dict, step: int) -> None:
        """Nested metrics (per-type F1) are logged under dotted names, e.g. ``test_per_type.PER.f1``."""
        values = {name: float(value) for name, value in flatten(metrics).items()}
        self._put("metrics", f"the metrics of step {step}",
                  {"metrics": values, "step": int(step), "timestamp": int(time.time() * 1000)})

    def log_artifact(self, path: Path) -> None:
        """A file, or a directory (the model, the spaCy pipeline) under its own name."""
        path = Path(path)
        if not path.exists():
            raise MissingDataError(path, "cannot log a missing artifact to MLflow")
        self._put("artifact", f"the artifact {path.name}",
                  {"path": str(path.resolve()), "name": path.name, "is_dir": path.is_dir()})

    def sync(self) -> None:
        """Wait until every record so far is in the store (as registering a model needs); raise
        :class:`TrackingFlushError` when the server stays unreachable for ``deadline_s``."""
        if self._error is None and self._sender.wait(self.deadline_s):
            return
        self._error = self._error or self._give_up()
        if self._error is None:  # the last record landed as the deadline passed: go on with a new sender
            self._undelivered, self._sender = None, self._start_sender()
            return
        raise self._error

    @contextmanager
    def active(self) -> Iterator[None]:
        """This run as MLflow's active run inside the block (MLflow's ``end_run`` marks it FINISHED after;
        :meth:`close` sets the final status)."""
        with mlflow.start_run(run_id=self.run_id):
            yield

    def _give_up(self) -> TrackingFlushError | None:
        """Stop sending; keep every undelivered record (artifacts copied) in the run's pending file; the error
        naming the first. None when the sender delivered the last record just before it was stopped."""
        if self._undelivered is None:
            self._undelivered = self._sender.stop()
        if not self._undelivered:
            return None
        directory = pending_dir()
        records = snapshot(self._undelivered, directory / self.run_id)
        self._undelivered = records
        pending = directory / f"{self.run_id}.json"
        write_json(pending, {"run_id": self.run_id, "stage": self.stage, "tracking_uri": self.uri,
                             "records": records})
        return TrackingFlushError(self.run_id, self.stage, self.uri, records[0], len(records),
                                  self._sender.failure or "no answer", pending, self.deadline_s, self._sender.fatal)

    def close(self, status: str = FINISHED) -> None:
        """End the run once every record is delivered (idempotent: a stage may close in ``finally`` after the
        context manager did); :class:`TrackingFlushError` when the server stays unreachable for ``deadline_s``."""
        if self._closed:
            return
        self._closed = True
        self._put("end", f"the run's end ({status})", {"status": status, "end_time": int(time.time() * 1000)})
        if self._error is None and self._sender.wait(self.deadline_s):
            self._sender.stop()
            return
        self._error = self._error or self._give_up()
        if self._error is not None:
            raise self._error

    def __enter__(self) -> MlflowLogger:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close(FINISHED)
            return
        try:
            self.close(FAILED)
        except TrackingFlushError as undelivered:
            if undelivered is not exc:  # the stage's own error propagates; this one is kept, and said
                warnings.warn(str(undelivered), TrackingFlushWarning, stacklevel=2)


def start_tracking(
    experiment: str,
    stage: str,
    cfg: TrackingConfig = TrackingConfig(),
    data_checksums: Mapping[str, str] | None = None,
) -> MetricsLogger:
    """An :class:`MlflowLogger`, or — when the server is down and tracking is optional — a warned :class:`NullLogger`."""
    try:
        return MlflowLogger(experiment, stage, data_checksums, deadline_s=cfg.deadline_s)
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


# --- w2vp mlflow flush ---------------------------------------------------------------------------------------------


def read_pending(path: Path) -> dict:
    """A pending file written by :meth:`MlflowLogger._give_up`; a file of another shape is an error naming it."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(path, None, f"not a pending-records file ({exc})") from None
    if not isinstance(content, dict) or not {"run_id", "stage", "tracking_uri", "records"} <= set(content):
        raise DataError(path, None, "not a pending-records file: expected the keys run_id, stage, tracking_uri, "
                                    "records")
    return content


def flush_pending(directory: Path | None = None) -> list[str]:
    """Deliver every pending file's records to its run, oldest record first; one line per run delivered.

    Each run goes to the store it was created in (the file's ``tracking_uri``),
    whatever ``$MLFLOW_TRACKING_URI`` says now. A file is removed, with its
    artifact copies, once all its records have landed.
    """
    directory = directory or pending_dir()
    done = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        pending = read_pending(path)
        uri, run_id = pending["tracking_uri"], pending["run_id"]
        probe(uri)
        client = MlflowClient(uri)
        for record in pending["records"]:
            try:
                deliver(client, run_id, record, again=True)
            except DELIVERY_ERRORS as exc:
                raise PipelineError(f"{path}: run {run_id}: could not log {record['what']} to {uri}: "
                                    f"{reason_of(exc)}") from None
        if (directory / run_id).exists():
            shutil.rmtree(directory / run_id)
        path.unlink()
        done.append(f"run {run_id} ({pending['stage']}): {len(pending['records'])} records logged to {uri}")
    return done
