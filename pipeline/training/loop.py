"""The training loop shared by the tagger and the classifier.

A :class:`Task` knows its data and loss; :func:`fit` owns everything else:
optimiser, schedule, clipping, a progress bar with loss and tokens/s,
evaluation on dev after each epoch, early stopping on one dev metric, the
best model directory, a checkpoint each epoch and resume.

Determinism: the global torch seed is reset to ``seed + epoch`` at the start
of every epoch and batches depend only on ``(seed, epoch)``, so resuming
from the checkpoint of epoch N replays epoch N+1 exactly as an
uninterrupted run would (on CPU).

Under ``torchrun`` the same loop trains data-parallel
(:mod:`pipeline.training.distributed`): each rank takes its shard of every
epoch's batches and the gradients are averaged, so every step is the same on
all ranks; rank 0 alone evaluates, logs, decides and writes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from pipeline.data.batching import Batches
from pipeline.model_dir import save_weights
from pipeline.progress import progress, write
from pipeline.training import distributed
from pipeline.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from pipeline.training.config import TrainConfig
from pipeline.training.logger import MetricsLogger

RANK_SEED_STRIDE = 1_000_003  # rank r seeds epoch e with seed + e + r * stride: its own dropout masks


class Task(Protocol):
    """What :func:`fit` needs to know about a task."""

    def batches(self, epoch: int) -> Batches:
        """This rank's training batches for ``epoch`` (deterministic in the epoch; ``distributed.shard``), counted."""

    def loss(self, model: torch.nn.Module, batch: Any) -> tuple[torch.Tensor, int]:
        """Mean loss of a batch and its number of tokens (for tokens/s)."""

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        """Dev-set metrics; called in eval mode under ``torch.inference_mode``."""

    def save_assets(self, directory: Path) -> None:
        """Write what rebuilds the model besides weights and config (vocabulary, labels)."""


@dataclass
class FitResult:
    best_epoch: int
    best_score: float
    history: list[dict]
    model_dir: Path


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    optimizer = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    # fused: one pass over each parameter instead of several; a fine-tuned word table's dense update is large
    return optimizer(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-epoch multiplicative schedule on the base learning rate."""
    factors = {
        "constant": lambda epoch: 1.0,
        "inverse_time": lambda epoch: 1.0 / (1.0 + cfg.lr_decay * epoch),
        "linear": lambda epoch: max(0.0, 1.0 - epoch / cfg.epochs),
    }
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factors[cfg.lr_schedule])


def train_epoch(model, task: Task, optimizer, cfg: TrainConfig, epoch: int) -> dict[str, float]:
    """One pass over the training batches; returns mean loss and tokens/s (over all ranks)."""
    model.train()
    total_loss, total_tokens, n_batches, start = 0.0, 0, 0, time.perf_counter()
    bar = progress(task.batches(epoch), desc=f"epoch {epoch}", unit="batch", leave=False,
                   disable=not distributed.is_main())  # one bar, not one per rank
    for batch in bar:
        optimizer.zero_grad(set_to_none=True)
        loss, tokens = task.loss(model, batch)
        loss.backward()
        distributed.average_gradients(model)
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        total_loss, total_tokens, n_batches = total_loss + loss.item(), total_tokens + tokens, n_batches + 1
        bar.set_postfix(loss=f"{total_loss / n_batches:.3f}", tok_s=f"{total_tokens / (time.perf_counter() - start):.0f}",
                        refresh=False)
    seconds = time.perf_counter() - start
    total_loss, total_tokens, n_batches = distributed.sum_over_ranks([total_loss, total_tokens, n_batches])
    return {"train_loss": total_loss / max(n_batches, 1), "tokens_per_s": total_tokens / seconds, "epoch_s": seconds}


def fit(
    model: torch.nn.Module,
    task: Task,
    cfg: TrainConfig,
    out_dir: Path,
    monitor: str,
    config: dict,
    logger: MetricsLogger,
    resume: bool = False,
) -> FitResult:
    """Train with early stopping on dev ``monitor`` (higher is better).

    ``out_dir/model`` receives the best epoch's model directory,
    ``out_dir/checkpoints`` the last epoch's checkpoint.

    Under torchrun, rank 0 alone evaluates dev (once, not on every rank: the
    ranks share the machine's cores), logs, decides on early stopping and
    writes; its trainer state then goes to every rank, so all stop at the same
    epoch. With ``resume`` every rank loads the same checkpoint.
    """
    with distributed.process_group():
        optimizer = make_optimizer(model, cfg)
        scheduler = make_scheduler(optimizer, cfg)
        model_dir, ckpt_root = out_dir / "model", out_dir / "checkpoints"
        state = {"epoch": 0, "best_epoch": 0, "best_score": float("-inf"), "bad_epochs": 0, "history": []}
        last = latest_checkpoint(ckpt_root) if resume else None
        if last is not None:
            state = load_checkpoint(last, model, optimizer, scheduler)
        distributed.broadcast_model(model)
        main = distributed.is_main()
        if main:
            logger.log_params(config)
        for epoch in range(state["epoch"] + 1, cfg.epochs + 1):
            if state["bad_epochs"] >= cfg.patience:
                break
            torch.manual_seed(cfg.seed + epoch + RANK_SEED_STRIDE * distributed.world().rank)
            metrics = train_epoch(model, task, optimizer, cfg, epoch) | {"lr": scheduler.get_last_lr()[0]}
            scheduler.step()
            if main:
                metrics |= evaluate(model, task)
                logger.log_metrics(metrics, step=epoch)
                write(f"epoch {epoch}/{cfg.epochs}: " + " ".join(f"{k}={v:.4g}" for k, v in metrics.items()))
                if record_epoch(state, epoch, metrics, monitor):
                    save_weights(model_dir, model, config)
                    task.save_assets(model_dir)
                save_checkpoint(ckpt_root, epoch, model, optimizer, scheduler, config, state)
            state = distributed.broadcast(state)
    return FitResult(state["best_epoch"], state["best_score"], state["history"], model_dir)


def evaluate(model: torch.nn.Module, task: Task) -> dict[str, float]:
    """Dev metrics in eval mode (no dropout) without autograd."""
    model.eval()
    with torch.inference_mode():
        return task.evaluate(model)


def record_epoch(state: dict, epoch: int, metrics: dict[str, float], monitor: str) -> bool:
    """Add the epoch to the trainer ``state``; True when its ``monitor`` is the best yet, else one more bad epoch."""
    state["history"].append({"epoch": epoch, **metrics})
    state["epoch"] = epoch
    if metrics[monitor] > state["best_score"]:
        state.update(best_epoch=epoch, best_score=metrics[monitor], bad_epochs=0)
        return True
    state["bad_epochs"] += 1
    return False
