"""Crash and resume: a trainer killed with SIGKILL resumes to exactly the run it would have been.

The trainer runs in a child process (this file run as a script) on a slice
of the committed sample with tiny word2vec vectors trained here. The child
stops itself at a chosen point and waits to be killed, so the kill always
lands where the test wants it:

* ``batch``: in the middle of epoch 2, after some optimiser steps that no
  checkpoint holds;
* ``checkpoint``: while epoch 2's checkpoint is being written (weights and
  config done, ``optimizer.pt`` half written); the checkpoint code is shared,
  so this one runs for the NER trainer only.

The parent then checks that every file the killed run published is whole,
resumes with ``resume=True`` and compares with an uninterrupted run of the
same seed: same per-epoch history, same best epoch and score, same weights.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import pytest
import torch
from conftest import SAMPLE, write_vectors_config
from process_util import sigkill_and_reap
from safetensors.torch import load_file

from pipeline.config import Word2VecConfig
from pipeline.data.conll import read_conll
from pipeline.data.imdb import read_imdb
from pipeline.data.jsonl import write_jsonl
from pipeline.data.splits import class_labels, load_examples, read_split
from pipeline.data.tokenizer import tokenize_many
from pipeline.embeddings import word2vec
from pipeline.embeddings.vocab import build_vocab
from pipeline.model_dir import WEIGHTS
from pipeline.training import ner_task, sentiment_task
from pipeline.training.checkpoint import latest_checkpoint, load_checkpoint
from pipeline.training.logger import NullLogger
from pipeline.training.loop import FitResult, make_optimizer, make_scheduler

EPOCHS, PAUSE_BATCH = 3, 3  # the child pauses before epoch 2's third batch
TIMEOUT_S = 180.0  # generous: the machine may be busy; a healthy child pauses within seconds
NER = {"model": {"word_dim": 16, "casing_dim": 3, "char_dim": 8, "char_size": 8, "hidden_size": 16, "dropout": 0.3},
       "train": {"epochs": EPOCHS, "batch_size": 8, "lr": 0.01, "patience": EPOCHS, "seed": 7}}
SENTIMENT = {"model": {"embedding_dim": 16, "hidden_sizes": [8], "dropout": 0.3},
             "train": {"epochs": EPOCHS, "batch_size": 8, "lr": 0.01, "patience": EPOCHS, "seed": 7},
             "max_len": 60}
VOLATILE = ("epoch_s", "tokens_per_s")  # wall-clock figures, the only history entries allowed to differ


# --- what the child runs, and the parent for its reference and resumed runs ---------------------------------------


def train(spec: dict, out: Path, resume: bool) -> FitResult:
    """Train the task of ``spec`` (no tracking) into ``out``."""
    data, vectors = Path(spec["data"]), Path(spec["vectors"])
    if spec["task"] == "ner":
        cfg = ner_task.NerConfig.model_validate(NER)
        records = {split: read_split(data / f"{split}.jsonl") for split in ("train", "dev")}
        return ner_task.train(cfg, records["train"], records["dev"], vectors, out, NullLogger(), resume=resume)
    cfg = sentiment_task.SentimentConfig.model_validate(SENTIMENT)
    return sentiment_task.train_sentiment(cfg, data, vectors, out, NullLogger(), resume=resume)


def pause_here(out: Path) -> None:
    """Tell the parent where we are, then wait to be killed (a closed stdin means the parent is gone: exit)."""
    (out / "paused").write_text("paused", encoding="utf-8")
    sys.stdin.read()
    os._exit(3)


def pause_mid_epoch(task_class: type, out: Path) -> None:
    """Make ``task_class.batches`` pause before batch ``PAUSE_BATCH`` of epoch 2."""
    original = task_class.batches

    def batches(self, epoch):
        for number, batch in enumerate(original(self, epoch), start=1):
            if epoch == 2 and number == PAUSE_BATCH:
                pause_here(out)
            yield batch

    task_class.batches = batches


def pause_mid_checkpoint(out: Path) -> None:
    """Make ``torch.save`` of epoch 2's optimiser state write half its bytes, then pause."""
    original = torch.save

    def save(obj, target, *args, **kwargs):
        if Path(target).parent.name != "epoch-2":
            return original(obj, target, *args, **kwargs)
        buffer = io.BytesIO()
        original(obj, buffer, *args, **kwargs)
        data = buffer.getvalue()
        with open(target, "wb") as fh:
            fh.write(data[: len(data) // 2])
            fh.flush()
            os.fsync(fh.fileno())
        pause_here(out)

    torch.save = save


def child(spec: dict) -> None:
    """The killed run: train from scratch with the pause of ``spec["pause"]`` installed."""
    torch.set_num_threads(1)
    out = Path(spec["out"])
    out.mkdir(parents=True, exist_ok=True)
    if spec["pause"] == "batch":
        pause_mid_epoch(ner_task.NerTask if spec["task"] == "ner" else sentiment_task.SentimentTask, out)
    else:
        pause_mid_checkpoint(out)
    train(spec, out, resume=False)
    os._exit(4)  # finishing means the pause was never reached


# --- fixtures -------------------------------------------------------------------------------------------------------

pytestmark = pytest.mark.usefixtures("one_thread")  # as in the child: reference and resumed runs share kernels


@pytest.fixture(scope="module")
def sample_data(tmp_path_factory) -> dict[str, Path]:
    """Slices of the committed sample as prepared splits, and word2vec vectors trained on them (16 dimensions)."""
    root = tmp_path_factory.mktemp("crash_data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample's IOB1 repairs are reported as warnings
        train_ner = [s for s in read_conll(SAMPLE / "conll2003" / "eng.train.gz") if s.words][:80]
        dev_ner = [s for s in read_conll(SAMPLE / "conll2003" / "eng.testa.gz") if s.words][:40]
    for split, sentences in (("train", train_ner), ("dev", dev_ner)):
        write_jsonl(root / "ner" / f"{split}.jsonl", ({"tokens": s.words, "tags": s.tags} for s in sentences))
    reviews = list(read_imdb(SAMPLE / "aclimdb" / "train.jsonl.gz"))
    reviews = [r for r in reviews if r.label == "pos"][:48] + [r for r in reviews if r.label == "neg"][:48]
    tokens = list(tokenize_many(r.text for r in reviews))
    records = [{"tokens": t, "label": r.label} for r, t in zip(reviews, tokens)]
    write_jsonl(root / "sentiment" / "train.jsonl", records[::3] + records[1::3])
    write_jsonl(root / "sentiment" / "dev.jsonl", records[2::3])
    cfg = Word2VecConfig(vector_size=16, epochs=1, min_count=1, workers=1)
    model, _ = word2vec.train([s.words for s in train_ner] + tokens, cfg, show_progress=False)
    word2vec.save(model.wv, root / "w2v")
    write_vectors_config(root / "w2v")
    return {"ner": root / "ner", "sentiment": root / "sentiment", "vectors": root / "w2v" / "vectors.bin"}


def spec_of(task: str, sample_data: dict[str, Path], **extra) -> dict:
    return {"task": task, "data": str(sample_data[task]), "vectors": str(sample_data["vectors"]), **extra}


@pytest.fixture(scope="module")
def reference(sample_data, tmp_path_factory) -> dict[str, tuple[FitResult, Path]]:
    """The uninterrupted run of each task (result and output directory), trained once for the module."""
    runs = {}
    for task in ("ner", "sentiment"):
        out = tmp_path_factory.mktemp(f"full_{task}")
        runs[task] = train(spec_of(task, sample_data), out, resume=False), out
    return runs


# --- helpers --------------------------------------------------------------------------------------------------------


def wait_for(condition, proc: subprocess.Popen, log: Path) -> None:
    """Poll ``condition`` every 20 ms until it holds; fail on timeout or if the child exits first."""
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"child exited with {proc.returncode} before pausing:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"child did not pause within {TIMEOUT_S:.0f} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.02)


def run_and_kill(spec: dict, log: Path) -> None:
    """Start the child, wait for its pause, SIGKILL it."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, __file__, json.dumps(spec)], stdin=subprocess.PIPE,
                                stdout=err, stderr=err, env=env)
    try:
        wait_for(lambda: (Path(spec["out"]) / "paused").exists(), proc, log)
    finally:
        sigkill_and_reap(proc, TIMEOUT_S)


def check_published_files_load(out: Path) -> None:
    """Every file the killed run published (not a hidden ``.name.*.tmp``) parses as what its name says."""
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name != "paused"):
        if path.name.startswith("."):
            assert path.name.endswith(".tmp"), path  # an unpublished temporary file, never read by anything
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".safetensors":
            load_file(path)
        elif path.suffix == ".pt":
            torch.load(path, weights_only=True)


def fresh_model(task: str, spec: dict):
    """A freshly built model, optimiser and scheduler of ``task`` (what ``fit`` restores a checkpoint into)."""
    data, vectors = Path(spec["data"]), Path(spec["vectors"])
    if task == "ner":
        cfg = ner_task.NerConfig.model_validate(NER)
        model, _ = ner_task.build_model(cfg, read_split(data / "train.jsonl"), vectors)
    else:
        cfg = sentiment_task.SentimentConfig.model_validate(SENTIMENT)
        examples = load_examples(data / "train.jsonl", cfg.target)
        cfg = sentiment_task.with_classes(cfg, class_labels(examples.targets), data / "train.jsonl")  # as training does
        kv = sentiment_task.load_vectors(vectors, cfg)
        counts = Counter(t for tokens in examples.tokens for t in tokens)
        vocab = build_vocab(counts, kv, cfg.lowercase, cfg.digits_to_zero, cfg.max_vocab, cfg.min_count)
        model = sentiment_task.build_model(cfg, vocab, kv)
    optimizer = make_optimizer(model, cfg.train)
    return model, optimizer, make_scheduler(optimizer, cfg.train)


def comparable(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in epoch.items() if k not in VOLATILE} for epoch in history]


# --- tests ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("task", "pause"), [("ner", "batch"), ("ner", "checkpoint"), ("sentiment", "batch")])
def test_sigkill_then_resume_equals_uninterrupted_run(task, pause, sample_data, reference, tmp_path):
    """Killed mid-epoch or mid-checkpoint, a run leaves epoch 1's checkpoint in force and only whole files;
    resuming from it replays epochs 2-3 exactly: the history, best epoch/score and weights of the uninterrupted run."""
    out = tmp_path / "run"
    spec = spec_of(task, sample_data, out=str(out), pause=pause)
    run_and_kill(spec, tmp_path / "child.log")

    checkpoints = out / "checkpoints"
    assert (checkpoints / "latest").read_text(encoding="utf-8") == "epoch-1"
    assert (checkpoints / "epoch-2").exists() == (pause == "checkpoint")
    if pause == "checkpoint":
        assert not (checkpoints / "epoch-2" / "optimizer.pt").exists()
        assert len(list((checkpoints / "epoch-2").glob(".optimizer.pt.*.tmp"))) == 1
    check_published_files_load(out)
    model, optimizer, scheduler = fresh_model(task, spec)
    state = load_checkpoint(latest_checkpoint(checkpoints), model, optimizer, scheduler)
    assert state["epoch"] == 1 and len(state["history"]) == 1

    resumed = train(spec, out, resume=True)
    full, full_out = reference[task]
    assert comparable(resumed.history) == comparable(full.history)
    assert [h["epoch"] for h in resumed.history] == list(range(1, EPOCHS + 1))
    assert (resumed.best_epoch, resumed.best_score) == (full.best_epoch, full.best_score)
    expected, got = load_file(full_out / "model" / WEIGHTS), load_file(out / "model" / WEIGHTS)
    assert expected.keys() == got.keys() and all(torch.equal(expected[k], got[k]) for k in expected)
    assert (checkpoints / "latest").read_text(encoding="utf-8") == f"epoch-{EPOCHS}"
    assert sorted(p.name for p in checkpoints.iterdir()) == [f"epoch-{EPOCHS}", "latest"]


if __name__ == "__main__":
    child(json.loads(sys.argv[1]))
