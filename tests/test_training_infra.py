"""Shared training machinery: batching, atomic writes, checkpoints."""

import json

import pytest
import torch

from pipeline.atomic import atomic_open, write_json
from pipeline.data.batching import MAX_DOC_SENTENCES, bucket_batches, document_batches
from pipeline.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from pipeline.training.config import TrainConfig
from pipeline.training.loop import make_optimizer, make_scheduler


def test_bucket_batches_cover_everything_once_and_are_deterministic():
    lengths = [(i * 37) % 50 + 1 for i in range(1000)]
    batches = bucket_batches(lengths, batch_size=16, seed=3, epoch=2)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    assert batches == bucket_batches(lengths, batch_size=16, seed=3, epoch=2)
    assert batches != bucket_batches(lengths, batch_size=16, seed=3, epoch=3)
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 5  # bucketing: lengths within a batch are close (random batches would spread ~45)


def test_document_batches_keep_documents_whole_and_are_deterministic():
    docs = [d for d in range(60) for _ in range(d % 7 + 1)]  # 60 documents of 1 to 7 sentences
    batches = document_batches(docs, batch_size=10, seed=3, epoch=2)
    assert sorted(i for b in batches for i in b) == list(range(len(docs)))
    assert all(len(b) >= 10 for b in batches[:-1])
    owner = {docs[i]: n for n, b in enumerate(batches) for i in b}
    assert all(owner[docs[i]] == n for n, b in enumerate(batches) for i in b)  # no document in two batches
    assert batches == document_batches(docs, batch_size=10, seed=3, epoch=2)
    assert batches != document_batches(docs, batch_size=10, seed=3, epoch=3)
    assert document_batches(docs, 10, 0, 0, shuffle=False)[0] == list(range(10))  # in order: documents 0-3


def test_unshuffled_document_batches_go_longest_sentence_first():
    batches = document_batches([0, 1, 1, 2], batch_size=2, seed=0, epoch=0, shuffle=False, lengths=[3, 1, 2, 9])
    assert batches == [[3, 0], [1, 2]]


def test_document_batches_cut_runaway_documents():
    batches = document_batches([0] * (MAX_DOC_SENTENCES + 5), batch_size=4, seed=0, epoch=0, shuffle=False)
    assert [len(b) for b in batches] == [MAX_DOC_SENTENCES, 5]


def test_unshuffled_batches_are_longest_first():
    batches = bucket_batches([3, 9, 1, 7], batch_size=2, seed=0, epoch=0, shuffle=False)
    assert batches == [[1, 3], [0, 2]]


def test_max_tokens_caps_a_batch_at_its_padded_size():
    lengths = [10, 100, 3, 3, 3, 40]
    batches = bucket_batches(lengths, batch_size=4, seed=0, epoch=0, shuffle=False, max_tokens=90)
    assert batches == [[1], [5, 0], [2, 3, 4]]  # 100 alone is over the budget, 40+10 pads to 80, 3s fill up
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"f1": 0.5})
    with pytest.raises(RuntimeError):
        with atomic_open(target) as fh:
            fh.write('{"f1": ')
            raise RuntimeError("crash mid-write")
    assert json.loads(target.read_text()) == {"f1": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_checkpoint_round_trip_and_latest_pointer(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    cfg = TrainConfig(lr=0.1)
    optimizer = make_optimizer(model, cfg)
    scheduler = make_scheduler(optimizer, cfg)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    assert latest_checkpoint(tmp_path) is None
    save_checkpoint(tmp_path, 1, model, optimizer, scheduler, {"k": 1}, {"epoch": 1})
    save_checkpoint(tmp_path, 2, model, optimizer, scheduler, {"k": 1}, {"epoch": 2})
    assert latest_checkpoint(tmp_path).name == "epoch-2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-2", "latest"]
    fresh = torch.nn.Linear(3, 2)
    fresh_opt = make_optimizer(fresh, cfg)
    state = load_checkpoint(latest_checkpoint(tmp_path), fresh, fresh_opt, make_scheduler(fresh_opt, cfg))
    assert state == {"epoch": 2}
    assert torch.equal(fresh.weight, model.weight)
    assert fresh_opt.state_dict()["state"][0]["exp_avg"].equal(optimizer.state_dict()["state"][0]["exp_avg"])
