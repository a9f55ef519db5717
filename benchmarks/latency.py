"""Single-text latency: one ``nlp(text)`` call at a time, the project's components beside spaCy's own ``ner``.

What a service sees per request: ``--sentences`` CoNLL-2003 ``eng.testb``
sentences as plain text (tokens joined by spaces, spread evenly over the
file) through ``nlp(text)``, the project's ``w2v_ner`` (its default engine,
``quantize: int8`` and ``engine: torch``) and spaCy's ``ner`` timed in
alternation (the order flips every text, so a load spike hits all alike), and ``--reviews`` IMDB test reviews through ``w2v_textcat``. One
torch/BLAS thread, a warm-up before timing. Milliseconds per call at p50,
p90 and p99 go to ``benchmarks/results/latency.json``.

The project's models are the full-profile pipeline's (``--pipeline``, a
project where ``python benchmarks/full_profile.py`` ran); spaCy's is the one
``benchmarks/ner_conll2003.py --only spacy`` trains.

    python benchmarks/latency.py --pipeline ../fullrun [--spacy-model DIR]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import spacy
import torch
from common import ROOT, SHARED, load_avg, require, spread
from spacy_speed import project_pipeline
from threadpoolctl import threadpool_limits

from pipeline import paths
from pipeline.atomic import write_json
from pipeline.data.conll import read_conll
from pipeline.data.imdb import read_imdb

RESULTS = ROOT / "benchmarks" / "results" / "latency.json"
WARMUP = 50  # calls per pipeline before timing
PERCENTILES = (50, 90, 99)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pipeline", type=Path, default=ROOT, help="a project where the full profile ran")
    parser.add_argument("--spacy-model", type=Path, default=Path("/tmp/ner_conll2003/spacy/model/model-best"))
    parser.add_argument("--conll", type=Path, default=SHARED / "conll2003" / "eng.testb.gz")
    parser.add_argument("--imdb", type=Path, default=SHARED / "aclimdb" / "test.jsonl.gz")
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--reviews", type=int, default=250)
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args()


def call_ms(call: Callable[[str], object], text: str) -> float:
    """Milliseconds of one call."""
    start = time.perf_counter()
    call(text)
    return 1000 * (time.perf_counter() - start)


def alternating_ms(calls: dict[str, Callable[[str], object]], texts: list[str]) -> dict[str, list[float]]:
    """Each call's milliseconds on every text, the calls taking turns and their order flipping every text."""
    for call in calls.values():
        for text in texts[:WARMUP]:
            call(text)
    names = list(calls)
    out: dict[str, list[float]] = {name: [] for name in names}
    for i, text in enumerate(texts):
        for name in names if i % 2 == 0 else names[::-1]:
            out[name].append(call_ms(calls[name], text))
    return out


def summary(ms: list[float]) -> dict[str, float]:
    """p50 / p90 / p99 and the mean, in milliseconds."""
    values = np.asarray(ms)
    return {**{f"p{q}_ms": round(float(np.percentile(values, q)), 3) for q in PERCENTILES},
            "mean_ms": round(float(values.mean()), 3)}


def print_table(runs: dict[str, dict]) -> None:
    print(f"{'ms per call':26}" + "".join(f"{f'p{q}':>9}" for q in PERCENTILES) + f"{'mean':>9}")
    for name, row in runs.items():
        print(f"{name:26}" + "".join(f"{row[f'p{q}_ms']:>9.3f}" for q in PERCENTILES) + f"{row['mean_ms']:>9.3f}")


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    conll = require(args.conll, "CoNLL-2003 eng.testb")
    sentences = spread([" ".join(s.words) for s in read_conll(conll, "iob1", "iob2") if s.words], args.sentences)
    reviews = spread([r.text for r in read_imdb(require(args.imdb, "IMDB test reviews"))], args.reviews)
    ner_model = require(args.pipeline / paths.NER_MODEL, "run benchmarks/full_profile.py")
    textcat_model = require(args.pipeline / paths.SENTIMENT_MODEL, "run benchmarks/full_profile.py")
    with threadpool_limits(limits=1):
        ner = alternating_ms({"project_ner": project_pipeline("w2v_ner", ner_model),
                              "project_ner_int8": project_pipeline("w2v_ner", ner_model, quantize="int8"),
                              "project_ner_torch": project_pipeline("w2v_ner", ner_model, engine="torch"),
                              "spacy_ner": spacy.load(require(args.spacy_model, "run benchmarks/ner_conll2003.py --only spacy"))},
                             sentences)
        textcat = alternating_ms({"project_textcat": project_pipeline("w2v_textcat", textcat_model)}, reviews)
    runs = {name: summary(ms) for name, ms in (ner | textcat).items()}
    flat = {f"{name}_{key}": value for name, row in runs.items() for key, value in row.items() if key != "mean_ms"}
    write_json(args.out, {**flat, "runs": runs, "setup": {
        "threads": 1, "sentences": len(sentences), "reviews": len(reviews), "warmup_calls": WARMUP,
        "load_avg_at_end": load_avg(), "spacy_version": spacy.__version__, "torch_version": torch.__version__,
        "models": {"ner": str(ner_model), "spacy_ner": str(args.spacy_model), "textcat": str(textcat_model)}}})
    print_table(runs)


if __name__ == "__main__":
    from pipeline.runner import run

    run(main)
