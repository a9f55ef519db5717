"""MLflow tracking against a real ``mlflow server``: params, per-epoch metrics, tags, artifacts, unreachable server.

The server (``mlflow_server``, ``tracking``) is the one of ``conftest.py``;
``test_mlflow_postgres.py`` re-runs tests of this module against PostgreSQL.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest
import torch
from mlflow_server_util import free_port

from pipeline.embeddings.vocab import build_vocab, embedding_matrix
from pipeline.models.tagger import Tagger, TaggerAssets, TaggerConfig, char_alphabet
from pipeline.tracking.logger import DvcLiveLogger, FanOutLogger
from pipeline.tracking.mlflow_logger import (
    MlflowLogger,
    TrackingConfig,
    TrackingDisabledWarning,
    TrackingUnavailableError,
    flatten,
    start_tracking,
    tracking_uri,
)
from pipeline.training.logger import MetricsLogger, NullLogger
from pipeline.training.loop import FitResult, fit
from pipeline.training.ner_task import NerConfig, NerTask, NerTrainConfig, tag_set

NER_SENTENCES = [
    (["EU", "rejects", "German", "call"], ["B-ORG", "O", "B-MISC", "O"]),
    (["Peter", "Blackburn", "visits", "London"], ["B-PER", "I-PER", "O", "B-LOC"]),
    (["Japan", "beat", "Syria", "in", "Paris"], ["B-LOC", "O", "B-LOC", "O", "B-LOC"]),
]


def train_tiny_ner(out_dir: Path, logger: MetricsLogger) -> FitResult:
    """Two epochs of a few-unit tagger on three sentences (dev = train) with the real :func:`fit`."""
    cfg = NerConfig(model=TaggerConfig(embedding="random", word_dim=8, casing_dim=4, char_dim=4, char_size=4,
                                       hidden_size=8), train=NerTrainConfig(epochs=2, batch_size=2))
    vocab = build_vocab(Counter(t for tokens, _ in NER_SENTENCES for t in tokens), None, True, True)
    assets = TaggerAssets(vocab, char_alphabet([t for t, _ in NER_SENTENCES]), tag_set(NER_SENTENCES, cfg.tag_scheme),
                          cfg.tag_scheme, len(vocab))
    torch.manual_seed(0)
    model = Tagger(cfg.model, assets, embedding_matrix(vocab, cfg.model.word_dim, None, 0)[0])
    task = NerTask(cfg, assets, NER_SENTENCES, NER_SENTENCES)
    return fit(model, task, cfg.train, out_dir, "dev_f1", cfg.model_dump(mode="json"), logger)


def test_training_run_logs_params_metrics_tags_and_artifacts(tracking, tmp_path):
    checksums = {"conll2003/eng.train.gz": "ab" * 32}
    with start_tracking("test-ner", "train_ner", data_checksums=checksums) as mlflow_logger:
        dvclive = DvcLiveLogger(tmp_path / "dvclive")
        logger = FanOutLogger(dvclive, mlflow_logger)
        result = train_tiny_ner(tmp_path / "ner", logger)
        logger.log_artifact(result.model_dir)
        dvclive.close()
    run = tracking.get_run(mlflow_logger.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["model.encoder"] == "lstm" and run.data.params["train.epochs"] == "2"
    assert run.data.tags["dvc.stage"] == "train_ner" and run.data.tags["data.sha256.conll2003/eng.train.gz"] == "ab" * 32
    assert len(run.data.tags["git.commit"].removesuffix("-dirty")) == 40
    for name in result.history[0]:
        if name == "epoch":
            continue
        logged = tracking.get_metric_history(run.info.run_id, name)
        assert [m.step for m in logged] == [row["epoch"] for row in result.history]
        assert [m.value for m in logged] == pytest.approx([row[name] for row in result.history])
    dvc_metrics = json.loads((tmp_path / "dvclive" / "metrics.json").read_text())
    assert {k: run.data.metrics[k] for k in dvc_metrics if k != "step"} == pytest.approx(
        {k: v for k, v in dvc_metrics.items() if k != "step"})
    artifacts = {a.path for a in tracking.list_artifacts(run.info.run_id, "model")}
    assert {"model/model.safetensors", "model/config.json", "model/vocab.json"} <= artifacts


def test_a_failing_stage_marks_its_run_failed(tracking):
    with pytest.raises(RuntimeError), start_tracking("test-ner", "train_ner") as logger:
        raise RuntimeError("boom")
    assert tracking.get_run(logger.run_id).info.status == "FAILED"


@pytest.fixture
def dead_server(monkeypatch) -> str:
    """``MLFLOW_TRACKING_URI`` on a localhost port where nothing listens."""
    uri = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("PIPELINE_MLFLOW_OPTIONAL", raising=False)
    return uri


def test_unreachable_server_fails_fast_with_the_uri_and_the_fixes(dead_server):
    start = time.monotonic()
    with pytest.raises(TrackingUnavailableError) as error:
        start_tracking("test", "train_ner")
    assert time.monotonic() - start < 5
    message = str(error.value)
    assert dead_server in message and "PIPELINE_MLFLOW_OPTIONAL=1" in message and "tracking.required" in message


@pytest.mark.parametrize("allow", ["config", "env"])
def test_unreachable_server_only_warns_when_tracking_is_optional(dead_server, monkeypatch, allow):
    cfg = TrackingConfig(required=allow != "config")
    if allow == "env":
        monkeypatch.setenv("PIPELINE_MLFLOW_OPTIONAL", "1")
    with pytest.warns(TrackingDisabledWarning, match="tracking is OFF for this run"):
        logger = start_tracking("test", "train_ner", cfg)
    assert isinstance(logger, NullLogger) and not isinstance(logger, MlflowLogger)


def test_default_store_is_the_project_sqlite_file_even_in_a_queued_experiment(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    assert tracking_uri() == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"


def test_flatten_uses_dotted_keys():
    assert flatten({"model": {"encoder": "gru", "sizes": [8]}, "seed": 1}) == {
        "model.encoder": "gru", "model.sizes": [8], "seed": 1}
