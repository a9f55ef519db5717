"""Data-parallel training under ``torchrun``: who this process is, and what the processes share.

``torchrun --nproc_per_node=N`` starts N copies of a stage with ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` in their environment; a plain ``python``
run has none of them and is the world of one, where every helper here is a
no-op and no process group exists. Under torchrun, :func:`process_group`
joins the others: gloo for CPU tensors (the trainers train on CPU), plus
NCCL for CUDA tensors where a GPU exists.

Each rank trains on its :func:`shard` of an epoch's batches and
:func:`average_gradients` makes every optimiser step the same on all ranks,
so their models stay identical without ever being compared.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """This process's place among the processes torchrun started."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0  # rank on this machine: which GPU, where there are several


def world() -> World:
    """The world torchrun describes in the environment (the same the process group is built from)."""
    env = os.environ
    return World(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0)))


def is_main() -> bool:
    """Rank 0: the one process that evaluates, logs and writes files."""
    return world().rank == 0


def backend() -> str:
    """gloo for CPU tensors; where CUDA exists, NCCL for CUDA tensors too (torch dispatches on the tensor's device)."""
    return "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"


@contextmanager
def process_group() -> Iterator[None]:
    """Join the other ranks for the block (world size > 1 only); leave the group afterwards.

    Re-entrant: inside an open group it does nothing, so a caller may hold
    one group open around several trainings, each :func:`fit` asking for its own.
    """
    if world().size == 1 or dist.is_initialized():
        yield
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(world().local_rank % torch.cuda.device_count())  # shared when ranks outnumber GPUs
    dist.init_process_group(backend())
    try:
        yield
    finally:
        dist.destroy_process_group()


def active() -> bool:
    """Whether there are other ranks to talk to."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def shard(batches: list[T]) -> list[T]:
    """This rank's share of an epoch's batches: every ``size``-th one, starting at its rank.

    ``batches`` must be in the same order on every rank (``bucket_batches``
    fixes it by seed and epoch), so the shares are disjoint, cover the epoch
    and keep its length bucketing. The list is first padded, by cycling from
    its start, to a multiple of the world size: every rank then takes the same
    number of steps. A rank with one step fewer would leave the others waiting
    forever in the gradient all-reduce of their last step.
    """
    rank, size = world().rank, world().size
    if size == 1:
        return batches
    steps = -(-len(batches) // size)  # ceil
    padded = [batches[i % len(batches)] for i in range(steps * size)]
    return padded[rank::size]


def average_gradients(model: torch.nn.Module) -> None:
    """Replace every gradient by its mean over the ranks (after ``backward``, before clipping and ``step``).

    An explicit all-reduce rather than a ``DistributedDataParallel`` wrapper:
    the tasks compute their loss through methods (``Tagger.loss``), not
    through ``forward``, which is the only call DDP hooks; and an unwrapped
    model keeps its parameter names, so checkpoints and model directories are
    the same whatever the world size. One flat all-reduce per step; these
    models are small enough that overlapping it with ``backward`` (DDP's gain)
    would save little. A parameter without a gradient on this rank counts as
    zero, so every rank reduces tensors of the same layout.
    """
    if not active():
        return
    params = [p for p in model.parameters() if p.requires_grad]
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])  # (sum of parameter sizes,)
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    for param, mean in zip(params, flat.split([g.numel() for g in grads])):
        param.grad = mean.view_as(param)


def broadcast_model(model: torch.nn.Module) -> None:
    """Give every rank rank 0's parameters and buffers, as DDP does at start.

    Seeded construction already makes them equal; this makes it a guarantee.
    """
    if active():
        for tensor in model.state_dict().values():
            dist.broadcast(tensor, src=0)


def broadcast(value: T) -> T:
    """Rank 0's ``value`` on every rank: a small picklable object such as the trainer state."""
    if not active():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def sum_over_ranks(values: list[float]) -> list[float]:
    """Element-wise sums over the ranks (per-epoch totals: loss, tokens, batches)."""
    if not active():
        return values
    total = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(total)
    return total.tolist()
