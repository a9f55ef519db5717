"""The prepare stage's sentiment dev split: other movies than train (id blocks), or a seeded shuffle."""

from __future__ import annotations

import random

from pipeline.data.carve import split_dev


def reviews() -> list[dict]:
    """20 reviews per label, ids 0-19, in shuffled file order."""
    records = [{"id": f"train/{label}/{i}", "label": label} for label in ("neg", "pos") for i in range(20)]
    random.Random(0).shuffle(records)
    return records


def ids(records: list[dict], label: str) -> list[int]:
    return sorted(int(r["id"].rsplit("/", 1)[1]) for r in records if r["label"] == label)


def test_id_blocks_take_each_labels_highest_ids() -> None:
    """One movie's reviews have consecutive ids, so a tail block of ids keeps dev's movies out of train."""
    train, dev = split_dev(reviews(), 0.25, seed=13)
    for label in ("neg", "pos"):
        assert ids(dev, label) == list(range(15, 20))
        assert ids(train, label) == list(range(15))


def test_id_blocks_keep_file_order_for_ids_without_numbers() -> None:
    records = [{"id": name, "label": "pos"} for name in ("c", "a", "d", "b")]
    train, dev = split_dev(records, 0.5, seed=13)
    assert [r["id"] for r in train] == ["c", "a"] and [r["id"] for r in dev] == ["d", "b"]


def test_random_split_is_stratified_and_seeded() -> None:
    train, dev = split_dev(reviews(), 0.25, seed=13, method="random")
    assert len(ids(dev, "neg")) == len(ids(dev, "pos")) == 5
    assert sorted(ids(train, "pos") + ids(dev, "pos")) == list(range(20))
    assert ids(dev, "pos") != list(range(15, 20))
    assert (train, dev) == split_dev(reviews(), 0.25, seed=13, method="random")
