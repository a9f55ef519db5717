"""NER training epoch time at this commit beside an earlier one, in alternation in one run.

Each round trains one epoch in a fresh process per source tree (this checkout
and ``git archive`` of ``--baseline``), one thread: the full-profile tagger
(config and starting weights from ``--model``), the ``eng.train`` sentences
with their documents, and each tree's own ``NerTask`` and ``train_epoch``
(encoding, loss, backward, clipping, Adam). The order of the two trees
alternates between rounds; round 0 warms the disk cache and is not counted.
Seconds per epoch, the best of the rounds and the fraction of the epoch saved
go to ``benchmarks/results/ner_epoch.json``.

    python benchmarks/ner_epoch.py --model <full-profile project>/outputs/ner/model [--baseline REV] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, SHARED, THREAD_ENV, load_avg, require

RESULTS = ROOT / "benchmarks" / "results" / "ner_epoch.json"
BASELINE = "4158182"  # the commit the speed issue was measured at (33.8 s per NER epoch then)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a trained NER model directory (full profile)")
    parser.add_argument("--conll", type=Path, default=SHARED / "conll2003" / "eng.train.gz")
    parser.add_argument("--baseline", default=BASELINE, help="the git revision to compare with")
    parser.add_argument("--sentences", type=int, default=0, help="the first N training sentences (0: all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # one epoch, in the tree on sys.path
    return parser.parse_args()


def one_epoch(args: argparse.Namespace) -> dict:
    """Train one epoch with the ``pipeline`` package found first on ``sys.path``; its seconds and mean loss."""
    import torch

    from pipeline.data.conll import read_conll
    from pipeline.model_dir import read_config
    from pipeline.models.tagger import load_tagger
    from pipeline.training.loop import make_optimizer, train_epoch
    from pipeline.training.ner_task import NerConfig, NerTask

    torch.set_num_threads(1)
    cfg = NerConfig.model_validate(read_config(args.model))
    model, assets = load_tagger(args.model)
    sentences = [s for s in read_conll(args.conll, "iob1", "iob2") if s.words]
    sentences = sentences[: args.sentences or None]
    records = [(s.words, s.tags) for s in sentences]
    docs = [s.doc for s in sentences]
    task = NerTask(cfg, assets, records, records[:1], (docs, docs[:1]))
    torch.manual_seed(cfg.train.seed + 1)
    metrics = train_epoch(model, task, make_optimizer(model, cfg.train), cfg.train, 1)
    return {"epoch_s": metrics["epoch_s"], "train_loss": metrics["train_loss"], "sentences": len(sentences)}


def timed(tree: Path, args: argparse.Namespace) -> dict:
    """:func:`one_epoch` in a child process that imports ``pipeline`` from ``tree``."""
    env = os.environ | THREAD_ENV | {"PYTHONPATH": str(tree), "PIPELINE_PROGRESS": "off"}
    command = [sys.executable, __file__, "--worker", "--model", str(args.model), "--conll", str(args.conll),
               "--sentences", str(args.sentences)]
    done = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"the epoch in {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Alternate the two trees' epochs and write the result."""
    from pipeline.atomic import write_json

    args = parse_args()
    require(args.model, "run benchmarks/full_profile.py")
    require(args.conll, "CoNLL-2003 eng.train")
    with tempfile.TemporaryDirectory() as scratch:
        baseline = Path(scratch)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive.stdout, check=True)
        trees = {"baseline": baseline, "this_commit": ROOT}
        runs: dict[str, list[dict]] = {name: [] for name in trees}
        for round_ in range(args.rounds + 1):
            for name in trees if round_ % 2 else list(trees)[::-1]:
                run = timed(trees[name], args)
                print(f"round {round_} {name:12} {run['epoch_s']:7.2f} s  loss {run['train_loss']:.4f}", flush=True)
                if round_:
                    runs[name].append(run)
    best = {name: min(r["epoch_s"] for r in values) for name, values in runs.items()}
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    result = {"epoch_s": {name: [round(r["epoch_s"], 2) for r in values] for name, values in runs.items()},
              "train_loss": {name: round(values[0]["train_loss"], 4) for name, values in runs.items()},
              "best_epoch_s": {name: round(value, 2) for name, value in best.items()},
              "time_saved": round(1 - best["this_commit"] / best["baseline"], 3),
              "setup": {"model": str(args.model), "baseline": args.baseline, "this_commit": head.stdout.strip(),
                        "sentences": runs["baseline"][0]["sentences"], "threads": 1, "rounds": args.rounds,
                        "load_avg_at_end": load_avg()}}
    write_json(args.out, result)
    print(f"{'seconds per epoch':20}{'baseline':>12}{'this commit':>14}")
    print(f"{'best of rounds':20}{best['baseline']:>12.2f}{best['this_commit']:>14.2f}")
    print(f"this commit saves {100 * result['time_saved']:.1f}% of an epoch against {args.baseline}")


if __name__ == "__main__":
    ARGS = parse_args()
    if ARGS.worker:
        print(json.dumps(one_epoch(ARGS)))
    else:
        from pipeline.runner import run

        run(main)
