"""The one-screen summary that ends ``make run`` (``w2vp summary``): scores, registry state, report, next steps.

It reads only what the stages wrote (``metrics/*.json``) and the registry,
and never widens past :data:`WIDTH` columns, so a terminal or a CI log shows
it whole.
"""

from __future__ import annotations

from pathlib import Path

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from pipeline import paths
from pipeline.config import params_profile
from pipeline.model_dir import read_json_if_written
from pipeline.tracking.mlflow_logger import tracking_uri
from pipeline.tracking.registry import RegistryError, current_champion, versions

WIDTH = 100
NEXT_STEPS = (
    ("dvc metrics show", "every figure of the run"),
    ("dvc plots show", "training curves, ROC and PR as HTML"),
    ('echo "Angela Merkel visited Paris." | w2vp ner predict -', "tag text with the model"),
    ("w2vp mlflow compare w2v-ner --metric dev_f1", "registered versions side by side"),
    ("mlflow ui --backend-store-uri sqlite:///mlflow.db", "runs and the registry in a browser"),
    ("dvc exp run -S data.profile=full", "the full CoNLL-2003 and IMDB data"),
)


def read_metrics(name: str, root: Path) -> dict:
    """``metrics/<name>.json``, or an empty dict when that stage has not run."""
    return read_json_if_written(root / paths.METRICS / f"{name}.json")


def profile(root: Path) -> str:
    """``data.profile`` of ``params.yaml`` (what the metrics were computed on)."""
    params = root / "params.yaml"
    return params_profile(params) if params.exists() else "unknown"


def registry_status(name: str, client: MlflowClient) -> str:
    """``v3, champion`` / ``v3 (champion: v2)``: the newest registered version and where ``champion`` points."""
    try:
        registered = versions(name, client)
        champion = current_champion(name, client)
    except RegistryError:
        return "not registered"
    except MlflowException as exc:
        return f"registry unavailable: {exc.message.splitlines()[0][:40]}"
    newest = max(registered, key=lambda v: int(v.version)).version
    if champion == str(newest):
        return f"v{newest}, champion"
    return f"v{newest} (champion: v{champion})" if champion else f"v{newest}, no champion"


def row(label: str, dev: object, test: object, note: str = "") -> str:
    """One aligned table row: label, dev and test figures, a note."""
    return f"  {label:<34}{_fmt(dev):>9}{_fmt(test):>9}   {note}".rstrip()[:WIDTH]


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if value > 1 else f"{value:.3f}"
    return "-" if value is None else str(value)


def summary_lines(root: Path = Path("."), client: MlflowClient | None = None) -> list[str]:
    """The summary, line by line (each at most :data:`WIDTH` characters)."""
    client = client or MlflowClient(tracking_uri())
    ner, sentiment, baseline = (read_metrics(n, root) for n in ("ner", "sentiment", "baseline"))
    spacy_scores = read_metrics("spacy", root)
    title = f"Summary of the last run (data profile: {profile(root)})"
    lines = ["", title, "=" * len(title), f"  {'':<34}{'dev':>9}{'test':>9}   registry"]
    lines.append("NER: entity F1")
    lines.append(row("BiRNN-CRF tagger (w2v-ner)", ner.get("dev_f1"), ner.get("test_f1"),
                     registry_status(paths.NER_MODEL_NAME, client) if ner else "not evaluated yet"))
    lines.append("Sentiment: accuracy")
    lines.append(row("BiRNN classifier (w2v-sentiment)", sentiment.get("dev_accuracy"), sentiment.get("test_accuracy"),
                     registry_status(paths.SENTIMENT_MODEL_NAME, client) if sentiment else "not evaluated yet"))
    if baseline:
        dev = baseline.get(f"dev_acc_C{baseline['C']:g}")
        lines.append(row("TF-IDF + logistic regression", dev, baseline.get("test_accuracy"), "baseline"))
    if spacy_scores:
        lines.append(f"spaCy pipeline: {paths.SPACY_PIPELINE}/  (ents_f {spacy_scores.get('ents_f', 0):.3f}, "
                     f"cats_score {spacy_scores.get('cats_score', 0):.3f} on the test splits)")
    written = (root / paths.REPORT).exists()
    lines.append(f"Report: {paths.REPORT}" + ("" if written else "  (not written yet: dvc repro report)"))
    lines += ["", "Next:"] + [f"  {command:<56}  {what}"[:WIDTH] for command, what in NEXT_STEPS]
    return lines
