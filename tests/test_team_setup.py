"""The team set-up end to end: ``make team-up``, ``dvc repro`` against it, ``make dvc-remote``, push and pull.

In a temporary copy of the project, ``make team-up`` starts PostgreSQL and
``mlflow server`` (``scripts/team_server.py``) on free ports with the state
directory in /tmp; the sentiment branch of the pipeline (prepare → word2vec
→ train_sentiment → evaluate_sentiment, one epoch each) runs with
``MLFLOW_TRACKING_URI`` pointing at it. The runs and the registered version
must be found through ``MlflowClient`` and in PostgreSQL's ``runs`` table;
then the outputs go to the directory remote of ``make dvc-remote`` and come
back, byte-identical, after the cache and the outputs are deleted. The
servers are stopped however far the test got. Skipped where the PostgreSQL
server binaries are missing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import copy_repo, run_dvc
from mlflow import MlflowClient
from mlflow_server_util import free_port

from pipeline.ops.team import (
    TeamSetupError,
    answers,
    pid_alive,
    postgres_bin_dir,
    run_command,
)

pytestmark = [pytest.mark.slow, pytest.mark.scale]  # two servers, four DVC stages and a push/pull in subprocesses

VENV = Path(sys.executable).parents[1]
# The targets depend on the venv's install stamp; -o keeps make from (re)installing into the test's venv.
MAKE = ["make", "-o", f"{VENV}/.installed", f"VENV={VENV}"]
STAGE = "evaluate_sentiment"  # run with its upstream stages; the NER ones, never run here, have nothing to push
# Tiny models: the test is about where runs and outputs go, and the stages' time is mostly their own start-up.
QUICK_PARAMS = {
    ("data", "corpus", "files"): [],  # word2vec on the training files alone
    ("word2vec", "epochs"): 1,
    ("word2vec", "vector_size"): 16,
    ("sentiment", "model", "embedding_dim"): 16,
    ("sentiment", "model", "hidden_sizes"): [16],
    ("sentiment", "max_len"): 64,
    ("sentiment", "train", "epochs"): 1,
}


def make(repo: Path, *args: str) -> subprocess.CompletedProcess:
    """``make`` in the project copy, with the test's venv; fails the test with make's output."""
    proc = subprocess.run([*MAKE, *args], cwd=repo, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def set_params(repo: Path, values: dict[tuple[str, ...], object]) -> None:
    """Set ``params.yaml`` values in the copy, each named by its path of keys."""
    params_file = repo / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    for keys, value in values.items():
        section = params
        for key in keys[:-1]:
            section = section[key]
        section[keys[-1]] = value
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))


def digests(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the project with tiny models and no ``dvc.lock`` (whose outputs, absent here, push would miss)."""
    copy = copy_repo(tmp_path / "repo", without=("dvc.lock",))
    set_params(copy, QUICK_PARAMS)
    return copy


@pytest.fixture
def team_state(repo: Path) -> Iterator[Path]:
    """The state directory for ``make team-up``, in /tmp (the postgres user cannot enter pytest's).

    The test starts the servers itself; whatever happened, they are stopped and the directory is removed.
    """
    try:
        postgres_bin_dir()
    except TeamSetupError as missing:
        pytest.skip(str(missing))
    state = Path(tempfile.mkdtemp(prefix="team-"))
    state.chmod(0o755)
    yield state
    subprocess.run([sys.executable, repo / "scripts" / "team_server.py", "stop", "--state-dir", state],
                   capture_output=True, timeout=120)
    shutil.rmtree(state, ignore_errors=True)


def test_team_server_tracks_a_pipeline_and_the_dvc_remote_round_trips(repo, team_state, tmp_path, monkeypatch):
    port, pg_port = free_port(), free_port()
    up = make(repo, "team-up", f"TEAM_DIR={team_state}", f"TEAM_PORT={port}", f"TEAM_PG_PORT={pg_port}")
    uri = f"http://127.0.0.1:{port}"
    assert f"export MLFLOW_TRACKING_URI={uri}" in up.stdout
    record = json.loads((team_state / "team.json").read_text())
    assert make(repo, "team-up", f"TEAM_DIR={team_state}").stdout.count(uri) == 1  # a second start: already up

    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("PIPELINE_MLFLOW_OPTIONAL", raising=False)
    log = team_state / "mlflow.log"
    try:
        run_dvc(repo, "repro", STAGE)
    except AssertionError as failed:
        raise AssertionError(f"{failed}\nmlflow server log:\n{log.read_text()[-3000:]}") from None

    client = MlflowClient(uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert {r.data.tags.get("dvc.stage") for r in runs} >= {"train_sentiment", "evaluate_sentiment"}
    assert all(r.info.status == "FINISHED" for r in runs)
    champion = client.get_model_version_by_alias("w2v-sentiment", "champion")
    assert champion.run_id in {r.info.run_id for r in runs if r.data.tags["dvc.stage"] == "evaluate_sentiment"}
    assert any((team_state / "artifacts").rglob("model.safetensors"))  # the server's local artifact root
    assert not (repo / "mlflow.db").exists()  # nothing went to the SQLite default
    in_postgres = run_command([postgres_bin_dir() / "psql", "-h", team_state / "postgres", "-p", pg_port,
                               "-U", "postgres", "-d", "mlflow", "-tAc", "SELECT count(*) FROM runs"])
    assert int(in_postgres) == len(runs)

    remote = tmp_path / "remote"
    make(repo, "dvc-remote", f"DVC_REMOTE={remote}")
    run_dvc(repo, "push", "--with-deps", STAGE)
    assert any(p.is_file() for p in remote.rglob("*"))
    before = digests(repo / "outputs")
    shutil.rmtree(repo / ".dvc" / "cache")
    shutil.rmtree(repo / "outputs")
    run_dvc(repo, "pull", "--with-deps", STAGE)
    assert before and digests(repo / "outputs") == before

    make(repo, "team-down", f"TEAM_DIR={team_state}")
    assert not answers(f"{uri}/health")
    assert not pid_alive(record["mlflow_pid"]) and not pid_alive(record["postgres_pid"])
