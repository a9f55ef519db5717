"""Data-parallel training under torchrun on the committed sample: two processes against one.

The two-process runs are one real ``torchrun --standalone --nproc_per_node=2``
launch of this very file (its ``__main__`` block is the worker; gloo on CPU,
``OMP_NUM_THREADS=1``). One launch serves every test: on a 2-core machine the
start-up of torchrun and its two workers costs more than the training. In it
each rank trains, inside one process group:

- ``ner``: the NER tagger on the CoNLL sample for ``EPOCHS`` epochs; rank 1 is
  handed a decoy output directory, so anything it wrote would show there;
- ``sentiment``: the classifier on a slice of the IMDB sample for 3 epochs
  (decoy for rank 1 as well), and the same training cut after epoch 1
  (``interrupted``), then ``resumed`` by a fresh model and optimiser from that
  checkpoint on disk: what ``--resume`` does, minus the process start-up.
  The classifier rather than the tagger because it is many times cheaper;
  the loop, the checkpoint and the resume are the same;
- ``stopped``: the classifier with a learning rate too small to change dev
  accuracy and patience 1, which rank 0 must stop after epoch 2 of 4.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
from conftest import SAMPLE, write_vectors_config

from pipeline.data.conll import read_conll
from pipeline.training import distributed
from pipeline.training.logger import NullLogger
from pipeline.training.loop import fit
from pipeline.training.ner_task import MONITOR, NerConfig, NerTask, build_model
from pipeline.training.sentiment_task import SentimentConfig, train_sentiment

EPOCHS = 7
NER = {  # small and regularised: with random embeddings dev words are mostly unknown, word dropout trains <unk>
    "model": {"embedding": "random", "word_dim": 32, "casing_dim": 4, "char_dim": 16, "char_size": 16,
              "hidden_size": 32, "dropout": 0.3, "word_dropout": 0.3},
    "train": {"epochs": EPOCHS, "batch_size": 8, "lr": 0.005, "seed": 3, "patience": EPOCHS},
}
SENTIMENT = {
    "model": {"embeddings": "random", "embedding_dim": 16, "hidden_sizes": [16]},
    "train": {"batch_size": 16, "lr": 0.005, "patience": 4},
    "max_len": 100,
}
TOLERANCE_F1 = 10.0  # best dev F1 points; see test_two_processes_reach_the_dev_f1_of_one
LEARNED_F1 = 20.0  # an untrained tagger scores 0: both runs must clear this, or agreeing proves nothing


class CountingLogger(NullLogger):
    """Counts what reaches it: rank 0 logs the parameters and every epoch, other ranks nothing."""

    def __init__(self) -> None:
        self.calls = 0

    def log_params(self, params: dict) -> None:
        self.calls += 1

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.calls += 1


def digest(model: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer: equal on all ranks when data parallelism works."""
    return hashlib.sha256(b"".join(t.numpy().tobytes() for t in model.state_dict().values())).hexdigest()


def without_timings(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if k not in ("epoch_s", "tokens_per_s")} for h in history]


def conll(name: str) -> list[tuple[list[str], list[str]]]:
    return [(s.words, s.tags) for s in read_conll(SAMPLE / "conll2003" / name)]


def train_ner(work: Path, out_dir: Path) -> dict:
    """Train the tagger on the CoNLL sample (dev: eng.testa); what this rank saw, as JSON."""
    cfg = NerConfig.model_validate(NER)
    train = conll("eng.train.gz")
    model, assets = build_model(cfg, train, work / "w2v" / "vectors.bin")  # random embeddings: only its config is read
    logger = CountingLogger()
    result = fit(model, NerTask(cfg, assets, train, conll("eng.testa.gz")), cfg.train, out_dir, MONITOR,
                 cfg.model_dump(mode="json"), logger)
    return {"best_f1": result.best_score, "history": without_timings(result.history), "logged": logger.calls,
            "digest": digest(model)}


def train_classifier(work: Path, out_dir: Path, epochs: int, resume: bool = False, **train) -> dict:
    """Train the classifier on the IMDB slice; what this rank saw, as JSON."""
    cfg = SentimentConfig.model_validate(SENTIMENT | {"train": SENTIMENT["train"] | {"epochs": epochs, **train}})
    logger = CountingLogger()
    result = train_sentiment(cfg, work / "imdb", None, out_dir, logger, resume)
    return {"history": without_timings(result.history), "logged": logger.calls}


def write_inputs(work: Path) -> None:
    """The vectors' normalisation config (random embeddings need nothing else) and IMDB train/dev splits."""
    write_vectors_config(work / "w2v")
    with gzip.open(SAMPLE / "aclimdb" / "train.jsonl.gz", "rt", encoding="utf-8") as fh:
        reviews = [json.loads(line) for line in fh][::4]  # the file is sorted by label: every 4th keeps both
    lines = [json.dumps({"tokens": r["text"].split(), "label": r["label"]}) for r in reviews]  # no spaCy: speed
    (work / "imdb").mkdir()
    (work / "imdb" / "train.jsonl").write_text("".join(line + "\n" for i, line in enumerate(lines) if i % 5))
    (work / "imdb" / "dev.jsonl").write_text("".join(line + "\n" for line in lines[::5]))


def worker(work: Path) -> None:
    """One torchrun rank: every training of the module docstring, its reports in ``work/rank<r>.json``."""
    rank = distributed.world().rank
    own = work if rank == 0 else work / f"decoy-rank{rank}"
    with distributed.process_group():
        report = {
            "ner": train_ner(work, own / "ner"),
            "sentiment": train_classifier(work, own / "sentiment", 3),
            "interrupted": train_classifier(work, work / "resumed", 1),
            "resumed": train_classifier(work, work / "resumed", 3, resume=True),
            "stopped": train_classifier(work, own / "stopped", 4, lr=1e-7, patience=1),
        }
    (work / f"rank{rank}.json").write_text(json.dumps(report))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """The torchrun launch's reports by rank, and the same NER training in this one process."""
    work = tmp_path_factory.mktemp("ddp")
    write_inputs(work)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", __file__, str(work)]
    proc = subprocess.run(command, env=os.environ | {"OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ranks = [json.loads((work / f"rank{r}.json").read_text()) for r in (0, 1)]
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = train_ner(work, work / "single")
    finally:
        torch.set_num_threads(before)
    return {"work": work, "ranks": ranks, "single": single}


def test_two_processes_reach_the_dev_f1_of_one(runs):
    """Best dev F1 of 2 processes within ``TOLERANCE_F1`` points of 1 process, same config.

    They cannot agree exactly: ``batch_size`` is per process, so two
    processes take 16 sentences a step, half as many steps an epoch, and
    different sentences meet in a step; each rank draws its own dropout
    masks. On 300 training sentences that moves dev F1 by several points from
    epoch to epoch, and the 198 dev entities make one entity worth about half
    a point (measured while writing this test: best dev F1 32.2 for 1
    process, 35.6 for 2, after 7 epochs).
    """
    one, two = runs["single"]["best_f1"], runs["ranks"][0]["ner"]["best_f1"]
    print(f"best dev F1: 1 process {one:.1f}, 2 processes {two:.1f}")
    assert one > LEARNED_F1 and two > LEARNED_F1
    assert abs(one - two) <= TOLERANCE_F1


def test_ranks_hold_the_same_model_and_only_rank_0_writes_and_logs(runs):
    rank0, rank1 = runs["ranks"]
    assert rank0["ner"]["digest"] == rank1["ner"]["digest"]  # averaged gradients keep the replicas equal
    for run in ("ner", "sentiment", "resumed", "stopped"):
        assert rank0[run]["history"] == rank1[run]["history"]  # rank 0's evaluation and decisions, broadcast
    assert rank0["ner"]["logged"] == 1 + EPOCHS and rank1["ner"]["logged"] == 0
    assert rank0["sentiment"]["logged"] == 1 + 3 and rank1["sentiment"]["logged"] == 0
    work = runs["work"]
    assert not (work / "decoy-rank1").exists()
    assert (work / "ner" / "model" / "model.safetensors").exists()
    assert (work / "ner" / "checkpoints" / "latest").read_text() == f"epoch-{EPOCHS}"
    assert (work / "sentiment" / "model" / "vocab.json").exists()


def test_rank_0_stops_early_for_every_rank(runs):
    """Dev accuracy never improves at lr 1e-7: with patience 1 every rank stops after epoch 2 of 4."""
    assert [h["epoch"] for h in runs["ranks"][1]["stopped"]["history"]] == [1, 2]


def test_resume_under_ddp_replays_the_uninterrupted_run(runs):
    """Both ranks load the checkpoint of epoch 1; epochs 2-3 replay exactly (a sum of 2 floats has one order)."""
    rank0, work = runs["ranks"][0], runs["work"]
    assert [h["epoch"] for h in rank0["interrupted"]["history"]] == [1]
    assert rank0["resumed"]["history"] == rank0["sentiment"]["history"]
    final = [work / run / "checkpoints" / "epoch-3" / "model.safetensors" for run in ("sentiment", "resumed")]
    assert final[0].read_bytes() == final[1].read_bytes()


def test_shards_are_disjoint_equal_and_keep_the_order(monkeypatch):
    batches = [[i] for i in range(7)]
    assert distributed.shard(batches) == batches  # world of one
    monkeypatch.setenv("WORLD_SIZE", "2")
    shards = {}
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        shards[rank] = distributed.shard(batches)
    assert shards == {0: [[0], [2], [4], [6]], 1: [[1], [3], [5], [0]]}  # padded by cycling: 4 steps each


def test_processes_param_relaunches_the_stage_under_torchrun(monkeypatch):
    from pipeline.stages import (
        launch,  # imports MLflow: kept out of the module, which every torchrun worker imports
    )

    calls = []
    monkeypatch.setattr(os, "execv", lambda path, argv: calls.append(argv))
    monkeypatch.setitem(sys.modules, "__main__", types.SimpleNamespace(__spec__=types.SimpleNamespace(
        name="pipeline.stages.train_ner")))
    monkeypatch.setattr(sys, "argv", ["train_ner.py", "--resume"])
    launch.relaunch(1)
    assert calls == []
    launch.relaunch(2)
    assert calls == [[sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                      "-m", "pipeline.stages.train_ner", "--resume"]]
    monkeypatch.setenv("WORLD_SIZE", "2")
    launch.relaunch(2)  # already a torchrun worker
    assert len(calls) == 1


if __name__ == "__main__":
    worker(Path(sys.argv[1]))
