"""Optimisation settings shared by the NER and sentiment trainers (``ner.train``, ``sentiment.train``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.config import Section


class TrainConfig(Section):
    """Optimiser, schedule, clipping and early stopping for :func:`pipeline.training.loop.fit`."""

    epochs: int = Field(30, ge=1, le=1000)
    batch_size: int = Field(32, ge=1)  # per process: N processes take N batches a step
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    weight_decay: float = Field(0.0, ge=0.0)
    lr_schedule: Literal["constant", "inverse_time", "linear"] = "constant"
    lr_decay: float = Field(0.05, ge=0.0)  # inverse_time: lr / (1 + lr_decay * epoch), as in Ma & Hovy 2016
    grad_clip: float = Field(5.0, gt=0.0)
    patience: int = Field(5, ge=1)
    seed: int = 13
    processes: int = Field(1, ge=1)  # data-parallel processes; > 1 re-runs the stage under torchrun (stages/launch.py)
