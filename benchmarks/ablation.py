"""The README's ablation table: registered versions of one full-profile workspace, side by side.

Each row names a configuration and the registered NER and sentiment versions
its ``dvc exp run -S ...`` produced in the workspace ``--project`` (one MLflow
store, so ``w2vp mlflow compare`` lists the same versions). A row's dev and
test scores and training time (the MLflow duration of the ``train_*`` run of the
same experiment) come from the registry; its inference speed is measured here, every row's models in
alternation over ``--rounds`` on one thread: NER words/s on the prepared test
sentences (``NerPredictor``, default engine) and sentiment docs/s on the
prepared test reviews (pre-tokenized, the first ``--reviews``).

    python benchmarks/ablation.py --project <full-profile workspace> --row word2vec=1:1 --row fasttext=2:2

Writes ``benchmarks/results/ablation.json`` and prints the table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from urllib.parse import urlparse

import torch
from common import THREAD_ENV, load_avg, require
from mlflow.tracking import MlflowClient

from pipeline import paths
from pipeline.atomic import write_json
from pipeline.data.jsonl import read_jsonl
from pipeline.predict.ner import NerPredictor
from pipeline.predict.sentiment import SentimentPredictor
from pipeline.tracking.mlflow_logger import tracking_uri

RESULTS = Path(__file__).parent / "results" / "ablation.json"
TASKS = {"ner": (paths.NER_MODEL_NAME, "dev_f1", "test_f1"),
         "sentiment": (paths.SENTIMENT_MODEL_NAME, "dev_accuracy", "test_accuracy")}


def registered(client: MlflowClient, task: str, version: str) -> dict:
    """A version's dev and test scores, its training run's seconds (same ``dvc exp run``) and model directory."""
    name, dev, test = TASKS[task]
    model_version = client.get_model_version(name, version)
    run = client.get_run(model_version.run_id)
    experiment = run.data.tags["dvc.exp_name"]
    trained = client.search_runs([run.info.experiment_id], f"tags.`dvc.exp_name` = '{experiment}' and "
                                                          f"tags.`dvc.stage` = 'train_{task}'")[0]
    logged = client.get_logged_model(model_version.source.rsplit("/", 1)[-1])
    model_dir = Path(urlparse(logged.artifact_location).path) / "artifacts" / "model"
    return {"version": version, "experiment": experiment, "dev": run.data.metrics.get(dev),
            "test": run.data.metrics.get(test),
            "train_s": round((trained.info.end_time - trained.info.start_time) / 1000, 1),
            "model_dir": str(require(model_dir, f"the model of {name} v{version}"))}


def timed(predict, items: list, unit_count: int) -> float:
    """Units per second of one ``predict(items)`` call."""
    start = time.perf_counter()
    predict(items)
    return unit_count / (time.perf_counter() - start)


def measure_speed(rows: dict[str, dict], sentences: list, reviews: list, rounds: int) -> None:
    """Median NER words/s and sentiment docs/s of every row's models, timed in alternation, written into ``rows``."""
    words = sum(map(len, sentences))
    loaded = {name: (NerPredictor.load(row["ner"]["model_dir"]), SentimentPredictor.load(row["sentiment"]["model_dir"]))
              for name, row in rows.items()}
    speeds = {name: {"ner": [], "sentiment": []} for name in rows}
    for _round in range(rounds):
        for name, (ner, sentiment) in loaded.items():
            speeds[name]["ner"].append(timed(ner.predict_tokens, sentences, words))
            speeds[name]["sentiment"].append(timed(sentiment.predict_proba, reviews, len(reviews)))
    for name, row in rows.items():
        row["ner"]["words_per_s"] = round(statistics.median(speeds[name]["ner"]))
        row["sentiment"]["docs_per_s"] = round(statistics.median(speeds[name]["sentiment"]), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="the full-profile workspace (its MLflow store)")
    parser.add_argument("--row", action="append", required=True, help="NAME=NER_VERSION:SENTIMENT_VERSION")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reviews", type=int, default=2000, help="test reviews timed per pass")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    os.environ.update(THREAD_ENV)
    torch.set_num_threads(1)
    os.chdir(args.project)
    client = MlflowClient(tracking_uri())
    rows = {}
    for spec in args.row:
        name, versions = spec.split("=")
        ner_version, sentiment_version = versions.split(":")
        rows[name] = {"ner": registered(client, "ner", ner_version),
                      "sentiment": registered(client, "sentiment", sentiment_version)}
    sentences = [r["tokens"] for r in read_jsonl(paths.NER_SPLITS / "test.jsonl")]
    reviews = [r["tokens"] for r in read_jsonl(paths.SENTIMENT_SPLITS / "test.jsonl")][: args.reviews]
    measure_speed(rows, sentences, reviews, args.rounds)
    result = {"project": str(args.project), "rows": rows, "rounds": args.rounds, "ner_sentences": len(sentences),
              "reviews": len(reviews), "threads": 1, "load_avg_at_end": load_avg()}
    write_json(args.out, result)
    print(f"{'row':12}{'NER dev':>9}{'test':>8}{'train s':>9}{'words/s':>9}{'sent dev':>10}{'test':>8}{'train s':>9}"
          f"{'docs/s':>8}")
    for name, row in rows.items():
        ner, sentiment = row["ner"], row["sentiment"]
        print(f"{name:12}{ner['dev']:>9.2f}{ner['test']:>8.2f}{ner['train_s']:>9}{ner['words_per_s']:>9,}"
              f"{sentiment['dev']:>10.4f}{sentiment['test']:>8.4f}{sentiment['train_s']:>9}{sentiment['docs_per_s']:>8}")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
