"""How a training stage runs on ``<section>.train.processes`` processes: as itself for 1, under torchrun for more.

``dvc.yaml`` keeps one plain command per stage (``python -m
pipeline.stages.train_ner``). Once the stage has read its section it calls
:func:`relaunch`; with ``processes: 2`` the command re-executes itself as
``torchrun --standalone --nproc_per_node=2 -m pipeline.stages.train_ner``,
so ``dvc exp run -S ner.train.processes=2`` switches the stage to
data-parallel training (:mod:`pipeline.training.distributed`).
:func:`tracked_stage` opens the MLflow run and dvclive on rank 0 alone: one
run per training, not one per process.
"""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from pipeline.tracking.stage import StageRun, stage_run
from pipeline.training import distributed
from pipeline.training.logger import NullLogger


def torchrun_command(processes: int) -> list[str]:
    """This process's command line (``-m module`` or script, and its arguments) under torchrun.

    ``python -m torch.distributed.run`` is ``torchrun`` run by this very
    interpreter, so the workers use the same environment whatever ``PATH`` says.
    """
    spec = sys.modules["__main__"].__spec__
    target = ["-m", spec.name] if spec is not None else [sys.argv[0]]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
            *target, *sys.argv[1:]]


def relaunch(processes: int) -> None:
    """Replace this process by ``processes`` copies of it under torchrun; returns only when no relaunch is due
    (one process, or already one of torchrun's workers)."""
    if processes == 1 or distributed.world().size > 1:
        return
    command = torchrun_command(processes)
    print("running on", processes, "processes:", " ".join(command), flush=True)
    os.execv(command[0], command)


def tracked_stage(experiment: str, stage: str, live_dir: Path, resume: bool) -> AbstractContextManager[StageRun]:
    """:func:`~pipeline.tracking.stage.stage_run` on rank 0; loggers that drop everything on the other ranks."""
    if distributed.is_main():
        return stage_run(experiment, stage, live_dir, resume=resume)
    return nullcontext(StageRun(NullLogger(), NullLogger()))
