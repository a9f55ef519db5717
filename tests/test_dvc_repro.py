"""``dvc repro`` end to end on the embedded sample, in a temporary copy of the repository."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import copy_repo, run_dvc


@pytest.mark.slow
def test_dvc_repro_on_sample_then_nothing_to_do(tmp_path):
    repo = copy_repo(tmp_path / "repo", without=("outputs", "metrics", "dvc.lock", "mlflow.db", "mlruns"))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("PIPELINE_PROGRESS", None)
    log = subprocess.run(["dvc", "repro"], cwd=repo, env=env, capture_output=True, text=True, check=True)
    output = log.stdout + log.stderr
    # What the run prints is part of the interface: a line per step and epoch, no per-batch progress lines.
    assert len(output.splitlines()) < 200 and len(output.encode()) < 20_000, output[-3000:]
    assert "batch/s" not in output and "Downloading artifacts" not in output
    metrics = {name: json.loads((repo / "metrics" / f"{name}.json").read_text())
               for name in ("prepare", "word2vec", "ner", "sentiment", "baseline", "spacy")}
    assert metrics["prepare"]["ner_train"] == 300
    assert metrics["word2vec"]["vocab_size"] > 1000 and metrics["word2vec"]["analogy_accuracy"] > 0.0
    assert (repo / "outputs" / "word2vec" / "vectors.bin").stat().st_size > 0
    # Learned, not merely in range: an untrained tagger scores about 0, a constant classifier 0.5
    # (a run of the sample profile: NER test F1 68.9, baseline accuracy 0.745).
    assert metrics["ner"]["test_f1"] > 25.0 and metrics["baseline"]["test_accuracy"] > 0.6
    test_n = metrics["prepare"]["sentiment_test"]
    assert metrics["sentiment"]["test_n"] == metrics["baseline"]["test_n"] == test_n == 200
    assert metrics["sentiment"]["test_accuracy"] > 0.6  # chance is 0.5 on the balanced sample
    # The packaged spaCy pipeline scores the same test splits with the same models as the evaluate stages.
    assert metrics["spacy"]["ents_f"] == pytest.approx(metrics["ner"]["test_f1"] / 100)
    assert metrics["spacy"]["cats_macro_auc"] == pytest.approx(metrics["sentiment"]["test_roc_auc"], abs=1e-4)
    assert (repo / "spacy_pipeline" / "config.cfg").exists() and (repo / "mlflow.db").exists()
    assert '<img class="plot"' in (repo / "outputs" / "report.html").read_text(encoding="utf-8")
    summary = subprocess.run([Path(sys.executable).parent / "w2vp", "summary"], cwd=repo, env=env,
                             capture_output=True, text=True, check=True).stdout
    assert "v1, champion" in summary and max(map(len, summary.splitlines())) <= 100
    shown = run_dvc(repo, "metrics", "show")
    assert all(f"metrics/{name}.json" in shown for name in ("word2vec", "ner", "sentiment", "baseline", "spacy"))
    assert "up to date" in run_dvc(repo, "status")
    second = run_dvc(repo, "repro")
    assert "Running stage" not in second
