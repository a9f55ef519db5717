"""Pyfunc models and the registry on a real ``mlflow server``: save → load → same predictions, compare, promote.

The server and the tiny models are fixtures of ``conftest.py``.
"""

from __future__ import annotations

import mlflow
import pytest
from conftest import register
from typer.testing import CliRunner

from pipeline.cli.mlflow import mlflow_app
from pipeline.predict.ner import NerPredictor
from pipeline.predict.sentiment import SentimentPredictor
from pipeline.tracking.pyfunc_models import RegistrationError, log_sentiment_model
from pipeline.tracking.registry import RegistryError, compare, comparison_table, promote
from pipeline.training.logger import NullLogger

TEXTS = ["Peter Blackburn visits London .", "EU rejects German call", "", "great film"]


def test_ner_pyfunc_predicts_what_the_predictor_predicts(tracking, ner_model_dir):
    version = register("ner", ner_model_dir, {"test_f1": 0.5}, "test-ner-pyfunc")
    assert "BiLSTM-CRF" in version.description and mlflow.get_run(version.run_id).data.metrics["test_f1"] == 0.5
    model = mlflow.pyfunc.load_model(f"models:/test-ner-pyfunc/{version.version}")
    predictor = NerPredictor.load(ner_model_dir)
    expected = [(row, e["start_char"], e["end_char"], e["label"], e["text"], e["score"])
                for row, text in enumerate(TEXTS) for e in predictor.predict_text(text)["entities"]]
    assert [tuple(r) for r in model.predict(TEXTS).itertuples(index=False)] == expected
    assert model.metadata.signature.outputs.input_names() == ["row", "start", "end", "label", "text", "score"]


def test_sentiment_pyfunc_predicts_what_the_predictor_predicts(tracking, sentiment_model_dir):
    version = register("sentiment", sentiment_model_dir, {"test_acc": 0.75}, "test-sentiment-pyfunc")
    output = mlflow.pyfunc.load_model(f"models:/test-sentiment-pyfunc/{version.version}").predict(TEXTS)
    expected = SentimentPredictor.load(sentiment_model_dir).predict_texts(TEXTS)
    assert output["label"].tolist() == [p.label for p in expected]
    assert output["probability"].tolist() == pytest.approx([p.probability for p in expected])


def test_promote_keeps_a_better_champion_and_moves_to_a_better_challenger(tracking, sentiment_model_dir, tmp_path):
    name = "test-sentiment-promote"
    for accuracy in (0.6, 0.5, 0.9):
        register("sentiment", sentiment_model_dir, {"test_acc": accuracy}, name)
    first = promote(name, 1, "test_acc")
    assert first.promoted and "first champion" in first.reason
    refused = promote(name, 2, "test_acc")
    assert not refused.promoted and refused.champion == "1" and "not higher than champion version 1" in refused.reason
    assert tracking.get_model_version_by_alias(name, "champion").version == "1"
    assert promote(name, 3, "test_acc").promoted
    assert tracking.get_model_version_by_alias(name, "champion").version == "3"
    table = comparison_table(name, "test_acc", tracking)
    assert table["aliases"].tolist() == ["champion", "", ""] and table["version"].tolist() == [3, 1, 2]
    champion = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert len(champion.predict(["great film"])) == 1
    assert promote(name, 1, "test_acc", higher_is_better=False).promoted  # a loss-like reading prefers 0.6


def test_promote_names_a_missing_metric(tracking, sentiment_model_dir):
    register("sentiment", sentiment_model_dir, {"test_acc": 0.5}, "test-sentiment-typo")
    with pytest.raises(RegistryError, match=r"no metric 'test_f1' \(it has \['test_acc'\]\)"):
        promote("test-sentiment-typo", 1, "test_f1")


def test_compare_lists_versions_best_first_and_writes_markdown_and_html(tracking, sentiment_model_dir, tmp_path):
    name = "test-sentiment-compare"
    for accuracy in (0.5, 0.8):
        register("sentiment", sentiment_model_dir, {"test_acc": accuracy}, name)
    table = compare(name, "test_acc", tmp_path)
    assert table["version"].tolist() == [2, 1] and table["test_acc"].tolist() == [0.8, 0.5]
    assert table["model.encoder"].tolist() == ["lstm", "lstm"]
    assert "| 2 |" in (tmp_path / f"{name}.md").read_text() and "<table" in (tmp_path / f"{name}.html").read_text()
    result = CliRunner().invoke(mlflow_app, ["compare", name, "--metric", "test_acc", "--out-dir", str(tmp_path)])
    assert result.exit_code == 0 and "| version | aliases |" in result.output
    missing = CliRunner().invoke(mlflow_app, ["compare", "no-such-model", "--metric", "test_acc"])
    assert missing.exit_code == 1 and "no registered model 'no-such-model'" in missing.output


def test_registering_without_tracking_is_skipped_or_refused(sentiment_model_dir):
    assert log_sentiment_model(NullLogger(), sentiment_model_dir, {"test_acc": 1.0}) is None
    with pytest.raises(RegistrationError, match="needs the open MlflowLogger"):
        log_sentiment_model(object(), sentiment_model_dir, {"test_acc": 1.0})
