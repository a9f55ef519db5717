"""Dev splits carved from train when a task has no dev file (flair's ``sample_missing_splits``, seeded).

NER carves whole documents, so a document's sentences never sit on both
sides (the tagger's document context would otherwise leak); sentiment carves
per label (stratified).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from pipeline.data.conll import Sentence
from pipeline.errors import DataError


def carve_documents(sentences: Sequence[Sentence], fraction: float, seed: int,
                    source: Path) -> tuple[list[Sentence], list[Sentence]]:
    """``(train, dev)``: a seeded choice of documents holding about ``fraction`` of the sentences go to dev.

    A file without ``-DOCSTART-`` lines is one document; its sentences are then carved one by one.
    """
    groups: dict[int, list[int]] = {}
    for index, sentence in enumerate(sentences):
        groups.setdefault(sentence.doc, []).append(index)
    units = list(groups.values()) if len(groups) > 1 else [[i] for i in range(len(sentences))]
    random.Random(seed).shuffle(units)
    wanted, chosen = round(len(sentences) * fraction), set()
    for unit in units:
        if len(chosen) >= wanted:
            break
        chosen.update(unit)
    dev = [s for i, s in enumerate(sentences) if i in chosen]
    train = [s for i, s in enumerate(sentences) if i not in chosen]
    _check_sides(source, len(train), len(dev), fraction, "sentences")
    return train, dev


def _id_number(record: dict) -> int | None:
    """The number ending a review id (``train/pos/123`` → 123), or None when the id has none."""
    tail = str(record["id"]).rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def split_dev(records: list[dict], fraction: float, seed: int, method: str = "id_blocks",
              source: Path | None = None) -> tuple[list[dict], list[dict]]:
    """Carve a stratified dev split off ``records``: per label, the last ids (``id_blocks``) or a seeded shuffle.

    IMDB numbers the reviews of one movie consecutively, and its test set
    covers other movies than train. A random dev split shares its movies with
    train, so it rewards a model that memorises titles and names (the README
    gives the figures). ``id_blocks`` takes each label's highest ids instead,
    so dev's movies are, but for the one at the cut, new to that label's
    training reviews, as test's are. Ids without a number keep their file order.
    """
    rng = random.Random(seed)
    train, dev = [], []
    for label in sorted({r["label"] for r in records}):
        group = [r for r in records if r["label"] == label]
        if method == "random":
            rng.shuffle(group)
            cut = round(len(group) * fraction)
            dev.extend(group[:cut])
            train.extend(group[cut:])
            continue
        if all(_id_number(r) is not None for r in group):
            group.sort(key=_id_number)
        cut = len(group) - round(len(group) * fraction)
        train.extend(group[:cut])
        dev.extend(group[cut:])
    if source is not None:
        _check_sides(source, len(train), len(dev), fraction, "texts")
    return train, dev


def _check_sides(source: Path, train: int, dev: int, fraction: float, unit: str) -> None:
    """An empty side after carving is the user's to fix: more data, another fraction, or a dev file."""
    if not train or not dev:
        raise DataError(source, None, f"carving a {fraction:g} dev split leaves {train} training and {dev} dev {unit}: "
                                      "add data, change prepare.dev_fraction, or name a dev file")
