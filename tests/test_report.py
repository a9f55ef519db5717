"""The run report: built from the stages' outputs, and rendered by a real browser (headless Chromium)."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.evaluation import report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium missing: apt-get install chromium")


def write_stage_outputs(root: Path) -> None:
    """What the evaluation stages of a two-epoch run leave behind, in their own formats."""
    def put(rel: str, content) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")

    put("params.yaml", "data:\n  profile: sample\ntracking:\n  required: true\n")
    per_type = {"LOC": {"precision": 80.0, "recall": 70.0, "f1": 74.7, "support": 10}}
    put("metrics/ner.json", {"dev_f1": 70.0, "test_f1": 74.7, "test_precision": 80.0, "test_recall": 70.0,
                             "test_per_type": per_type})
    put("metrics/sentiment.json", {"dev_accuracy": 0.7, "test_accuracy": 0.68, "test_roc_auc": 0.75})
    put("metrics/baseline.json", {"C": 4.0, "dev_acc_C4": 0.72, "test_accuracy": 0.74, "test_roc_auc": 0.8})
    put("outputs/ner/confusion.json", {"LOC": {"LOC": 7, "O": 3}, "O": {"LOC": 1, "O": 0}})
    put("outputs/ner/report.html", "<html><body><p>1 of 2 sentences differ from gold</p></body></html>")
    for task, metrics in (("ner", ("dev_f1", "train_loss")), ("sentiment", ("dev_acc", "train_loss", "dev_loss"))):
        for metric in metrics:
            put(f"dvclive/{task}/plots/metrics/{metric}.tsv", f"step\t{metric}\n1\t0.5\n2\t0.7\n")
    for plots in ("plots/sentiment", "plots/baseline"):
        put(f"{plots}/plots/sklearn/roc.json", {"roc": [{"fpr": 0.0, "tpr": 0.0}, {"fpr": 0.3, "tpr": 0.8},
                                                        {"fpr": 1.0, "tpr": 1.0}]})
        put(f"{plots}/plots/sklearn/precision_recall.json",
            {"precision_recall": [{"recall": 1.0, "precision": 0.5}, {"recall": 0.5, "precision": 0.9}]})
    pairs = [{"actual": "neg", "predicted": "neg"}, {"actual": "pos", "predicted": "neg"},
             {"actual": "pos", "predicted": "pos"}]
    put("plots/sentiment/plots/sklearn/confusion_matrix.json", pairs)


@pytest.fixture
def report_file(tmp_path, monkeypatch) -> Path:
    """``outputs/report.html`` as the report stage writes it, with its MLflow run in a local store."""
    from pipeline.stages import report as report_stage

    write_stage_outputs(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.chdir(tmp_path)
    report_stage.main()
    return tmp_path / "outputs" / "report.html"


def test_report_holds_every_section(report_file):
    html = report_file.read_text(encoding="utf-8")
    assert html.count('<img class="plot"') == 8  # 2 NER curves + confusion, 2 sentiment curves, ROC, PR, confusion
    assert "NER: test F1 74.70 (dev 70.00)" in html and "TF-IDF + LR baseline" in html
    assert "1 of 2 sentences differ from gold" in html  # the displaCy error report, framed
    assert "<script" in html and not re.search(r"(src|href)=\"https?:", html)  # self-contained: opens offline


def test_a_missing_stage_output_is_said_not_drawn(tmp_path, monkeypatch):
    from pipeline.stages import report as report_stage

    (tmp_path / "params.yaml").write_text("data:\n  profile: sample\n")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.chdir(tmp_path)
    report_stage.main()
    html = (tmp_path / "outputs/report.html").read_text(encoding="utf-8")
    assert "No NER evaluation in this run." in html and "No sentiment evaluation in this run." in html


def test_page_marks_a_plot_that_cannot_be_decoded():
    broken = report.page("t", [("s", ['<img class="plot" alt="x" src="data:image/png;base64,AAAA">'])])
    assert "dataset.broken" in broken and "naturalWidth" in broken


def render(path: Path, tmp_path: Path) -> tuple[str, str]:
    """The DOM after the page's scripts ran, and Chromium's log (console messages included)."""
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         f"--user-data-dir={tmp_path / 'chromium'}", "--virtual-time-budget=5000", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120, check=True)
    return result.stdout, result.stderr


@needs_chromium
def test_report_renders_in_headless_chromium(report_file, tmp_path):
    dom, log = render(report_file, tmp_path)
    body = re.search(r"<body([^>]*)>", dom).group(1)
    assert 'data-plots="8"' in body and 'data-broken="0"' in body, body
    assert "data-errors" not in body
    console_errors = [line for line in log.splitlines() if "CONSOLE" in line and ("Uncaught" in line or "rror" in line)]
    assert console_errors == []


@needs_chromium
def test_a_broken_plot_is_caught_by_the_browser_check(tmp_path):
    path = tmp_path / "broken.html"
    path.write_text(report.page("t", [("s", ['<img class="plot" alt="x" src="data:image/png;base64,AAAA">'])]))
    dom, _ = render(path, tmp_path)
    assert 'data-broken="1"' in dom
