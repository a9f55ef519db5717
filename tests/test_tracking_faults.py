"""A tracking server that dies mid-training: a real ``mlflow server`` SIGKILLed after the first epoch of a NER run.

Restarted a few seconds later on the same store, the run ends with every epoch's metrics (the same as dvclive's),
its model artifact, and the model registers. Left down past ``tracking.deadline_s``, the training still finishes
and writes its outputs, the stage exits 1 with one line naming the run and the record it could not log, and
``w2vp mlflow flush`` logs the rest once the server is back.

``MLFLOW_HTTP_REQUEST_MAX_RETRIES=0`` makes each request to the dead server fail at once, so the logger's own
buffer and retry loop carry the outage here (with MLflow's default retries the first request would wait for the
server itself, for up to four minutes).
"""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import MARKED, gold_doc, iob2, one_torch_thread, register, write_vectors
from mlflow import MlflowClient
from mlflow_server_util import setup_step
from typer.testing import CliRunner

from pipeline.cli.mlflow import mlflow_app
from pipeline.ops import team
from pipeline.runner import run
from pipeline.tracking.logger import FanOutLogger
from pipeline.tracking.mlflow_logger import TrackingFlushError, pending_dir, start_tracking
from pipeline.tracking.stage import stage_run
from pipeline.training.loop import FitResult

EPOCHS = 4
RESTART_AFTER_S = 2.0


@dataclass
class TrackingServer:
    """A tracking server of our own (SQLite store, local artifacts) on a fixed port, to kill and start again."""

    root: Path
    port: int
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        with setup_step():
            self.process = team.start_mlflow_server(f"sqlite:///{self.root / 'mlflow.db'}", self.root / "artifacts",
                                                    self.root / f"server-{self.starts}.log", self.port)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> TrackingServer:
    own = TrackingServer(tmp_path_factory.mktemp("tracking_faults"), team.free_port())
    own.start()
    yield own
    if own.running():
        team.stop(own.process)


@pytest.fixture
def tracked_env(server, monkeypatch, tmp_path) -> MlflowClient:
    if not server.running():
        server.start()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.uri)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))  # pending records go to tmp_path/outputs/mlflow/pending
    monkeypatch.delenv("PIPELINE_MLFLOW_OPTIONAL", raising=False)
    return MlflowClient(server.uri)


class KillAfterFirstEpoch:
    """A logger beside dvclive and MLflow that SIGKILLs the tracking server once epoch 1 is logged, and starts it
    again ``restart_after`` seconds later (never, for None)."""

    def __init__(self, server: TrackingServer, restart_after: float | None) -> None:
        self.server, self.restart_after = server, restart_after
        self.restarted: threading.Thread | None = None

    def log_params(self, params: dict) -> None:
        pass

    def log_metrics(self, metrics: dict, step: int) -> None:
        if step != 1:
            return
        self.server.kill()
        if self.restart_after is not None:
            self.restarted = threading.Thread(target=lambda: (time.sleep(self.restart_after), self.server.start()))
            self.restarted.start()

    def log_artifact(self, path: Path) -> None:
        pass

    def close(self) -> None:
        pass


def tiny_training(root: Path, logger) -> FitResult:
    """A few epochs of a small tagger on the test sentences, with the real ``train``/``fit``."""
    from pipeline.config import build_section
    from pipeline.training.ner_task import NerConfig, train

    records = [([t.text for t in d if not t.is_space], iob2(d)) for d in map(gold_doc, MARKED)]
    words = sorted({t.lower() for tokens, _ in records for t in tokens})
    vectors = write_vectors(root / "vectors", words, dim=8)
    cfg = build_section(NerConfig, {"model": {"word_dim": 8, "casing_dim": 2, "char_dim": 4, "char_size": 4,
                                              "hidden_size": 8},
                                    "train": {"epochs": EPOCHS, "batch_size": 4, "patience": EPOCHS}}, "test", "ner")
    with one_torch_thread():
        return train(cfg, records, records, vectors, root / "out", logger)


def dvclive_history(live_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """``{metric: [(step, value), ...]}`` from dvclive's plot files."""
    history = {}
    for tsv in sorted((live_dir / "plots" / "metrics").glob("*.tsv")):
        with open(tsv, newline="") as fh:
            history[tsv.stem] = [(int(row["step"]), float(row[tsv.stem])) for row in csv.DictReader(fh, delimiter="\t")]
    return history


def assert_run_complete(client: MlflowClient, run_id: str, live_dir: Path, result: FitResult) -> None:
    """The run FINISHED with every epoch's metrics, equal to dvclive's and to ``fit``'s history, and its model."""
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    live = dvclive_history(live_dir)
    assert set(live) == {name for name in result.history[0] if name != "epoch"}
    for name, points in live.items():
        logged = [(m.step, m.value) for m in client.get_metric_history(run_id, name)]
        assert [step for step, _ in logged] == list(range(1, EPOCHS + 1)) == [step for step, _ in points]
        assert [v for _, v in logged] == pytest.approx([v for _, v in points])
        assert [v for _, v in logged] == pytest.approx([row[name] for row in result.history])
    artifacts = {a.path for a in client.list_artifacts(run_id, "model")}
    assert {"model/model.safetensors", "model/config.json"} <= artifacts


def test_a_server_killed_after_the_first_epoch_and_restarted_loses_nothing(server, tracked_env, tmp_path):
    killer = KillAfterFirstEpoch(server, RESTART_AFTER_S)
    with stage_run("test-tracking-faults", "train_ner", tmp_path / "dvclive") as tracked:
        result = tiny_training(tmp_path, FanOutLogger(tracked.epochs, killer))
        tracked.tracker.log_artifact(result.model_dir)
    killer.restarted.join()
    assert server.starts >= 2
    assert_run_complete(tracked_env, tracked.tracker.run_id, tmp_path / "dvclive", result)
    assert not pending_dir().exists() or not any(pending_dir().iterdir())
    version = register("ner", result.model_dir, {"dev_f1": result.best_score}, "test-tracking-faults-ner")
    assert version.description.startswith("BiLSTM-CRF tagger")


def test_a_server_down_past_the_deadline_fails_the_stage_in_one_line_and_flush_finishes(
        server, tracked_env, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("params.yaml").write_text(yaml.safe_dump({"tracking": {"deadline_s": 2}}))
    seen = {}

    def stage() -> None:
        with stage_run("test-tracking-faults", "train_ner", tmp_path / "dvclive") as tracked:
            seen["run_id"] = tracked.tracker.run_id
            seen["result"] = tiny_training(tmp_path, FanOutLogger(tracked.epochs, KillAfterFirstEpoch(server, None)))
            tracked.tracker.log_artifact(seen["result"].model_dir)

    with pytest.raises(SystemExit) as exited:
        run(stage)
    assert exited.value.code == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, errors
    run_id, result = seen["run_id"], seen["result"]
    assert re.search(rf"MLflow run {run_id} \(train_ner\) could not log (the metrics of step \d|\d+ params"
                     r"|the artifact model|the run's end \(FINISHED\))( and \d+ more records?)?: ", errors[0])
    assert f"{server.uri} was unreachable for tracking.deadline_s=2 s" in errors[0]
    assert errors[0].endswith("run `w2vp mlflow flush` once the server is back")
    for output in ("out/model/model.safetensors", "out/model/config.json", "out/checkpoints",
                   "dvclive/plots/metrics/dev_f1.tsv"):
        assert (tmp_path / output).exists(), output
    assert [p.name for p in pending_dir().glob("*.json")] == [f"{run_id}.json"]

    server.start()
    flushed = CliRunner().invoke(mlflow_app, ["flush"])
    assert flushed.exit_code == 0, flushed.output
    assert re.search(rf"^run {run_id} \(train_ner\): \d+ records logged to {re.escape(server.uri)}$", flushed.output,
                     re.MULTILINE), flushed.output
    assert_run_complete(tracked_env, run_id, tmp_path / "dvclive", result)
    assert list(pending_dir().iterdir()) == []
    again = CliRunner().invoke(mlflow_app, ["flush"])
    assert again.exit_code == 0 and "nothing to log" in again.output


def test_a_record_the_server_refuses_fails_the_stage_at_once_and_is_kept(tracking, monkeypatch, tmp_path):
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    started = time.monotonic()
    with pytest.raises(TrackingFlushError) as refused:
        with start_tracking("test-tracking-refused", "train_ner") as tracker:
            tracker.log_params({"train": {"lr": 0.1}})
            tracker.log_params({"train": {"lr": 0.2}})  # MLflow refuses to change a logged param
    assert time.monotonic() - started < 30  # not the deadline's 300 s: a 4xx is not retried
    message = str(refused.value)
    assert message.startswith(f"MLflow run {tracker.run_id} (train_ner) could not log 1 params and 1 more record: ")
    assert "stopped (the server refused it: " in message and "train.lr" in message
    assert message.endswith("run `w2vp mlflow flush` once the cause is fixed")
    assert (tmp_path / "outputs" / "mlflow" / "pending" / f"{tracker.run_id}.json").exists()
