"""NER training step time: the tagger's own CRF loss (``crf_nll``) beside pytorch-crf's, side by side in one run.

Two copies of the full-profile tagger (its config and weights, in training
mode) take turns on the same ``eng.train`` batches (batch 32, length-bucketed
as in training, each sentence its own document): loss, backward and an Adam
step, one thread. Only the loss differs: ``-crf(emissions, tags, mask)`` of
pytorch-crf against ``Tagger.loss``. Seconds per pass over the batches and
their ratio go to ``benchmarks/results/ner_train_step.json``.

    python benchmarks/ner_train_step.py --model <full-profile project>/outputs/ner/model [--sentences 3000]
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import torch
from common import ROOT, SHARED, load_avg, require

from pipeline.atomic import write_json
from pipeline.data.batching import bucket_batches
from pipeline.data.conll import read_conll
from pipeline.models.tagger import encode_batch, load_tagger

RESULTS = ROOT / "benchmarks" / "results" / "ner_train_step.json"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a trained NER model directory (full profile)")
    parser.add_argument("--conll", type=Path, default=SHARED / "conll2003" / "eng.train.gz")
    parser.add_argument("--sentences", type=int, default=3000, help="the first N training sentences")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args()


def pytorch_crf_loss(model, batch) -> torch.Tensor:
    """The loss before ``crf_nll``: pytorch-crf's forward algorithm, recorded by autograd step by step."""
    return -model.crf(model.emissions(batch), batch.tags, mask=batch.mask, reduction="mean")


def timed_pass(model, optimizer, batches, loss) -> float:
    """Seconds of one training pass (loss, backward, Adam step) over ``batches``."""
    start = time.perf_counter()
    for batch in batches:
        optimizer.zero_grad()
        loss(model, batch).backward()
        optimizer.step()
    return time.perf_counter() - start


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model, assets = load_tagger(require(args.model, "run benchmarks/full_profile.py"), engine="torch")
    sentences = [s for s in read_conll(require(args.conll, "CoNLL-2003 eng.train"), "iob1", assets.scheme)
                 if s.words][: args.sentences]
    order = bucket_batches([len(s.words) for s in sentences], 32, seed=0, epoch=0)
    batches = [encode_batch([sentences[i].words for i in ids], assets, [sentences[i].tags for i in ids], docs=ids)
               for ids in order]
    runs = {"pytorch_crf": (pytorch_crf_loss, copy.deepcopy(model).train()),
            "crf_nll": (lambda m, b: m.loss(b), copy.deepcopy(model).train())}
    optimizers = {name: torch.optim.Adam(m.parameters(), lr=1e-3) for name, (_, m) in runs.items()}
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(args.rounds + 1):  # round 0 warms up
        for name in runs if round_ % 2 == 0 else list(runs)[::-1]:
            loss, m = runs[name]
            elapsed = timed_pass(m, optimizers[name], batches, loss)
            if round_:
                seconds[name].append(round(elapsed, 3))
    best = {name: min(values) for name, values in seconds.items()}
    result = {"seconds": seconds, "speedup": round(best["pytorch_crf"] / best["crf_nll"], 2),
              "time_saved": round(1 - best["crf_nll"] / best["pytorch_crf"], 3),
              "setup": {"model": str(args.model), "sentences": len(sentences), "batches": len(batches),
                        "batch_size": 32, "threads": 1, "rounds": args.rounds, "load_avg_at_end": load_avg(),
                        "torch_version": torch.__version__}}
    write_json(args.out, result)
    print(f"{'seconds per pass':20}" + "".join(f"{name:>14}" for name in runs))
    print(f"{'best of rounds':20}" + "".join(f"{best[name]:>14.2f}" for name in runs))
    print(f"crf_nll saves {100 * result['time_saved']:.1f}% of a training step (speed-up {result['speedup']}x)")


if __name__ == "__main__":
    from pipeline.runner import run

    run(main)
