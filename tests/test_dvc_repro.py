"""``dvc repro`` end to end on the embedded sample, in a temporary copy of the repository."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _copy_repo(dest: Path) -> None:
    """Copy what git would clone (tracked + untracked-not-ignored files), then make it a git repo."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.email=ci@example", "-c", "user.name=ci", "commit", "-qm", "copy"]):
        subprocess.run(["git", *args], cwd=dest, check=True)


def _dvc(repo: Path, *args: str) -> str:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(["dvc", *args], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_dvc_repro_on_sample_then_nothing_to_do(tmp_path):
    repo = tmp_path / "repo"
    _copy_repo(repo)
    for stale in ("outputs", "metrics", "dvc.lock", "mlflow.db", "mlruns"):
        path = repo / stale
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    _dvc(repo, "repro")
    w2v = json.loads((repo / "metrics" / "word2vec.json").read_text())
    assert w2v["vocab_size"] > 1000 and 0.0 <= w2v["analogy_accuracy"] <= 1.0
    assert json.loads((repo / "metrics" / "prepare.json").read_text())["ner_train"] == 300
    assert (repo / "outputs" / "word2vec" / "vectors.bin").stat().st_size > 0
    metrics = {name: json.loads((repo / "metrics" / f"{name}.json").read_text()) for name in ("ner", "sentiment", "baseline")}
    assert 0.0 <= metrics["ner"]["test_f1"] <= 100.0
    assert 0.0 <= metrics["sentiment"]["test_accuracy"] <= 1.0 and 0.0 <= metrics["baseline"]["test_accuracy"] <= 1.0
    assert (repo / "spacy_pipeline" / "config.cfg").exists() and (repo / "mlflow.db").exists()
    shown = _dvc(repo, "metrics", "show")
    assert all(f"metrics/{name}.json" in shown for name in ("word2vec", "ner", "sentiment", "baseline", "spacy"))
    assert "up to date" in _dvc(repo, "status")
    second = _dvc(repo, "repro")
    assert "Running stage" not in second
