"""Where the time of ``nlp.pipe`` goes, for ``w2v_ner`` on CoNLL-2003 ``eng.testb`` and ``w2v_textcat`` on IMDB reviews.

Plain text (the sentences' tokens joined by spaces; the reviews' raw text)
runs through ``nlp.pipe`` (batch 256, one thread) under ``cProfile``, and
each step's cumulative seconds are read from the profile: spaCy's tokenizer,
the component's own work on the Docs (token texts, segments, spans), the
memo of gate inputs (with the features of tokens it has not seen), the
recurrence, Viterbi, and writing the annotations. The profiler's cost per Python call inflates the Python-heavy
steps, so the shares are a map of where to look, not a stopwatch; the
unprofiled words/s and docs/s are reported beside them. Writes
``benchmarks/results/inference_profile.json``.

    python benchmarks/inference_profile.py --pipeline ../fullrun [--limit N]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable
from pathlib import Path

import torch
from common import ROOT, SHARED, load_avg, require, spread
from spacy.language import Language
from spacy_speed import project_pipeline
from threadpoolctl import threadpool_limits

from pipeline import paths
from pipeline.atomic import write_json
from pipeline.data.conll import read_conll
from pipeline.data.imdb import read_imdb
from pipeline.models.classifier import ClassifierAssets
from pipeline.models.crf import viterbi_arrays
from pipeline.models.numpy_classifier import NumpyClassifier
from pipeline.models.numpy_encoder import NumpyEncoder
from pipeline.models.numpy_rnn import GateMemo, RecurrentStack
from pipeline.predict.ner import NerPredictor
from pipeline.spacy_components.base import token_texts
from pipeline.spacy_components.ner import W2VEntityRecognizer, segments
from pipeline.spacy_components.textcat import W2VTextCategorizer

RESULTS = ROOT / "benchmarks" / "results" / "inference_profile.json"
BATCH = 256
# step name → the function whose cumulative time is the step's (the default engines: numpy)
NER_STEPS = {
    "spaCy tokenizer": Language.make_doc,
    "component predict (all below)": W2VEntityRecognizer.predict,
    "  token texts": token_texts,
    "  segments": segments,
    "  memo lookup, new tokens' features (GateMemo.rows)": GateMemo.rows,
    "  BiLSTM (RecurrentStack.states)": RecurrentStack.states,
    "  document memory": NumpyEncoder._memory,
    "  Viterbi": viterbi_arrays,
    "  spans from tags": NerPredictor._spans,
    "set_annotations (doc.ents)": W2VEntityRecognizer.set_annotations,
}
TEXTCAT_STEPS = {
    "spaCy tokenizer": Language.make_doc,
    "component predict (all below)": W2VTextCategorizer.predict,
    "  token texts": token_texts,
    "  token ids (vocabulary lookup)": ClassifierAssets.encode,
    "  memo lookup, new words' gate inputs (GateMemo.rows)": GateMemo.rows,
    "  BiGRU (RecurrentStack.states)": RecurrentStack.states,
    "  pooling": NumpyClassifier._pool,
    "set_annotations (doc.cats)": W2VTextCategorizer.set_annotations,
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pipeline", type=Path, default=ROOT, help="a project where the full profile ran")
    parser.add_argument("--conll", type=Path, default=SHARED / "conll2003" / "eng.testb.gz")
    parser.add_argument("--imdb", type=Path, default=SHARED / "aclimdb" / "test.jsonl.gz")
    parser.add_argument("--reviews", type=int, default=1000, help="IMDB test reviews, evenly spread")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args()


def cumulative(stats: pstats.Stats, function: Callable) -> float:
    """Cumulative seconds of ``function`` in the profile (its outermost calls: nested time is not counted twice)."""
    code = function.__code__
    row = stats.stats.get((code.co_filename, code.co_firstlineno, code.co_name))
    return row[3] if row else 0.0


def profile_pipe(nlp: Language, texts: list[str], steps: dict[str, Callable]) -> dict:
    """Unprofiled seconds of one ``nlp.pipe`` pass, then each step's profiled seconds and share of the profiled pass."""
    list(nlp.pipe(texts[:BATCH], batch_size=BATCH))  # warm-up
    start = time.process_time()
    list(nlp.pipe(texts, batch_size=BATCH))
    seconds = time.process_time() - start
    profiler = cProfile.Profile()
    profiler.enable()
    list(nlp.pipe(texts, batch_size=BATCH))
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    rows = {step: round(cumulative(stats, function), 3) for step, function in steps.items()}
    return {"cpu_s": round(seconds, 3), "profiled_s": round(total, 3),
            "steps": {step: {"s": s, "share": round(s / total, 3)} for step, s in rows.items()}}


def print_profile(title: str, run: dict, unit: str) -> None:
    print(f"\n{title}: {run[unit]:,} {unit.replace('_', ' ')} unprofiled ({run['cpu_s']} CPU s); profiled {run['profiled_s']} s")
    for step, row in run["steps"].items():
        print(f"  {step:62}{row['s']:>8.3f} s{100 * row['share']:>7.1f} %")


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    sentences = [s.words for s in read_conll(require(args.conll, "CoNLL-2003 eng.testb"), "iob1", "iob2") if s.words]
    reviews = spread([r.text for r in read_imdb(require(args.imdb, "IMDB test reviews"))], args.reviews)
    with threadpool_limits(limits=1):
        ner = profile_pipe(project_pipeline("w2v_ner", require(args.pipeline / paths.NER_MODEL, "the full profile")),
                           [" ".join(words) for words in sentences], NER_STEPS)
        textcat = profile_pipe(project_pipeline("w2v_textcat", require(args.pipeline / paths.SENTIMENT_MODEL, "the full profile")),
                               reviews, TEXTCAT_STEPS)
    ner["words_per_s"] = round(sum(map(len, sentences)) / ner["cpu_s"])
    textcat["docs_per_s"] = round(len(reviews) / textcat["cpu_s"], 1)
    write_json(args.out, {"ner": ner, "textcat": textcat, "setup": {
        "threads": 1, "batch_size": BATCH, "sentences": len(sentences), "reviews": len(reviews),
        "load_avg_at_end": load_avg(), "torch_version": torch.__version__, "pipeline": str(args.pipeline)}})
    print_profile("w2v_ner on eng.testb as text", ner, "words_per_s")
    print_profile("w2v_textcat on IMDB test reviews", textcat, "docs_per_s")


if __name__ == "__main__":
    from pipeline.runner import run

    run(main)
