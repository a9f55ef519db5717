"""Full-IMDB sentiment benchmark: the default model, the S4 lecture preset, TF-IDF + LR and two ablations.

Every run trains on the prepared train split (dev chooses the epoch or ``C``)
and is scored once on the 25k test reviews: test accuracy, training wall
time, inference documents/s (from tokens, batched) and peak RSS. Each run
is a child process, so its peak RSS is its own and a crash loses one run.

Runs: ``baseline`` (TF-IDF word 1-2 grams + LR), ``project`` (the champion the
full-profile pipeline trained and registered, ``python benchmarks/full_profile.py``, in ``--pipeline``: its
``outputs/sentiment/model`` scored here on the same test split), the lecture
presets ``s1``, ``s2``, ``s3_lstm``, ``s3_gru`` and ``s4``
(``configs/presets/NAME.yaml``) and the ablations ``lstm`` (BiLSTM instead of
BiGRU) and ``frozen`` (vectors not fine-tuned), which train for
``--variant-epochs`` epochs; compare them with ``project`` on its dev
accuracy after as many epochs (``dev_acc_by_epoch``).

    python benchmarks/sentiment_imdb.py --data-dir ../fullrun/outputs/prepared/sentiment \
        --vectors ../fullrun/outputs/word2vec/vectors.bin [--only project s4]

Results are merged into ``benchmarks/results/sentiment_imdb.json`` after
each run (``--only`` re-runs some and keeps the others).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
from common import FULL_PROFILE, full_section, pipeline_stage_s

from pipeline import paths
from pipeline.atomic import write_json
from pipeline.baselines.tfidf import BaselineConfig, TfidfBaseline
from pipeline.config import build_section
from pipeline.data.splits import class_indices, class_labels, load_examples
from pipeline.evaluation.sentiment import classification_metrics, score_model
from pipeline.model_dir import read_config
from pipeline.models.classifier import count_parameters
from pipeline.predict.sentiment import SentimentPredictor
from pipeline.training.logger import NullLogger
from pipeline.training.sentiment_task import (
    SentimentConfig,
    load_config_file,
    train_sentiment,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "sentiment_imdb.json"
PRESETS = ("s1", "s2", "s3_lstm", "s3_gru", "s4")  # the lecture models, configs/presets/NAME.yaml
CONFIGS = {name: ROOT / f"configs/presets/{name}.yaml" for name in PRESETS}
VARIANTS = {"lstm": {"encoder": "lstm"}, "frozen": {"embeddings": "frozen"}}
RUNS = ["baseline", "project", *PRESETS, *VARIANTS]


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_baseline(args: argparse.Namespace) -> dict:
    """Fit TF-IDF + LR (``C`` chosen on dev) and score it on test."""
    data = {name: load_examples(args.data_dir / f"{name}.jsonl", "label") for name in ("train", "dev", "test")}
    labels = class_labels(data["train"].targets)
    y = {name: class_indices(ex, labels, name) for name, ex in data.items()}
    start = time.perf_counter()
    model, dev_scores = TfidfBaseline.fit(BaselineConfig(), data["train"].tokens, y["train"], data["dev"].tokens, y["dev"], labels)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    probs = model.predict_proba(data["test"].tokens)
    seconds = time.perf_counter() - start
    test = classification_metrics(y["test"], probs, labels)
    return {
        "test_acc": test["accuracy"],
        "test_roc_auc": test["roc_auc"],
        "train_s": train_s,
        "docs_per_s": len(probs) / seconds,
        "dev_acc_by_C": {f"{c:g}": acc for c, acc in dev_scores.items()},
        "C": float(model.classifier.C),
        "features": len(model.vectorizer.vocabulary_),
    }


def neural_config(name: str, variant_epochs: int) -> SentimentConfig:
    """The config of a trained run: a preset's YAML file, or the full profile's with one model field changed."""
    if name in CONFIGS:
        return load_config_file(CONFIGS[name])
    raw = full_section(SentimentConfig, "sentiment").model_dump(mode="json")
    raw["model"] |= VARIANTS[name]
    raw["train"]["epochs"] = variant_epochs
    return build_section(SentimentConfig, raw, FULL_PROFILE, f"variant {name}")


def run_pipeline_model(args: argparse.Namespace) -> dict:
    """The full-profile pipeline's classifier, scored on the test split and timed (it trained in ``dvc exp run``)."""
    model_dir = args.pipeline / paths.SENTIMENT_MODEL
    test = score_model(model_dir, args.data_dir / "test.jsonl").metrics()
    metrics = json.loads((args.pipeline / paths.METRICS / "sentiment.json").read_text(encoding="utf-8"))
    return {
        "test_acc": test["accuracy"],
        "test_roc_auc": test["roc_auc"],
        "dev_acc": metrics["dev_accuracy"],
        "train_s": pipeline_stage_s(args.pipeline, "train_sentiment"),
        "docs_per_s": test["docs_per_s"],
        "parameters": count_parameters(SentimentPredictor.load(model_dir).model),
        "model": str(model_dir),
        "config": read_config(model_dir),
    }


def run_neural(name: str, args: argparse.Namespace) -> dict:
    """Train one classifier from scratch in ``work_dir/name`` and score its best epoch on test."""
    cfg = neural_config(name, args.variant_epochs)
    out_dir = args.work_dir / name
    shutil.rmtree(out_dir, ignore_errors=True)
    start = time.perf_counter()
    result = train_sentiment(cfg, args.data_dir, args.vectors, out_dir, NullLogger())
    train_s = time.perf_counter() - start
    scored = score_model(result.model_dir, args.data_dir / "test.jsonl")
    test = scored.metrics()
    return {
        "test_acc": test["accuracy"],
        "test_roc_auc": test["roc_auc"],
        "train_s": train_s,
        "docs_per_s": test["docs_per_s"],
        "epochs_run": len(result.history),
        "best_epoch": result.best_epoch,
        "dev_acc_by_epoch": [round(h["dev_acc"], 4) for h in result.history],
        "train_tokens_per_s": round(sum(h["tokens_per_s"] for h in result.history) / len(result.history)),
        "parameters": count_parameters(SentimentPredictor.load(result.model_dir).model),
        "config": cfg.model_dump(mode="json"),
    }


def result_file(args: argparse.Namespace, name: str) -> Path:
    return args.work_dir / f"{name}.result.json"


def child(args: argparse.Namespace) -> None:
    """Run one benchmark in this process and write its result for the parent."""
    torch.set_num_threads(args.threads)
    runs = {"baseline": run_baseline, "project": run_pipeline_model}
    result = runs[args.run](args) if args.run in runs else run_neural(args.run, args)
    result["peak_rss_mb"] = round(peak_rss_mb())
    write_json(result_file(args, args.run), result)


def summary(runs: dict) -> dict:
    """The headline keys the issue asks for, from whichever runs exist."""
    keys = {}
    for name in ("project", "baseline", *PRESETS, *VARIANTS):
        if name in runs:
            keys[f"{name}_test_acc"] = runs[name]["test_acc"]
            keys[f"{name}_train_s"] = runs[name]["train_s"] and round(runs[name]["train_s"], 1)
            keys[f"{name}_docs_per_s"] = round(runs[name]["docs_per_s"], 1)
    return keys


def print_table(runs: dict) -> None:
    """One line per run."""
    print(f"{'run':10} {'test acc':>8} {'AUC':>7} {'train s':>8} {'docs/s':>8} {'peak MB':>8}  epochs (dev acc)")
    for name, r in runs.items():
        epochs = f"{r.get('epochs_run', '')} {r.get('dev_acc_by_epoch', r.get('dev_acc_by_C', ''))}"
        print(
            f"{name:10} {r['test_acc']:8.4f} {r['test_roc_auc']:7.4f} {r['train_s'] or 0:8.0f} "
            f"{r['docs_per_s']:8.0f} {r['peak_rss_mb']:8.0f}  {epochs}"
        )


def read_runs(path: Path) -> dict:
    """The runs recorded so far in the results JSON."""
    return json.loads(path.read_text())["runs"] if path.exists() else {}


def parent(args: argparse.Namespace) -> None:
    """Run each requested benchmark in a child process and merge its result into the JSON."""
    for name in args.only or RUNS:
        command = [sys.executable, __file__, "--run", name, *forwarded(args)]
        print(f"== {name}", flush=True)
        result_file(args, name).unlink(missing_ok=True)
        returncode = subprocess.run(command).returncode
        if returncode != 0:
            sys.exit(f"run {name} failed (exit {returncode})")
        runs = read_runs(args.json)  # read again: another invocation (--only) may have added runs meanwhile
        runs[name] = json.loads(result_file(args, name).read_text())
        report = {
            **summary(runs),
            "runs": runs,
            "threads": args.threads,
            "variant_epochs": args.variant_epochs,
            "data_dir": str(args.data_dir),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__},
        }
        write_json(args.json, report)
    print_table(read_runs(args.json))


def forwarded(args: argparse.Namespace) -> list[str]:
    """The options a child needs to repeat the parent's setup."""
    return [
        "--data-dir", str(args.data_dir),
        "--vectors", str(args.vectors),
        "--work-dir", str(args.work_dir),
        "--threads", str(args.threads),
        "--variant-epochs", str(args.variant_epochs),
        "--pipeline", str(args.pipeline),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "outputs/prepared/sentiment")
    parser.add_argument("--pipeline", type=Path, default=ROOT, help="a project where the full profile ran")
    parser.add_argument("--vectors", type=Path, default=ROOT / "outputs/word2vec/vectors.bin")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/sentiment_imdb"))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (another benchmark may hold the other cores)")
    parser.add_argument("--variant-epochs", type=int, default=2)
    parser.add_argument("--only", nargs="+", choices=RUNS)
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument("--run", choices=RUNS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    (child if args.run else parent)(args)


if __name__ == "__main__":
    main()
