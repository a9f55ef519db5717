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
from pipeline.evaluation.ner import confusion, entity_scores, error_report
from pipeline.predict.ner import NerPredictor
from pipeline.runner import run
from pipeline.stages.train_ner import OUT_DIR
from pipeline.tracking.pyfunc_models import NER_MODEL_NAME, log_ner_model
from pipeline.tracking.stage import promote_if_better, stage_run
from pipeline.training.checkpoint import read_config
from pipeline.training.ner_task import NerConfig, read_split_documents


def main() -> None:
    cfg = load_section(NerConfig, "ner")
    torch.set_num_threads(cfg.threads)
    predictor = NerPredictor.load(OUT_DIR / "model", cfg.eval_batch_size)
    (test, test_docs), (dev, dev_docs) = (read_split_documents(paths.NER_SPLITS / f"{name}.jsonl")
                                           for name in ("test", "dev"))
    tokens, gold = [t for t, _ in test], [g for _, g in test]
    predicted = predictor.predict_tokens(tokens, test_docs)
    scores = entity_scores(gold, predicted)
    dev_scores = entity_scores([g for _, g in dev], predictor.predict_tokens([t for t, _ in dev], dev_docs))
    metrics = {f"test_{k}": v for k, v in scores.items()} | {"dev_f1": dev_scores["f1"]}
    write_json(paths.METRICS / "ner.json", metrics)
    write_json(OUT_DIR / "confusion.json", confusion(gold, predicted))
    with atomic_open(OUT_DIR / "report.html") as fh:
        fh.write(error_report(tokens, gold, predicted, title="NER errors on the test split"))
    with stage_run(NER_MODEL_NAME, "evaluate_ner") as tracked:
        tracked.tracker.log_params(read_config(OUT_DIR / "model"))
        tracked.tracker.log_metrics(metrics, step=0)
        tracked.tracker.log_artifact(OUT_DIR / "report.html")
        tracked.tracker.log_artifact(OUT_DIR / "confusion.json")
        promote_if_better(log_ner_model(tracked.tracker, OUT_DIR / "model", metrics), "dev_f1")


if __name__ == "__main__":
    run(main)
