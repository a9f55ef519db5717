"""Full CoNLL-2003 NER benchmark: the project's default tagger against spaCy 3.8's own ``ner`` pipeline.

Both systems read the same files through the project's CoNLL reader (IOB1 →
IOB2): ``eng.train`` to train, ``eng.testa`` for early stopping / spaCy's dev
scoring, ``eng.testb`` scored once by the same conlleval-equivalent scorer
(:func:`pipeline.evaluation.ner.entity_scores`). Reported per system: testb
F1 overall and per type, training wall time, inference words/s (tagging
pre-tokenized testb) and peak RSS.

Runs (each a child process, so its peak RSS is its own and a crash loses one run):

* ``project``: the champion the full-profile pipeline trained and registered
  (``python benchmarks/full_profile.py``, i.e. ``dvc exp run -S data.profile=full``) in ``--pipeline`` (this
  checkout by default): its ``outputs/ner/model`` scored on testb here, with the same scorer as spaCy, and timed.
* ``spacy``: ``spacy init config -l en -p ner -o efficiency``, ``spacy train``
  with its default settings, capped at ``--spacy-cap-s`` wall seconds (its
  best-on-dev model so far is kept when the cap stops it).
* ablations (trained here, outside the pipeline, on ``--vectors``) ``frozen``, ``random``, ``gru``, ``rnn``, ``softmax``,
  ``nochar``, ``nowordrop``, ``nodoc`` and their reference ``default``: one
  change each to the default model, trained for only ``--ablation-epochs`` epochs.

Every child uses one torch/BLAS thread. ``spacy`` runs in parallel with the
others unless ``--sequential``. Results are merged into
``benchmarks/results/ner_conll2003.json`` after each run (``--only`` re-runs
some and keeps the others; ``--collect`` merges finished runs' results from
``--work`` without training, e.g. after the parent process was stopped).
``load_avg_at_end`` in each run records how busy the shared machine was.

    python benchmarks/ner_conll2003.py --vectors ../fullrun/outputs/word2vec/vectors.bin [--only project spacy]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, THREAD_ENV, load_avg, ner_full_config, pipeline_stage_s
from spacy_peer import score_spacy, train_spacy

from pipeline import paths
from pipeline.atomic import write_json
from pipeline.data.conll import read_conll
from pipeline.evaluation.ner import entity_scores
from pipeline.model_dir import read_config
from pipeline.training.logger import NullLogger
from pipeline.training.ner_task import train

RESULTS = ROOT / "benchmarks" / "results" / "ner_conll2003.json"
SPLITS = {"train": "eng.train.gz", "dev": "eng.testa.gz", "test": "eng.testb.gz"}
ABLATIONS = {
    "default": {},
    "frozen": {"embedding": "frozen"},
    "random": {"embedding": "random"},
    "gru": {"encoder": "gru"},
    "rnn": {"encoder": "rnn"},
    "softmax": {"decoder": "softmax"},
    "nochar": {"char_encoder": "none"},
    "nowordrop": {"word_dropout": 0.0},
    "nodoc": {"doc_context": False},
}
RUNS = ["spacy", "project", *(f"ablation_{name}" for name in ABLATIONS)]


def peak_rss_mb() -> float:
    """Peak resident memory of this process and its finished children (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def read_split(data: Path, split: str) -> tuple[list[tuple[list[str], list[str]]], list[int]]:
    """One CoNLL file as ``(tokens, IOB2 tags)`` and document numbers, read and repaired as ``prepare`` does."""
    sentences = list(read_conll(data / SPLITS[split], scheme="iob1", target="iob2"))
    return [(s.words, s.tags) for s in sentences], [s.doc for s in sentences]


def summarise(scores: dict) -> dict:
    """The result fields shared by every system: micro P/R/F1, token accuracy, per-type F1."""
    return {
        "test_precision": round(scores["precision"], 2),
        "test_recall": round(scores["recall"], 2),
        "test_f1": round(scores["f1"], 2),
        "test_token_accuracy": round(scores["token_accuracy"], 2),
        "test_per_type_f1": {t: round(s["f1"], 2) for t, s in scores["per_type"].items()},
    }


def run_tagger(args: argparse.Namespace, name: str, overrides: dict, epochs: int | None) -> dict:
    """Train the project tagger (default config plus ``overrides``), score testb, time inference."""
    import torch

    from pipeline.predict.ner import NerPredictor

    torch.set_num_threads(1)
    cfg = ner_full_config(overrides, epochs)
    split = {name: read_split(args.data, name) for name in SPLITS}
    data, docs = {name: records for name, (records, _) in split.items()}, {name: d for name, (_, d) in split.items()}
    out = args.work / name
    start = time.perf_counter()
    result = train(cfg, data["train"], data["dev"], args.vectors, out, NullLogger(), docs=(docs["train"], docs["dev"]))
    train_s = time.perf_counter() - start
    predictor = NerPredictor.load(result.model_dir)
    tokens = [t for t, _ in data["test"]]
    start = time.perf_counter()
    predicted = predictor.predict_tokens(tokens, docs["test"])
    infer_s = time.perf_counter() - start
    epoch_s = [h["epoch_s"] for h in result.history]
    return {
        **summarise(entity_scores([g for _, g in data["test"]], predicted)),
        "dev_f1": round(result.best_score, 2),
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "dev_f1_by_epoch": [round(h["dev_f1"], 2) for h in result.history],
        "train_s": round(train_s, 1),
        "epoch_s": round(sum(epoch_s) / len(epoch_s), 1),
        "epoch_s_max": round(max(epoch_s), 1),
        "words_per_s": round(sum(map(len, tokens)) / infer_s),
        "peak_rss_mb": round(peak_rss_mb()),
        "load_avg_at_end": load_avg(),
        "config": cfg.model_dump(mode="json"),
    }


def run_spacy(args: argparse.Namespace) -> dict:
    """spaCy's efficiency ``ner`` trained with its default settings (wall-time cap), then testb scored."""
    data = {split: read_split(args.data, split)[0] for split in SPLITS}
    trained = train_spacy(data["train"], data["dev"], args.work / "spacy", args.spacy_cap_s)
    scores, words_per_s = score_spacy(trained.pop("model"), data["test"])
    return {**summarise(scores), **trained, "words_per_s": round(words_per_s), "peak_rss_mb": round(peak_rss_mb()),
            "load_avg_at_end": load_avg()}


def run_pipeline_model(args: argparse.Namespace) -> dict:
    """The full-profile pipeline's NER model, scored on testb and timed (its training ran in ``dvc exp run``)."""
    import torch

    from pipeline.predict.ner import NerPredictor

    torch.set_num_threads(1)
    test, docs = read_split(args.data, "test")
    model_dir = args.pipeline / paths.NER_MODEL
    predictor = NerPredictor.load(model_dir)
    tokens = [t for t, _ in test]
    start = time.perf_counter()
    predicted = predictor.predict_tokens(tokens, docs)
    infer_s = time.perf_counter() - start
    metrics = json.loads((args.pipeline / paths.METRICS / "ner.json").read_text(encoding="utf-8"))
    return {
        **summarise(entity_scores([g for _, g in test], predicted)),
        "dev_f1": round(metrics["dev_f1"], 2),
        "train_s": pipeline_stage_s(args.pipeline, "train_ner"),
        "words_per_s": round(sum(map(len, tokens)) / infer_s),
        "peak_rss_mb": round(peak_rss_mb()),
        "load_avg_at_end": load_avg(),
        "model": str(model_dir),
        "config": read_config(model_dir),
    }


def run_one(args: argparse.Namespace) -> dict:
    """Run ``args.child`` in this process."""
    if args.child == "spacy":
        return run_spacy(args)
    if args.child == "project":
        return run_pipeline_model(args)
    name = args.child.removeprefix("ablation_")
    return run_tagger(args, args.child, ABLATIONS[name], args.ablation_epochs)


def merge(name: str, result: dict) -> dict:
    """Store one run's result in the results JSON (other runs kept) and refresh the headline fields."""
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    results.setdefault("runs", {})[name] = result
    runs = results["runs"]
    for system in ("project", "spacy"):
        if system in runs:
            for key in ("test_f1", "train_s", "words_per_s", "peak_rss_mb", "test_per_type_f1"):
                results[f"{system}_{key}"] = runs[system][key]
    ablation = runs.get("ablation_default") or next((r for n, r in runs.items() if n.startswith("ablation_")), None)
    results["setup"] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "threads_per_run": 1,
        "schedule": "spaCy trained " + ("after" if ARGS.sequential else "in parallel with") + " the project runs",
        "ablation_epochs": ablation["config"]["train"]["epochs"] if ablation else None,
        "spacy_cap_s": runs["spacy"]["cap_s"] if "spacy" in runs else None,
        "data": "CoNLL-2003 eng.train (train), eng.testa (dev/early stopping), eng.testb (test, scored once)",
    }
    write_json(RESULTS, results)
    return results


def child(name: str) -> subprocess.Popen:
    """Start one run as a child process writing its result JSON to the work directory."""
    argv = [sys.executable, __file__, "--child", name, *sys.argv[1:]]
    return subprocess.Popen(argv, env={**os.environ, **THREAD_ENV})


def collect(name: str, process: subprocess.Popen) -> None:
    """Wait for a child and merge its result (a failed run is reported, the others go on)."""
    if process.wait() != 0:
        print(f"run {name} failed with status {process.returncode}", file=sys.stderr)
        return
    merge(name, json.loads((ARGS.work / f"{name}.json").read_text(encoding="utf-8")))


def print_table(results: dict) -> None:
    """Project and spaCy side by side, then the ablations."""
    runs = results.get("runs", {})
    rows = [("test F1", "test_f1"), ("train s", "train_s"), ("words/s", "words_per_s"), ("peak RSS MB", "peak_rss_mb")]
    print(f"{'':14}{'project':>12}{'spaCy':>12}")
    for label, key in rows:
        print(f"{label:14}" + "".join(f"{runs.get(s, {}).get(key, '-'):>12}" for s in ("project", "spacy")))
    types = sorted(runs.get("project", runs.get("spacy", {})).get("test_per_type_f1", {}))
    for t in types:
        print(f"{'F1 ' + t:14}" + "".join(f"{runs.get(s, {}).get('test_per_type_f1', {}).get(t, '-'):>12}"
                                          for s in ("project", "spacy")))
    print(f"\nablation ({results.get('setup', {}).get('ablation_epochs')} epochs): name, dev F1, test F1, epoch s")
    for name in ABLATIONS:
        run = runs.get(f"ablation_{name}")
        if run:
            print(f"  {name:10}{run['dev_f1']:>8}{run['test_f1']:>8}{run['epoch_s']:>8}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/conll2003")
    parser.add_argument("--vectors", type=Path, default=ROOT / "outputs/word2vec/vectors.bin", help="for the ablations")
    parser.add_argument("--pipeline", type=Path, default=ROOT, help="a project where the full profile ran")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ner_conll2003")
    parser.add_argument("--spacy-cap-s", type=int, default=1800)
    parser.add_argument("--ablation-epochs", type=int, default=3)
    parser.add_argument("--only", nargs="+", choices=RUNS, default=RUNS)
    parser.add_argument("--sequential", action="store_true", help="run spaCy after, not beside, the project runs")
    parser.add_argument("--collect", action="store_true",
                        help="only merge the --only runs' finished results from --work (after an interrupted run)")
    parser.add_argument("--child", choices=RUNS, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    if ARGS.child:
        write_json(ARGS.work / f"{ARGS.child}.json", run_one(ARGS))
        return
    ARGS.work.mkdir(parents=True, exist_ok=True)
    if ARGS.collect:
        for name in ARGS.only:
            merge(name, json.loads((ARGS.work / f"{name}.json").read_text(encoding="utf-8")))
        print_table(json.loads(RESULTS.read_text(encoding="utf-8")))
        return
    background = child("spacy") if "spacy" in ARGS.only and not ARGS.sequential else None
    for name in [r for r in ARGS.only if r != "spacy"]:
        collect(name, child(name))
    if background is not None:
        collect("spacy", background)
    elif "spacy" in ARGS.only:
        collect("spacy", child("spacy"))
    print_table(json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {})


if __name__ == "__main__":
    ARGS = parse_args()
    main()
