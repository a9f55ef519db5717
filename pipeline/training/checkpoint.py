"""Resumable checkpoints, in plain safe formats.

A *checkpoint* is a model directory (:mod:`pipeline.model_dir`) plus
``optimizer.pt`` (optimiser and scheduler state, tensors only, read back
with ``torch.load(weights_only=True)``) and ``state.json`` (epoch, best
score, history).

Checkpoints are written to a fresh ``epoch-N`` directory and only then
published by atomically rewriting the ``latest`` pointer file, so a crash
at any moment leaves the previous checkpoint whole and in force.
"""

from __future__ import annotations

import json
import pickle
import re
import shutil
from pathlib import Path

import torch

from pipeline.atomic import atomic_open, write_json, write_with
from pipeline.errors import DataError
from pipeline.model_dir import load_weights, save_weights

OPTIMIZER = "optimizer.pt"
STATE = "state.json"
LATEST = "latest"
_UNSAFE_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+)")  # how torch names what weights_only refused


def save_checkpoint(root: Path, epoch: int, model, optimizer, scheduler, config: dict, state: dict) -> Path:
    """Write checkpoint ``root/epoch-N`` and publish it as ``latest``; older ones are removed."""
    directory = root / f"epoch-{epoch}"
    if directory.exists():
        shutil.rmtree(directory)
    save_weights(directory, model, config)
    write_with(
        directory / OPTIMIZER,
        lambda tmp: torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp),
    )
    write_json(directory / STATE, state)
    with atomic_open(root / LATEST) as fh:
        fh.write(directory.name)
    for old in root.glob("epoch-*"):
        if old != directory:
            shutil.rmtree(old)
    return directory


def latest_checkpoint(root: Path) -> Path | None:
    """The published checkpoint directory, or None when there is none yet."""
    pointer = root / LATEST
    if not pointer.exists():
        return None
    return root / pointer.read_text(encoding="utf-8").strip()


def load_checkpoint(directory: Path, model, optimizer, scheduler) -> dict:
    """Restore model, optimiser and scheduler from ``directory``; returns the trainer state.

    ``optimizer.pt`` is unpickled with ``weights_only=True``: a file holding
    anything but tensors and plain containers (a tampered checkpoint that would
    run code when loaded) is refused as a DataError naming it, never executed.
    """
    load_weights(directory, model)
    try:
        saved = torch.load(directory / OPTIMIZER, weights_only=True)
    except pickle.UnpicklingError as exc:
        found = _UNSAFE_GLOBAL.search(str(exc))
        what = f"it references {found[1]}, not only tensors" if found else "it holds more than tensors"
        raise DataError(
            directory / OPTIMIZER, None,
            f"refused to load: {what}; it was tampered with or is no checkpoint of this project: "
            "delete the checkpoint directory and train without --resume",
        ) from None
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    return json.loads((directory / STATE).read_text(encoding="utf-8"))
