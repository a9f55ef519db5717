"""The full profile through the pipeline: ``dvc exp run -S data.profile=full``, then its registered champions' scores.

This is the run the README's NER and sentiment figures come from. It runs the
pipeline a user runs (every stage, MLflow tracking and registration included)
in this checkout, on the full CoNLL-2003 and IMDB data (``--data``, passed as
``-S data.root=...``), and writes
``benchmarks/results/full_profile.json``: the test scores of the registered
champions (NER entity F1 on ``eng.testb``, IMDB test accuracy) beside the
TF-IDF + LR baseline trained in the same run, the registered versions, the
wall time, each stage's wall time and peak RSS, and the machine's load.

    python benchmarks/full_profile.py --data ../shared/data [-S sentiment.train.epochs=3 ...]
    python benchmarks/full_profile.py --collect     # only re-read a finished run's metrics and registry
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, load_avg
from mlflow.tracking import MlflowClient

from pipeline import paths
from pipeline.atomic import write_json
from pipeline.model_dir import read_json_if_written
from pipeline.runner import STATS_ENV
from pipeline.tracking.mlflow_logger import tracking_uri
from pipeline.tracking.registry import current_champion

RESULTS = ROOT / "benchmarks" / "results" / "full_profile.json"


def full_command(data: Path, overrides: list[str]) -> list[str]:
    """``dvc exp run -S data.profile=full -S data.root=DATA [-S ...]``: the README's full-profile command."""
    return ["dvc", "exp", "run", "-S", "data.profile=full", "-S", f"data.root={data}",
            *(a for o in overrides for a in ("-S", o))]


def run_pipeline(data: Path, overrides: list[str], stats: Path, log: Path) -> float:
    """The full-profile command in ROOT, its output in ``log``; returns the wall seconds."""
    env = os.environ | {STATS_ENV: str(stats), "PIPELINE_PROGRESS": "log"}
    cmd = full_command(data, overrides)
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as fh:
        done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, check=False)
    if done.returncode:
        sys.exit(f"error: {' '.join(cmd)} exited {done.returncode}; its output is in {log}")
    return time.perf_counter() - start


def champion_versions() -> dict[str, str | None]:
    """The version each registered model's ``champion`` alias points at."""
    client = MlflowClient(tracking_uri())
    return {name: current_champion(name, client) for name in (paths.NER_MODEL_NAME, paths.SENTIMENT_MODEL_NAME)}


def stage_stats(stats: Path) -> dict[str, dict]:
    """Each stage's last recorded wall time and peak RSS (``PIPELINE_STAGE_STATS`` lines)."""
    if not stats.exists():
        return {}
    lines = [json.loads(line) for line in stats.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {line["stage"]: {"wall_s": line["wall_s"], "peak_rss_mb": line["peak_rss_mb"]} for line in lines}


def collect(wall_s: float | None, stages: dict[str, dict], command: list[str]) -> dict:
    """The result record, read from what the stages wrote (``metrics/*.json``) and from the registry."""
    ner, sentiment, baseline, spacy = (read_json_if_written(ROOT / paths.METRICS / f"{n}.json")
                                       for n in ("ner", "sentiment", "baseline", "spacy"))
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
    return {
        "command": " ".join(command),
        "commit": commit,
        "ner_dev_f1": ner.get("dev_f1"), "ner_test_f1": ner.get("test_f1"),
        "sentiment_dev_accuracy": sentiment.get("dev_accuracy"),
        "sentiment_test_accuracy": sentiment.get("test_accuracy"),
        "baseline_test_accuracy": baseline.get("test_accuracy"),
        "spacy_pipeline": spacy,
        "registered_champions": champion_versions(),
        "wall_s": None if wall_s is None else round(wall_s),
        "stages": stages,
        "peak_rss_mb": {name: s["peak_rss_mb"] for name, s in stages.items()},
        "load_avg_at_end": load_avg(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"),
                        help="the full data root (CoNLL-2003 + IMDB, with SHA256SUMS), relative to the project")
    parser.add_argument("-S", "--set", dest="overrides", action="append", default=[],
                        help="one more `dvc exp run -S` parameter, e.g. sentiment.train.epochs=3")
    parser.add_argument("--collect", action="store_true", help="do not run; re-read the finished run")
    parser.add_argument("--log", type=Path, default=Path(tempfile.gettempdir()) / "full_profile.log")
    args = parser.parse_args()
    stats = args.log.with_suffix(".stages.jsonl")
    wall_s = None
    if not args.collect:
        stats.unlink(missing_ok=True)
        wall_s = run_pipeline(args.data, args.overrides, stats, args.log)
    result = collect(wall_s, stage_stats(stats), full_command(args.data, args.overrides))
    if args.collect and RESULTS.exists():
        previous = json.loads(RESULTS.read_text(encoding="utf-8"))
        result |= {k: previous[k] for k in ("command", "wall_s", "stages", "peak_rss_mb") if not result.get(k)}
    write_json(RESULTS, result)
    print(f"{'measure':<28}{'value':>10}")
    for key in ("ner_test_f1", "sentiment_test_accuracy", "baseline_test_accuracy", "wall_s"):
        print(f"{key:<28}{result[key]!s:>10}")
    for name, version in result["registered_champions"].items():
        print(f"{name + ' champion':<28}{'v' + str(version):>10}")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
