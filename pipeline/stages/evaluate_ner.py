"""Stage ``evaluate_ner``: score the trained tagger once on the test split (eng.testb).

Outputs: ``metrics/ner.json`` (test entity P/R/F1 micro and per type, token
accuracy, and dev F1 for reference), ``outputs/ner/confusion.json`` (entity
type confusion over exact spans) and ``outputs/ner/report.html`` (displaCy
rendering of the test sentences the model gets wrong, gold beside predicted);
the model is registered as a new version of ``w2v-ner`` in the MLflow registry
and becomes ``champion`` if its dev F1 beats the current champion's.
"""

from __future__ import annotations

import torch

from pipeline import paths
from pipeline.atomic import atomic_open, write_json
from pipeline.config import load_section
from pipeline.data.splits import read_split_documents
from pipeline.evaluation.ner import confusion, entity_scores, error_report
from pipeline.model_dir import read_config
from pipeline.predict.ner import NerPredictor
from pipeline.runner import run
from pipeline.tracking.pyfunc_models import log_ner_model
from pipeline.tracking.stage import publish_results
from pipeline.training.ner_task import NerConfig

REPORT, CONFUSION = paths.NER_OUT / "report.html", paths.NER_OUT / "confusion.json"


def main() -> None:
    cfg = load_section(NerConfig, "ner")
    torch.set_num_threads(cfg.threads)
    predictor = NerPredictor.load(paths.NER_MODEL, cfg.eval_batch_size)
    (test, test_docs), (dev, dev_docs) = (read_split_documents(paths.NER_SPLITS / f"{name}.jsonl")
                                           for name in ("test", "dev"))
    tokens, gold = [t for t, _ in test], [g for _, g in test]
    predicted = predictor.predict_tokens(tokens, test_docs)
    scores = entity_scores(gold, predicted)
    dev_scores = entity_scores([g for _, g in dev], predictor.predict_tokens([t for t, _ in dev], dev_docs))
    metrics = {f"test_{k}": v for k, v in scores.items()} | {"dev_f1": dev_scores["f1"]}
    write_json(CONFUSION, confusion(gold, predicted))
    with atomic_open(REPORT) as fh:
        fh.write(error_report(tokens, gold, predicted, title="NER errors on the test split"))
    publish_results(paths.NER_MODEL_NAME, "evaluate_ner", paths.METRICS / "ner.json", metrics,
                    params=read_config(paths.NER_MODEL), artifacts=(REPORT, CONFUSION),
                    register=lambda tracker: log_ner_model(tracker, paths.NER_MODEL, metrics), monitor="dev_f1")


if __name__ == "__main__":
    run(main)
