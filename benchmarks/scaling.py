"""Scaling benchmark: training with 1 and 2 processes, batch scoring with 1 and 2 cores, word2vec cost per token.

Three sections, each selectable with ``--only`` and merged into
``benchmarks/results/scaling.json`` as soon as it finishes (the other
sections' results are kept, so a section can be re-run alone). Each records
``load_avg_at_end``: the 2 cores are shared, and a busy machine shrinks every speedup.

``ddp``: one epoch of NER training (the full profile's model, on
``--vectors``) on CoNLL-2003 ``eng.train`` (all 14,041 sentences, or the first
``--ner-sentences``), once as a plain process and once under ``torchrun --standalone
--nproc_per_node=2`` (the project's data parallelism, ``pipeline.training.distributed``:
each rank takes every 2nd batch, gradients are all-reduced; ``batch_size`` is per
process, so 2 processes take half the steps of twice the size). Each run is a child
process with one torch/BLAS thread per process. Time is the epoch's training pass
(``epoch_s`` of the history): model building, the dev evaluation that follows the
epoch (on ``--ner-dev-sentences`` sentences of ``eng.testa``) and saving are excluded.
Reported: sentences/s of each and ``ddp2_vs_1_speedup`` (their ratio).

``spark``: the first ``--spark-docs`` IMDB test reviews (one JSONL file) scored with the
sentiment model by ``pipeline.scale.spark_score.score`` (what ``w2vp spark score`` runs)
on master ``local[1]`` and ``local[2]``, each in its own child process, from
``models:/scaling-sentiment/1``: ``--textcat-model`` logged and registered as the
evaluate stage does, into a throwaway SQLite MLflow store in a temporary directory.
Spark start-up (JVM, session) is timed apart; a warm-up job on 64 reviews starts the
Python workers; then the timed job scores all reviews and writes Parquet. Every job is
cut into ``--spark-partitions`` tasks on both masters (``spark.sql.files.maxPartitionBytes``);
MLflow's ``spark_udf`` loads the model once per task in local mode, a per-task cost
included. Against it, ``nlp.pipe`` (``spacy.blank("en")`` + ``w2v_textcat``) on the same
texts with ``n_process`` 1 and 2, after a warm-up (the 2 workers start inside the timed
call, as in every ``nlp.pipe`` call). Reported: docs/s of each, ``spark2_vs_1_speedup``
and ``nlp_pipe2_vs_1_speedup``.

``w2v``: gensim word2vec through the stage's own code (``word2vec.train_file``:
normalisation pass, vocabulary, training) with ``params.yaml``'s ``word2vec`` settings
(``workers`` included) for 1 epoch, on prefixes of ``--w2v-tokens`` tokens (default
1M, 4M, 17M; each prefix ends at the first line boundary past its size) of the
tokenized corpus ``--corpus``: by default the full run's word2vec corpus
(``../fullrun/outputs/prepared/corpus.txt``: CoNLL-2003 train, ~204k tokens, then IMDB
train and unsup) when it exists, else, or with ``--tokenize``, IMDB train + unsup
tokenized here with the project's tokenizer (not timed). Reported per size: tokens,
seconds (the whole ``train_file`` call, and the training pass alone), microseconds
per token, and ``w2v_time_per_token_ratio_17m_vs_1m``: seconds per token of the
largest prefix over the smallest (1.0 = cost linear in the corpus size).

    python benchmarks/scaling.py --vectors ../fullrun/outputs/word2vec/vectors.bin [--only ddp spark w2v]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from unittest import mock

from common import FULL_PROFILE, ROOT, SHARED, THREAD_ENV, load_avg, ner_full_config, require

from pipeline.atomic import write_json
from pipeline.config import Word2VecConfig, load_section
from pipeline.data.checksums import read_sums, verify
from pipeline.data.conll import read_conll
from pipeline.data.corpus import iter_lines
from pipeline.data.imdb import read_imdb
from pipeline.data.jsonl import write_jsonl
from pipeline.errors import DataError, PipelineError

RESULTS = ROOT / "benchmarks" / "results" / "scaling.json"
FULL_CORPUS = ROOT.parent / "fullrun" / "outputs" / "prepared" / "corpus.txt"
SECTIONS = ("ddp", "spark", "w2v")
HEADLINES = {"ddp": ["ddp2_vs_1_speedup"], "spark": ["spark2_vs_1_speedup", "nlp_pipe2_vs_1_speedup"],
             "w2v": ["w2v_time_per_token_ratio_17m_vs_1m"]}
WARMUP = 64  # reviews scored before timing
MODEL_NAME, EXPERIMENT = "scaling-sentiment", "scaling-benchmark"
MASTERS = ("local[1]", "local[2]")
QUIET_MLFLOW = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}  # a bar per model download and Spark task


def slug(master: str) -> str:
    """``local[2]`` as ``local2``: brackets in a path are glob characters to Spark."""
    return re.sub(r"\W", "", master)


def run_child(args: argparse.Namespace, kind: str, launcher: list[str], out: Path, env: dict | None = None,
              extra: Iterable[str] = ()) -> dict:
    """Run ``--child kind`` of this file under ``launcher`` (one thread per process); its result JSON."""
    command = [*launcher, __file__, *sys.argv[1:], "--child", kind, "--child-out", str(out), *extra]
    status = subprocess.run(command, env={**os.environ, **THREAD_ENV, **(env or {})}).returncode
    if status != 0:
        raise PipelineError(f"{kind} run failed with status {status}: {' '.join(command)}")
    return json.loads(out.read_text(encoding="utf-8"))


def conll_slice(path: Path, count: int | None) -> list[tuple[list[str], list[str]]]:
    """The first ``count`` (None: all) sentences as ``(tokens, IOB2 tags)``, read as the prepare stage does."""
    return [(s.words, s.tags) for s in itertools.islice(read_conll(path, "iob1", "iob2"), count)]


def ddp_child(args: argparse.Namespace) -> None:
    """One NER training epoch in this process (a torchrun worker or a plain run); rank 0 writes the timing."""
    import torch

    from pipeline.training import distributed
    from pipeline.training.logger import NullLogger
    from pipeline.training.ner_task import train

    torch.set_num_threads(1)
    cfg = ner_full_config(epochs=1)
    records = conll_slice(require(args.conll_train, "CoNLL-2003 eng.train"), args.ner_sentences)
    dev = conll_slice(require(args.conll_dev, "CoNLL-2003 eng.testa"), args.ner_dev_sentences)
    with tempfile.TemporaryDirectory(prefix="scaling-ddp-") as tmp:
        history = train(cfg, records, dev, require(args.vectors, "word2vec vectors"), Path(tmp), NullLogger()).history
    if distributed.is_main():
        epoch = history[0]
        write_json(args.child_out, {"processes": distributed.world().size, "sentences": len(records),
                                    "tokens": sum(len(t) for t, _ in records), "train_s": round(epoch["epoch_s"], 2),
                                    "tokens_per_s": round(epoch["tokens_per_s"])})


def run_ddp(args: argparse.Namespace) -> dict:
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    runs = {}
    with tempfile.TemporaryDirectory(prefix="scaling-ddp-") as tmp:
        for processes, launcher in (("1", [sys.executable]), ("2", torchrun)):
            start = time.perf_counter()
            run = run_child(args, "ddp", launcher, Path(tmp) / f"{processes}.json")
            run |= {"sentences_per_s": round(run["sentences"] / run["train_s"], 1),
                    "wall_s": round(time.perf_counter() - start, 1)}  # whole child: start-up, model build, dev eval
            runs[processes] = run
    return {"ddp2_vs_1_speedup": round(runs["2"]["sentences_per_s"] / runs["1"]["sentences_per_s"], 2),
            "sentences_per_s": {n: r["sentences_per_s"] for n, r in runs.items()}, "runs": runs,
            "config": str(FULL_PROFILE.relative_to(ROOT)), "vectors": str(args.vectors), "epochs": 1,
            "threads_per_process": 1, "load_avg_at_end": load_avg()}


def register_model(model_dir: Path, store: Path) -> str:
    """Log and register ``model_dir`` in a fresh SQLite store under ``store``, as the evaluate stage does; its URI."""
    import mlflow

    from pipeline.tracking.mlflow_logger import MlflowLogger
    from pipeline.tracking.pyfunc_models import log_sentiment_model

    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    mlflow.create_experiment(EXPERIMENT, artifact_location=(store / "artifacts").as_uri())  # not the repo's mlruns/
    with MlflowLogger(EXPERIMENT, "scaling") as tracker:
        version = log_sentiment_model(tracker, model_dir, {}, registered_name=MODEL_NAME)
    return f"models:/{MODEL_NAME}/{version.version}"


def spark_child(args: argparse.Namespace) -> None:
    """Start Spark on ``--child-master``, score the warm-up file, then time scoring the benchmark file."""
    from pipeline.scale.session import spark_session
    from pipeline.scale.spark_score import score

    work, master = args.child_out.parent, args.child_master
    start = time.perf_counter()
    spark = spark_session(master, "w2vp-scaling")
    seconds = {"startup": time.perf_counter() - start}
    for name in ("warmup", "docs"):
        source, target = work / f"{name}.jsonl", work / f"{name}-{slug(master)}.parquet"
        split = -(-source.stat().st_size // args.spark_partitions)  # bytes per task: same tasks on 1 and 2 cores
        spark.conf.set("spark.sql.files.maxPartitionBytes", str(split))
        start = time.perf_counter()
        score(str(source), str(target), args.child_model_uri, master=master)
        seconds[name] = time.perf_counter() - start
    docs = spark.read.parquet(str(target)).count()
    spark.stop()
    write_json(args.child_out, {"master": master, "docs": docs, "docs_per_s": round(docs / seconds["docs"], 1),
                                **{f"{k}_s": round(v, 2) for k, v in seconds.items()}})


def pipe_run(nlp, texts: list[str], n_process: int, batch_size: int) -> dict:
    start = time.perf_counter()
    docs = sum(1 for _ in nlp.pipe(texts, n_process=n_process, batch_size=batch_size))
    seconds = time.perf_counter() - start
    return {"n_process": n_process, "docs": docs, "seconds": round(seconds, 2), "docs_per_s": round(docs / seconds, 1)}


def run_spark(args: argparse.Namespace) -> dict:
    import spacy
    import torch

    import pipeline.spacy_components  # noqa: F401  (registers w2v_textcat)

    model_dir = require(args.textcat_model, "run benchmarks/sentiment_imdb.py")
    texts = [r.text for r in itertools.islice(read_imdb(require(args.imdb_test, "IMDB test reviews")), args.spark_docs)]
    spark = {}
    with tempfile.TemporaryDirectory(prefix="scaling-spark-") as tmp:
        work = Path(tmp)
        for name, part in (("warmup", texts[:WARMUP]), ("docs", texts)):
            write_jsonl(work / f"{name}.jsonl", ({"id": i, "text": t} for i, t in enumerate(part)))
        with mock.patch.dict(os.environ, {"MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}"}):
            uri = register_model(model_dir, work)
            for master in MASTERS:
                out = work / f"result-{slug(master)}.json"
                spark[master] = run_child(args, "spark", [sys.executable], out, QUIET_MLFLOW,
                                          extra=["--child-master", master, "--child-model-uri", uri])
    torch.set_num_threads(1)
    nlp = spacy.blank("en")
    nlp.add_pipe("w2v_textcat", config={"model": str(model_dir)})
    list(nlp.pipe(texts[:WARMUP], batch_size=args.batch_size))
    pipe = {str(n): pipe_run(nlp, texts, n, args.batch_size) for n in (1, 2)}
    return {"spark2_vs_1_speedup": round(spark["local[2]"]["docs_per_s"] / spark["local[1]"]["docs_per_s"], 2),
            "nlp_pipe2_vs_1_speedup": round(pipe["2"]["docs_per_s"] / pipe["1"]["docs_per_s"], 2),
            "docs_per_s": {**{f"spark_{m}": r["docs_per_s"] for m, r in spark.items()},
                           **{f"nlp_pipe_n_process_{n}": r["docs_per_s"] for n, r in pipe.items()}},
            "spark_runs": spark, "nlp_pipe_runs": pipe, "docs": len(texts), "spark_partitions": args.spark_partitions,
            "batch_size": args.batch_size, "model": str(model_dir), "spacy_version": spacy.__version__,
            "load_avg_at_end": load_avg()}


def imdb_lines(root: Path) -> Iterator[list[str]]:
    """IMDB train + unsup, checksummed and tokenized with the project's tokenizer, one review a line."""
    from pipeline.data.tokenizer import tokenize_many

    sums = read_sums(require(root, "the shared data root"))
    sources = ("aclimdb/train.jsonl.gz", "aclimdb/unsup.jsonl.gz")
    return tokenize_many(r.text for source in sources for r in read_imdb(verify(root, source, sums)))


def cut_prefixes(lines: Iterable[list[str]], sizes: list[int], work: Path, source: str) -> dict[int, tuple[Path, int]]:
    """One pass writing, for each size, the corpus's first lines up to the first line boundary past it."""
    files = {size: open(work / f"prefix-{size}.txt", "w", encoding="utf-8") for size in sizes}
    counts = dict.fromkeys(sizes, 0)
    try:
        for words in lines:
            open_sizes = [size for size in sizes if counts[size] < size]
            if not open_sizes:
                break
            for size in open_sizes:
                files[size].write(" ".join(words) + "\n")
                counts[size] += len(words)
    finally:
        for fh in files.values():
            fh.close()
    if counts[max(sizes)] < max(sizes):
        raise DataError(source, None, f"the corpus has only {counts[max(sizes)]:,} tokens, fewer than {max(sizes):,}")
    return {size: (work / f"prefix-{size}.txt", counts[size]) for size in sizes}


def run_w2v(args: argparse.Namespace) -> dict:
    from pipeline.embeddings import word2vec

    cfg = load_section(Word2VecConfig, "word2vec", ROOT / "params.yaml").model_copy(update={"epochs": 1})
    sizes = sorted(args.w2v_tokens)
    build = args.tokenize or args.corpus is None
    lines = imdb_lines(args.data) if build else (line.split() for line in iter_lines(require(args.corpus, "a corpus")))
    source = "IMDB train + unsup, tokenized here" if build else str(args.corpus)
    runs = {}
    with tempfile.TemporaryDirectory(prefix="scaling-w2v-") as tmp:
        start = time.perf_counter()
        prefixes = cut_prefixes(lines, sizes, Path(tmp), source)
        prepare_s = time.perf_counter() - start
        for size, (path, tokens) in prefixes.items():
            start = time.perf_counter()
            _model, stats = word2vec.train_file(path, cfg, show_progress=False)
            total = time.perf_counter() - start
            runs[f"{size / 1e6:g}M"] = {"tokens": tokens, "raw_words": stats.raw_words, "total_s": round(total, 2),
                                        "train_s": round(stats.train_seconds, 2),
                                        "normalize_s": round(stats.normalize_seconds, 2),
                                        "us_per_token": round(1e6 * total / tokens, 3),
                                        "train_us_per_token": round(1e6 * stats.train_seconds / tokens, 3)}
    small, large = runs[f"{sizes[0] / 1e6:g}M"], runs[f"{sizes[-1] / 1e6:g}M"]
    return {"w2v_time_per_token_ratio_17m_vs_1m": round(large["us_per_token"] / small["us_per_token"], 3),
            "train_pass_ratio": round(large["train_us_per_token"] / small["train_us_per_token"], 3),
            "ratio_of": [f"{sizes[-1] / 1e6:g}M", f"{sizes[0] / 1e6:g}M"], "runs": runs,
            "corpus": source,
            "corpus_prepare_s": round(prepare_s, 1), "params": cfg.model_dump(mode="json"),
            "load_avg_at_end": load_avg()}


def merge(out: Path, section: str, result: dict) -> dict:
    """Store one section (others kept) and its headline figures at the top level."""
    results = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    results[section] = result
    results |= {key: result[key] for key in HEADLINES[section]}
    results["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    write_json(out, results)
    return results


def print_table(results: dict) -> None:
    if "ddp" in results:
        ddp = results["ddp"]["sentences_per_s"]
        print(f"{'NER training sentences/s':34}{'1 process':>12}{'2 processes':>13}{'speedup':>9}")
        print(f"{'':34}{ddp['1']:>12}{ddp['2']:>13}{results['ddp2_vs_1_speedup']:>9}")
    if "spark" in results:
        docs = results["spark"]["docs_per_s"]
        print(f"\n{'sentiment scoring docs/s':34}{'1 core':>12}{'2 cores':>13}{'speedup':>9}")
        print(f"{'Spark local[N]':34}{docs['spark_local[1]']:>12}{docs['spark_local[2]']:>13}"
              f"{results['spark2_vs_1_speedup']:>9}")
        print(f"{'nlp.pipe n_process=N':34}{docs['nlp_pipe_n_process_1']:>12}{docs['nlp_pipe_n_process_2']:>13}"
              f"{results['nlp_pipe2_vs_1_speedup']:>9}")
    if "w2v" in results:
        print(f"\n{'word2vec, 1 epoch':34}{'tokens':>12}{'seconds':>13}{'us/token':>9}")
        for name, run in results["w2v"]["runs"].items():
            print(f"{name:34}{run['tokens']:>12,}{run['total_s']:>13}{run['us_per_token']:>9}")
        ratio = results["w2v_time_per_token_ratio_17m_vs_1m"]
        print(f"time per token, {' vs '.join(results['w2v']['ratio_of'])}: {ratio} (1.0 = linear cost)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--data", type=Path, default=SHARED, help="shared data root (w2v --tokenize)")
    parser.add_argument("--conll-train", type=Path, default=SHARED / "conll2003" / "eng.train.gz")
    parser.add_argument("--conll-dev", type=Path, default=SHARED / "conll2003" / "eng.testa.gz")
    parser.add_argument("--vectors", type=Path, default=ROOT / "outputs" / "word2vec" / "vectors.bin")
    parser.add_argument("--ner-sentences", type=int, help="first N sentences of eng.train (default: all)")
    parser.add_argument("--ner-dev-sentences", type=int, default=200, help="dev sentences (evaluated, not timed)")
    parser.add_argument("--imdb-test", type=Path, default=SHARED / "aclimdb" / "test.jsonl.gz")
    parser.add_argument("--textcat-model", type=Path, default=Path("/tmp/sentiment_imdb/project/model"))
    parser.add_argument("--spark-docs", type=int, default=5000, help="first N IMDB test reviews")
    parser.add_argument("--spark-partitions", type=int, default=4, help="Spark tasks per job, for both masters")
    parser.add_argument("--batch-size", type=int, default=256, help="documents per nlp.pipe batch")
    parser.add_argument("--corpus", type=Path, default=FULL_CORPUS if FULL_CORPUS.exists() else None,
                        help="tokenized word2vec corpus (default: the full run's, when it exists)")
    parser.add_argument("--tokenize", action="store_true", help="tokenize IMDB train + unsup instead of --corpus")
    parser.add_argument("--w2v-tokens", type=int, nargs="+", default=[1_000_000, 4_000_000, 17_000_000])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", choices=("ddp", "spark"), help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-master", help=argparse.SUPPRESS)
    parser.add_argument("--child-model-uri", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.child:
        (ddp_child if args.child == "ddp" else spark_child)(args)
        return
    sections = {"ddp": run_ddp, "spark": run_spark, "w2v": run_w2v}
    results: dict = {}
    for section in (s for s in SECTIONS if s in args.only):
        results = merge(args.out, section, sections[section](args))
    print_table(results)


if __name__ == "__main__":
    from pipeline.runner import run

    run(main)
