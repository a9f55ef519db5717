"""word2vec and fastText throughput: the project's stage code vs a bare gensim call, side by side in one run.

Corpus: IMDB train + unsup (the shared ``aclimdb`` files), tokenized once with
the project's tokenizer. The project path is the ``word2vec`` stage's own code
(``word2vec.train_file``: one normalisation pass into a temporary file, then
training), timed whole, the normalisation pass included. The bare path is
``gensim.models.Word2Vec`` (or ``FastText``) on ``LineSentence`` over a
pre-normalised copy of the same file (that copy is not timed), so both train
on identical tokens with identical parameters (``params.yaml: word2vec``,
``model`` set to each of ``--models`` in turn: one row per model).

The machine is shared and its load drifts, so the two paths run interleaved
in ABBA order (project, gensim, gensim, project by default) and each figure
is the mean over its runs: a linear drift in load cancels out of the ratio.

    python benchmarks/word2vec_throughput.py [--data-root ../shared/data] [--rounds 2] [--epochs 2] \
        [--models word2vec fasttext]

Writes ``benchmarks/results/word2vec_throughput.json`` and prints a table.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import typer
from gensim.models.word2vec import LineSentence

from pipeline.config import DataConfig, Word2VecConfig, load_section
from pipeline.data.checksums import read_sums, verify
from pipeline.data.imdb import read_imdb
from pipeline.data.tokenizer import tokenize_many
from pipeline.embeddings import evaluate, word2vec
from pipeline.stages.prepare import write_corpus

RESULTS = Path(__file__).parent / "results" / "word2vec_throughput.json"
SOURCES = ("aclimdb/train.jsonl.gz", "aclimdb/unsup.jsonl.gz")
BENCH_EPOCHS = 2  # 4 interleaved runs of 2 epochs take ~10 min on 2 cores; words/s does not depend on the epoch count


def build_corpus(root: Path, out: Path) -> tuple[int, float]:
    """Tokenize IMDB train + unsup into ``out``; returns (tokens, seconds)."""
    sums = read_sums(root)
    start = time.perf_counter()
    texts = (r.text for source in SOURCES for r in read_imdb(verify(root, source, sums)))
    return write_corpus(tokenize_many(texts), out), time.perf_counter() - start


MODELS = ("word2vec", "fasttext")


def run_project(corpus: Path, cfg: Word2VecConfig) -> dict:
    model, stats = word2vec.train_file(corpus, cfg)
    return {"words_per_s": stats.words_per_s, "train_s": stats.train_seconds + stats.normalize_seconds,
            "raw_words": stats.raw_words,
            "analogy": evaluate.analogy_accuracy(model.wv), "vocab": len(model.wv)}


def run_gensim(corpus: Path, cfg: Word2VecConfig) -> dict:
    model = word2vec.gensim_class(cfg)(**word2vec.gensim_kwargs(cfg))
    model.build_vocab(LineSentence(str(corpus)))
    start = time.perf_counter()
    _effective, raw = model.train(LineSentence(str(corpus)), total_examples=model.corpus_count, epochs=cfg.epochs)
    seconds = time.perf_counter() - start
    return {"words_per_s": raw / seconds, "train_s": seconds, "raw_words": raw,
            "analogy": evaluate.analogy_accuracy(model.wv), "vocab": len(model.wv)}


def abba(rounds: int) -> list[str]:
    """Run order: project, gensim, gensim, project, ... (``rounds`` runs of each)."""
    pair = ["project", "gensim"]
    return [name for r in range(rounds) for name in (pair if r % 2 == 0 else pair[::-1])]


def mean_run(runs: list[dict]) -> dict:
    """Mean of every figure over repeated runs."""
    return {key: sum(r[key] for r in runs) / len(runs) for key in runs[0]}


def measure(raw_corpus: Path, norm_corpus: Path, cfg: Word2VecConfig, rounds: int) -> dict:
    """One model's row: the project and bare gensim, interleaved ABBA, means of the runs."""
    runs: dict[str, list[dict]] = {"project": [], "gensim": []}
    for name in abba(rounds):
        run = run_project(raw_corpus, cfg) if name == "project" else run_gensim(norm_corpus, cfg)
        typer.echo(f"{cfg.model} {name}: {run['words_per_s']:,.0f} words/s")
        runs[name].append(run)
    project, bare = mean_run(runs["project"]), mean_run(runs["gensim"])
    return {
        "project_words_per_s": round(project["words_per_s"]),
        "gensim_words_per_s": round(bare["words_per_s"]),
        "ratio": round(project["words_per_s"] / bare["words_per_s"], 3),
        "project_train_s": round(project["train_s"], 1),
        "gensim_train_s": round(bare["train_s"], 1),
        "analogy_accuracy_project": round(project["analogy"], 4),
        "analogy_accuracy_gensim": round(bare["analogy"], 4),
        "vocab_project": round(project["vocab"]),
        "vocab_gensim": round(bare["vocab"]),
        "runs_words_per_s": {name: [round(r["words_per_s"]) for r in rs] for name, rs in runs.items()},
    }


def main(
    data_root: Path = typer.Option(None, help="Data root; default: params.yaml data.full_root or $PIPELINE_DATA"),
    rounds: int = typer.Option(2, min=1, help="Runs of each path, interleaved ABBA."),
    epochs: int = typer.Option(
        BENCH_EPOCHS, min=1, help="word2vec epochs of every run (throughput is per word; other params from params.yaml)."
    ),
    models: list[str] = typer.Option(list(MODELS), help="word2vec.model values, one row each."),
) -> None:
    cfg = load_section(Word2VecConfig, "word2vec").model_copy(update={"epochs": epochs})
    root = data_root or load_section(DataConfig, "data").model_copy(update={"profile": "full"}).root
    with tempfile.TemporaryDirectory() as tmp:
        raw_corpus, norm_corpus = Path(tmp) / "corpus.txt", Path(tmp) / "corpus.norm.txt"
        tokens, tokenize_s = build_corpus(root, raw_corpus)
        word2vec.normalize_file(raw_corpus, norm_corpus, cfg)
        rows = {model: measure(raw_corpus, norm_corpus, cfg.model_copy(update={"model": model}), rounds)
                for model in models}
    result = {
        "corpus_tokens": tokens,
        "tokenize_s": round(tokenize_s, 1),
        "models": rows,
        "rounds": rounds,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "params": cfg.model_dump(exclude={"model"}),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores",
        "load_avg_at_end": round(os.getloadavg()[0], 2),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    typer.echo(f"{'model':10s}{'project w/s':>14s}{'gensim w/s':>14s}{'ratio':>8s}{'analogy':>9s}{'train s':>9s}")
    for model, row in rows.items():
        typer.echo(f"{model:10s}{row['project_words_per_s']:>14,}{row['gensim_words_per_s']:>14,}{row['ratio']:>8}"
                   f"{row['analogy_accuracy_project']:>9}{row['project_train_s']:>9}")
    typer.echo(f"corpus {tokens:,} tokens, {epochs} epochs a run, peak RSS {result['peak_rss_mb']} MB")


if __name__ == "__main__":
    typer.run(main)
