"""Two DVC experiments run at once (``dvc exp run --run-all --jobs 2``) against one fresh MLflow SQLite store.

In a temporary copy of the project, ``prepare`` and ``word2vec`` run once
with tiny settings and are committed; two experiments of ``evaluate_ner``
(one per NER seed/encoder) are queued and run together. Their
``train_ner`` and ``evaluate_ner`` stages hit ``mlflow.db`` at the same
moments: creating its tables, creating the same experiments, registering
versions of the same model and moving its ``champion`` alias.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import copy_repo
from mlflow import MlflowClient
from mlflow.entities import RunStatus

from pipeline.model_dir import read_config
from pipeline.paths import NER_MODEL_NAME

DVC_TIMEOUT_S = 600
TINY = {  # params.yaml of the copy: seconds per stage instead of minutes
    "data": {"corpus": {"files": []}},  # word2vec on the training files alone
    "word2vec": {"vector_size": 16, "epochs": 2, "workers": 1},
    "ner": {"model": {"word_dim": 16, "hidden_size": 16}, "train": {"epochs": 2, "lr": 0.01}},
    "pretrain_lm": {"model": {"word_dim": 16, "hidden_size": 8}, "train": {"epochs": 1}},  # train_ner depends on it
}
EXPERIMENTS = {"lstm-seed1": ["ner.train.seed=1"], "gru": ["ner.model.encoder=gru"]}


def run(repo: Path, *args: str, check: bool = True) -> str:
    """A command in the copy, with the venv's tools and one thread per process (the store is the copy's default)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PIPELINE_MLFLOW_OPTIONAL")}
    env |= {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, timeout=DVC_TIMEOUT_S)
    assert not check or proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def merge(base: dict, extra: dict) -> dict:
    return {**base, **{k: merge(base.get(k, {}), v) if isinstance(v, dict) else v for k, v in extra.items()}}


def prepared_copy(root: Path) -> Path:
    """A git copy of the project with tiny params, ``prepare`` + ``word2vec`` reproduced and committed."""
    repo = copy_repo(root / "repo", without=("outputs", "metrics", "dvclive", "plots", "dvc.lock", "mlflow.db", "mlruns"))
    params = yaml.safe_load((repo / "params.yaml").read_text())
    (repo / "params.yaml").write_text(yaml.safe_dump(merge(params, TINY), sort_keys=False))
    run(repo, "dvc", "repro", "word2vec")
    run(repo, "git", "add", "-A")
    run(repo, "git", "-c", "user.email=ci@example", "-c", "user.name=ci", "commit", "-qm", "tiny baseline")
    return repo


def experiment_states(repo: Path) -> dict[str, dict]:
    """``{name: {"state", "rev", "ner": metrics/ner.json}}`` of every experiment, from ``dvc exp show --json``."""
    shown = json.loads(run(repo, "dvc", "exp", "show", "--json"))
    return {exp["name"]: {"state": (exp["executor"] or {}).get("state"), "rev": exp["revs"][0]["rev"],
                          "ner": exp["revs"][0]["data"]["metrics"].get("metrics/ner.json", {}).get("data")}
            for baseline in shown for exp in baseline.get("experiments") or []}


@pytest.mark.slow
def test_two_experiments_at_once_share_one_mlflow_store(tmp_path):
    """Both experiments succeed; the store holds exactly their runs, all finished; each registered version's
    artifacts exist; the champion is the best version; DVC and MLflow agree on each experiment's test F1;
    the workspace is untouched by the queue, and an experiment's commit restores outputs that match its lock."""
    repo = prepared_copy(tmp_path)
    for name, overrides in EXPERIMENTS.items():
        run(repo, "dvc", "exp", "run", "--queue", "evaluate_ner", "-n", name, *(a for o in overrides for a in ("-S", o)))
    try:
        run(repo, "dvc", "exp", "run", "--run-all", "--jobs", "2")
    except BaseException:
        run(repo, "dvc", "queue", "stop", "--kill", check=False)  # leave no worker running after a timeout
        raise

    states = experiment_states(repo)
    failed = [name for name in EXPERIMENTS if states.get(name, {}).get("state") != "success"]
    assert not failed and states.keys() == EXPERIMENTS.keys(), \
        "".join(run(repo, "dvc", "queue", "logs", name, check=False)[-3000:] for name in failed)

    client = MlflowClient(f"sqlite:///{repo / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(NER_MODEL_NAME)
    runs = client.search_runs([experiment.experiment_id])
    assert sorted((r.data.tags["dvc.exp_name"], r.data.tags["dvc.stage"]) for r in runs) == sorted(
        (name, stage) for name in EXPERIMENTS for stage in ("train_ner", "evaluate_ner"))
    assert {r.info.status for r in runs} == {RunStatus.to_string(RunStatus.FINISHED)}

    evaluations = {r.info.run_id: r for r in runs if r.data.tags["dvc.stage"] == "evaluate_ner"}
    versions = client.search_model_versions(f"name = '{NER_MODEL_NAME}'")
    assert sorted(v.run_id for v in versions) == sorted(evaluations)
    for version in versions:
        location = Path(client.get_model_version_download_uri(NER_MODEL_NAME, version.version).removeprefix("file://"))
        assert (location / "MLmodel").is_file() and str(location).startswith(str(repo / "mlruns")), location
        evaluation = evaluations[version.run_id]
        assert evaluation.data.metrics["test_f1"] == states[evaluation.data.tags["dvc.exp_name"]]["ner"]["test_f1"]
    champion = client.get_model_version_by_alias(NER_MODEL_NAME, "champion")
    dev_f1 = {v.version: evaluations[v.run_id].data.metrics["dev_f1"] for v in versions}
    assert dev_f1[champion.version] == max(dev_f1.values())

    assert run(repo, "git", "status", "--porcelain") == ""  # the queue ran in temporary copies, not here
    run(repo, "git", "checkout", "-q", states["gru"]["rev"], "--", ".")  # the experiment's commit: lock, params, metrics
    run(repo, "dvc", "checkout", "--with-deps", "evaluate_ner")  # its outputs, from the shared cache
    assert "up to date" in run(repo, "dvc", "status", "--with-deps", "evaluate_ner")
    assert read_config(repo / "outputs" / "ner" / "model")["model"]["encoder"] == "gru"
