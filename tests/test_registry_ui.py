"""What MLflow's UI shows of a registered version, read back from a real server: a one-line description with the
architecture and key figures, a handful of tags, the metrics (per type too) on the run, runs named after their
stage and profile."""

from __future__ import annotations

from pipeline.config import params_profile
from pipeline.tracking import pyfunc_models
from pipeline.tracking.mlflow_logger import start_tracking
from pipeline.tracking.pyfunc_models import (
    SENTIMENT,
    describe_sentiment,
    log_ner_model,
    version_tags,
)
from pipeline.tracking.registry import comparison_table

CHECKSUMS = {"conll2003/eng.train.gz": "ab" * 32, "conll2003/eng.testb.gz": "cd" * 32,
             "aclimdb/train.jsonl.gz": "ef" * 32}
NER_METRICS = {"dev_f1": 91.754, "test_f1": 86.0712, "test_precision": 86.5, "test_recall": 85.7,
               "test_per_type": {"PER": {"f1": 95.1, "support": 1617}, "LOC": {"f1": 90.2, "support": 1668}}}
SENTIMENT_METRICS = {"dev_accuracy": 0.872, "test_accuracy": 0.8651, "test_roc_auc": 0.93417, "test_n": 200}


def test_a_ner_version_reads_well_in_the_registry(tracking, ner_model_dir, monkeypatch):
    ner_files = {"ner": ["conll2003/eng.train.gz", "conll2003/eng.testa.gz", "conll2003/eng.testb.gz"]}
    monkeypatch.setattr(pyfunc_models, "prepared_files", ner_files.get)  # what dataset.json lists after prepare
    with start_tracking("test-registry-ui", "evaluate_ner", data_checksums=CHECKSUMS) as tracker:  # as the stage does
        tracker.log_metrics(NER_METRICS, step=0)
        registered = log_ner_model(tracker, ner_model_dir, NER_METRICS, registered_name="test-registry-ui-ner")
    version = tracking.get_model_version("test-registry-ui-ner", registered.version)  # read back from the server
    assert version.description == ("BiLSTM-CRF tagger, char CNN, fine-tuned word2vec 16d, dev F1 91.75, "
                                   "test F1 86.07")
    profile = params_profile()
    assert set(version.tags) == {"git.commit", "profile", "data.sha256.conll2003/eng.train.gz",
                                 "data.sha256.conll2003/eng.testb.gz"}
    assert version.tags["profile"] == profile and version.tags["data.sha256.conll2003/eng.train.gz"] == "ab" * 32
    run = tracking.get_run(version.run_id)
    assert run.info.run_name == f"evaluate_ner-{profile}"
    assert run.data.metrics["test_per_type.PER.f1"] == 95.1 and run.data.metrics["test_f1"] == 86.0712
    assert run.data.params["model.encoder"] == "lstm" and run.data.params["model.decoder"] == "crf"
    table = comparison_table("test-registry-ui-ner", "dev_f1", tracking)
    assert table.loc[0, "test_f1"] == 86.0712 and table.loc[0, "model.char_encoder"] == "cnn"


def test_a_sentiment_description_and_tags():
    config = {"model": {"encoder": "gru", "bidirectional": True, "hidden_sizes": [128], "pooling": ["max", "mean"],
                        "embeddings": "finetune", "embedding_dim": 100}}
    assert describe_sentiment(config, SENTIMENT_METRICS) == (
        "BiGRU classifier, 128 units, max+mean pooling, fine-tuned word2vec 100d, dev accuracy 87.20%, "
        "test accuracy 86.51%, ROC-AUC 0.934")
    run_tags = {"git.commit": "abc", "profile": "full", "dvc.stage": "evaluate_sentiment", "mlflow.user": "me",
                **{f"data.sha256.{name}": digest for name, digest in CHECKSUMS.items()}}
    files = ["aclimdb/train.jsonl.gz", "aclimdb/test.jsonl.gz"]  # the sentiment files of dataset.json
    assert SENTIMENT.task == "sentiment"
    assert version_tags(run_tags, files) == {"git.commit": "abc", "profile": "full",
                                                             "data.sha256.aclimdb/train.jsonl.gz": "ef" * 32}
