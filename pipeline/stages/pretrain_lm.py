"""Stage ``pretrain_lm``: a forward and a backward LSTM language model on the prepared corpus, from the vectors.

Reads only the ``pretrain_lm`` section of params.yaml. Outputs:
``outputs/lm/model`` (the epoch with the lowest dev perplexity on the held-out
last documents: weights, config, vocabulary), ``outputs/lm/checkpoints`` (the
last epoch, for ``--resume``), per-epoch metrics in ``dvclive/lm`` and the
MLflow run, and ``metrics/lm.json`` (dev perplexity, tokens/s, training time).

    python -m pipeline.stages.pretrain_lm [--resume]
"""

from __future__ import annotations

import argparse
import time

import torch

from pipeline import paths
from pipeline.atomic import write_json
from pipeline.config import load_section
from pipeline.runner import run
from pipeline.stages.launch import tracked_stage
from pipeline.training.lm_task import SECTION, PretrainConfig, train_lm


def main() -> None:
    parser = argparse.ArgumentParser(description="Pretrain the language model.")
    parser.add_argument("--resume", action="store_true", help="continue from outputs/lm/checkpoints")
    args = parser.parse_args()
    cfg = load_section(PretrainConfig, SECTION)
    torch.set_num_threads(cfg.threads)
    start = time.perf_counter()
    with tracked_stage(paths.LM_EXPERIMENT, "pretrain_lm", paths.LM_LIVE, args.resume) as tracked:
        result = train_lm(cfg, paths.CORPUS, paths.VECTORS, paths.LM_OUT, tracked.epochs, args.resume)
        tracked.tracker.log_artifact(result.model_dir)
    best = result.history[result.best_epoch - 1]
    write_json(paths.METRICS / "lm.json", {
        "dev_perplexity": best["dev_perplexity"], "best_epoch": result.best_epoch,
        "tokens_per_s": round(sum(h["tokens_per_s"] for h in result.history) / len(result.history)),
        "train_s": round(time.perf_counter() - start, 1),
    })


if __name__ == "__main__":
    run(main)
