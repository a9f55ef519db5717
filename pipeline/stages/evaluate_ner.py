"""Stage ``evaluate_ner``: score the trained tagger once on the test split (``data.ner.test``).

Outputs: ``metrics/ner.json`` (test entity P/R/F1 micro and per type, token
accuracy, and dev F1 for reference), ``outputs/ner/confusion.json`` (entity
type confusion over exact spans) and ``outputs/ner/report.html`` (displaCy
rendering of the test sentences the model gets wrong, gold beside predicted).
Without a test split the same figures are the dev split's (``dev_*``), and the
stage says so;
the model is registered as a new version of ``w2v-ner`` in the MLflow registry
and becomes ``champion`` if its dev F1 beats the current champion's.
"""

from __future__ import annotations

import torch

from pipeline import paths
from pipeline.atomic import atomic_open, write_json
from pipeline.config import load_section
from pipeline.data.splits import read_split_documents, test_split
from pipeline.evaluation.ner import confusion, entity_scores, error_report
from pipeline.model_dir import read_config
from pipeline.predict.ner import NerPredictor
from pipeline.runner import run
from pipeline.tracking.pyfunc_models import log_ner_model
from pipeline.tracking.stage import publish_results
from pipeline.training.ner_task import NerConfig

REPORT, CONFUSION = paths.NER_OUT / "report.html", paths.NER_OUT / "confusion.json"


def scored(predictor: NerPredictor, split: str) -> tuple[list[list[str]], list[list[str]], list[list[str]], dict]:
    """Tokens, gold and predicted tags of one prepared split, and their entity scores."""
    records, docs = read_split_documents(paths.NER_SPLITS / f"{split}.jsonl")
    tokens, gold = [t for t, _ in records], [g for _, g in records]
    predicted = predictor.predict_tokens(tokens, docs)
    return tokens, gold, predicted, entity_scores(gold, predicted)


def main() -> None:
    cfg = load_section(NerConfig, "ner")
    torch.set_num_threads(cfg.threads)
    predictor = NerPredictor.load(paths.NER_MODEL, cfg.eval_batch_size)
    dev = scored(predictor, "dev")
    if test_split(paths.NER_SPLITS, "ner"):
        split, (tokens, gold, predicted, scores) = "test", scored(predictor, "test")
        metrics = {f"test_{k}": v for k, v in scores.items()} | {"dev_f1": dev[3]["f1"]}
    else:
        split, (tokens, gold, predicted, scores) = "dev", dev
        metrics = {f"dev_{k}": v for k, v in scores.items()}
    write_json(CONFUSION, confusion(gold, predicted))
    with atomic_open(REPORT) as fh:
        fh.write(error_report(tokens, gold, predicted, title=f"NER errors on the {split} split"))
    publish_results(paths.NER_MODEL_NAME, "evaluate_ner", paths.METRICS / "ner.json", metrics,
                    params=read_config(paths.NER_MODEL), artifacts=(REPORT, CONFUSION),
                    register=lambda tracker: log_ner_model(tracker, paths.NER_MODEL, metrics), monitor="dev_f1")


if __name__ == "__main__":
    run(main)
