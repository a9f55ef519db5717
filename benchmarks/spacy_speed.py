"""Speed and accuracy of the project's spaCy components against spaCy's own ``ner`` pipeline.

NER: the sentences of CoNLL-2003 ``eng.testb`` as plain text (tokens joined
by spaces) go through ``nlp.pipe`` of two pipelines with the same batch
size, after a short warm-up, in ``--rounds`` alternating timed passes
(words/s from each pipeline's median pass; ``ratio`` is the median over
rounds of spaCy's seconds over ours in the same round):

* ``project``: ``spacy.blank("en")`` + ``w2v_ner`` on the full NER model, with
  its default engine (``auto``: numpy on batches), beside the same component with
  ``quantize: int8`` (ONNX Runtime) and with ``engine: torch`` (the training code's forward pass),
* ``spacy``: the ``ner`` pipeline spaCy trained on the same data
  (``tok2vec`` + ``ner``, efficiency preset).

Both reuse the models ``benchmarks/ner_conll2003.py`` writes (its ``--work``
directory, ``/tmp/ner_conll2003`` by default). Words/s counts the gold
tokens. Entity F1 of both comes from ``nlp.evaluate`` on the pre-tokenized
test sentences (spaCy's exact-span micro F1, as a percentage).

Sentiment: the IMDB test reviews through ``w2v_textcat`` (the model
``benchmarks/sentiment_imdb.py`` trains into ``/tmp/sentiment_imdb/project``):
documents/s (the median of ``--textcat-rounds`` passes), and accuracy of the most probable class; the same
component with ``quantize: int8`` (int8 recurrent weights on ONNX Runtime) and with
``max_batch_tokens: null`` (plain batches of ``batch_size`` reviews, as
before the cap) take turns with it on the same reviews, the order flipping every round.

Everything runs on one thread (torch and BLAS). Writes
``benchmarks/results/spacy_speed.json`` and prints a table.

    python benchmarks/spacy_speed.py [--ner-model DIR] [--spacy-model DIR] [--textcat-model DIR] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import spacy
import torch
from common import ROOT, SHARED, load_avg, require
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from threadpoolctl import threadpool_limits

import pipeline.spacy_components  # noqa: F401  (registers the factories when the entry points are not installed)
from pipeline.atomic import write_json
from pipeline.data.conll import read_conll
from pipeline.data.imdb import read_imdb

RESULTS = ROOT / "benchmarks" / "results" / "spacy_speed.json"
WARMUP = 64  # documents run before timing: first-call allocations and lazy imports are not throughput
Record = tuple[list[str], list[str]]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conll", type=Path, default=SHARED / "conll2003" / "eng.testb.gz")
    parser.add_argument("--imdb", type=Path, default=SHARED / "aclimdb" / "test.jsonl.gz")
    parser.add_argument("--ner-model", type=Path, default=Path("/tmp/ner_conll2003/project/model"))
    parser.add_argument("--spacy-model", type=Path, default=Path("/tmp/ner_conll2003/spacy/model/model-best"))
    parser.add_argument("--textcat-model", type=Path, default=Path("/tmp/sentiment_imdb/project/model"))
    parser.add_argument("--batch-size", type=int, default=256, help="documents per nlp.pipe batch, for every pipeline")
    parser.add_argument("--rounds", type=int, default=5, help="timed NER passes per pipeline, alternating the two")
    parser.add_argument("--textcat-rounds", type=int, default=3, help="timed passes over the reviews per textcat pipeline")
    parser.add_argument("--limit", type=int, default=None, help="only the first N sentences and reviews (smoke runs)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args()


def project_pipeline(component: str, model_dir: Path, **config) -> Language:
    """A blank English pipeline with one project component on ``model_dir`` (plus any other ``config`` keys)."""
    nlp = spacy.blank("en")
    nlp.add_pipe(component, config={"model": str(model_dir), **config})
    return nlp


def timed_pipe(nlp: Language, texts: list[str], batch_size: int) -> tuple[list[Doc], float]:
    """The annotated docs and the seconds one ``nlp.pipe`` pass took, after a warm-up on the first texts."""
    list(nlp.pipe(texts[:WARMUP], batch_size=batch_size))
    start = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=batch_size))
    return docs, time.perf_counter() - start


def interleaved_seconds(pipelines: dict[str, Language], texts: list[str], batch_size: int, rounds: int) -> dict:
    """Wall and CPU seconds per ``nlp.pipe`` pass of each pipeline, ``rounds`` times, back to back in each round.

    On a shared machine the load changes from one minute to the next; timing
    the two systems in alternation (the order flipping every round) lets a
    load spike hit both alike, and the ratio is taken within each round.
    CPU seconds (one thread) are recorded too: they barely move with the
    machine's load, so their ratio cross-checks the wall-clock one.
    """
    for nlp in pipelines.values():
        list(nlp.pipe(texts[:WARMUP], batch_size=batch_size))
    seconds: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in pipelines}
    names = list(pipelines)
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in pipelines[name].pipe(texts, batch_size=batch_size):
                pass
            seconds[name]["cpu"].append(round(time.process_time() - cpu, 3))
            seconds[name]["wall"].append(round(time.perf_counter() - wall, 3))
    return seconds


def ents_f(nlp: Language, records: list[Record], batch_size: int) -> float:
    """Entity micro F1 (%) from ``nlp.evaluate`` on pre-tokenized sentences with gold IOB2 tags."""
    examples = [Example(Doc(nlp.vocab, words=tokens), Doc(nlp.vocab, words=tokens, ents=tags)) for tokens, tags in records]
    return round(100 * nlp.evaluate(examples, batch_size=batch_size)["ents_f"], 2)


def ner_runs(pipelines: dict[str, Language], records: list[Record], batch_size: int, rounds: int) -> dict:
    """Per pipeline: words/s of the median pass over the sentences as text, every pass's seconds, entity F1."""
    texts = [" ".join(tokens) for tokens, _ in records]
    words = sum(len(tokens) for tokens, _ in records)
    seconds = interleaved_seconds(pipelines, texts, batch_size, rounds)
    return {
        name: {"words_per_s": round(words / statistics.median(seconds[name]["wall"])),
               "cpu_words_per_s": round(words / statistics.median(seconds[name]["cpu"])),
               "seconds": seconds[name]["wall"], "cpu_seconds": seconds[name]["cpu"],
               "ents_f": ents_f(nlp, records, batch_size)}
        for name, nlp in pipelines.items()
    }


def textcat_runs(pipelines: dict[str, Language], reviews: list, batch_size: int, rounds: int) -> dict:
    """Documents/s of each pipeline over the reviews' raw text (its median of ``rounds`` passes, the pipelines
    taking turns and their order flipping every round) and the accuracy of the most probable class."""
    texts = [r.text for r in reviews]
    seconds: dict[str, list[float]] = {name: [] for name in pipelines}
    accuracy = {}
    for round_ in range(rounds):
        for name in pipelines if round_ % 2 == 0 else list(pipelines)[::-1]:
            docs, elapsed = timed_pipe(pipelines[name], texts, batch_size)
            seconds[name].append(round(elapsed, 2))
            accuracy[name] = sum(max(doc.cats, key=doc.cats.get) == r.label for doc, r in zip(docs, reviews)) / len(docs)
    return {name: {"docs_per_s": round(len(texts) / statistics.median(seconds[name]), 1), "seconds": seconds[name],
                   "accuracy": round(accuracy[name], 4), "docs": len(texts)} for name in pipelines}


def paired_ratio(runs: dict, name: str) -> tuple[float, list[float]]:
    """Median over rounds of spaCy's seconds over ``name``'s in the same round, and each round's ratio."""
    paired = [b / p for p, b in zip(runs[name]["seconds"], runs["spacy_ner"]["seconds"])]
    return round(statistics.median(paired), 2), [round(r, 2) for r in paired]


def print_table(ner: dict, textcat: dict) -> None:
    print(f"{'NER through nlp.pipe':26}{'words/s':>10}{'ents_f':>9}{'x spaCy':>9}")
    for name, run_ in ner.items():
        ratio = "" if name == "spacy_ner" else paired_ratio(ner, name)[0]
        print(f"{name:26}{run_['words_per_s']:>10}{run_['ents_f']:>9}{ratio:>9}")
    print(f"{'textcat through nlp.pipe':26}{'docs/s':>10}{'accuracy':>9}")
    for name, run_ in textcat.items():
        print(f"{name:26}{run_['docs_per_s']:>10}{run_['accuracy']:>9}")


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    records = [(s.words, s.tags) for s in read_conll(require(args.conll, "CoNLL-2003 eng.testb"), "iob1", "iob2")]
    records = records[: args.limit]
    reviews = list(read_imdb(require(args.imdb, "IMDB test reviews")))[: args.limit]
    ner_model = require(args.ner_model, "run benchmarks/ner_conll2003.py")
    textcat_model = require(args.textcat_model, "run benchmarks/sentiment_imdb.py")
    with threadpool_limits(limits=1):
        pipelines = {
            "project_ner": project_pipeline("w2v_ner", ner_model),
            "project_ner_int8": project_pipeline("w2v_ner", ner_model, quantize="int8"),
            "project_ner_torch": project_pipeline("w2v_ner", ner_model, engine="torch"),
            "spacy_ner": spacy.load(require(args.spacy_model, "run benchmarks/ner_conll2003.py --only spacy")),
        }
        ner = ner_runs(pipelines, records, args.batch_size, args.rounds)
        textcat = textcat_runs({
            "project_textcat": project_pipeline("w2v_textcat", textcat_model),
            "project_textcat_int8": project_pipeline("w2v_textcat", textcat_model, quantize="int8"),
            "project_textcat_uncapped": project_pipeline("w2v_textcat", textcat_model, max_batch_tokens=None),
        }, reviews, args.batch_size, args.textcat_rounds)
    project, baseline, capped = ner["project_ner"], ner["spacy_ner"], textcat["project_textcat"]
    ratio, per_round = paired_ratio(ner, "project_ner")
    results = {
        "project_ner_words_per_s": project["words_per_s"],
        "spacy_ner_words_per_s": baseline["words_per_s"],
        "ratio": ratio,
        "ratio_per_round": per_round,
        "cpu_ratio": round(project["cpu_words_per_s"] / baseline["cpu_words_per_s"], 2),
        "int8_ratio": paired_ratio(ner, "project_ner_int8")[0],
        "torch_ratio": paired_ratio(ner, "project_ner_torch")[0],
        "project_ents_f": project["ents_f"],
        "project_int8_ents_f": ner["project_ner_int8"]["ents_f"],
        "spacy_ents_f": baseline["ents_f"],
        "project_textcat_docs_per_s": capped["docs_per_s"],
        "project_textcat_accuracy": capped["accuracy"],
        "project_textcat_int8_docs_per_s": textcat["project_textcat_int8"]["docs_per_s"],
        "project_textcat_int8_accuracy": textcat["project_textcat_int8"]["accuracy"],
        "textcat_speedup_over_uncapped": round(capped["docs_per_s"] / textcat["project_textcat_uncapped"]["docs_per_s"], 2),
        "runs": {**ner, **textcat},
        "setup": {
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "threads": 1,
            "batch_size": args.batch_size,
            "rounds": args.rounds,
            "textcat_rounds": args.textcat_rounds,
            "load_avg_at_end": load_avg(),
            "sentences": len(records),
            "words": sum(len(tokens) for tokens, _ in records),
            "reviews": len(reviews),
            "spacy_version": spacy.__version__,
            "torch_version": torch.__version__,
            "models": {"ner": str(args.ner_model), "spacy_ner": str(args.spacy_model), "textcat": str(args.textcat_model)},
        },
    }
    write_json(args.out, results)
    print_table(ner, textcat)


if __name__ == "__main__":
    from pipeline.runner import run

    run(main)
