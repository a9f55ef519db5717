"""Spark scoring with bad rows: null, empty, non-string and over-long texts get null predictions and a ``pred_error``,
and the job goes on (``local[2]``; marker ``scale``, skipped where pyspark or Java is missing, as ``test_spark.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import mlflow
import pandas as pd
import pytest
from conftest import register

from pipeline.scale import session
from pipeline.scale.spark_score import score
from pipeline.tracking.registry import promote

MISSING = session.spark_missing()
pytestmark = [pytest.mark.scale, pytest.mark.skipif(MISSING is not None, reason=f"Spark test: {MISSING}")]
LIMIT = 40  # max_text_chars for these jobs
GOOD = ["a great and wonderful film", "an awful and boring movie", "Angela Merkel visited Paris ."]
ROWS = [  # (id, the JSON value of "text" or MISSING_FIELD, the pred_error expected)
    (1, GOOD[0], None),
    (2, None, "null text"),
    (3, "", "empty text"),
    (4, " \t\n ", "empty text"),
    (5, 5, "not a string: a JSON bigint"),
    (6, ["a", "b"], "not a string: a JSON array<string>"),
    (7, {"x": 1}, "not a string: a JSON object<x: bigint>"),
    (8, True, "not a string: a JSON boolean"),
    (9, "x" * (LIMIT + 1), f"text of {LIMIT + 1} characters, over the limit of {LIMIT} (max_text_chars)"),
    (10, GOOD[1], None),
    (11, "MISSING_FIELD", "null text"),
    (12, GOOD[2], None),
]


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    spark_session = session.spark_session("local[2]", "w2vp-bad-rows")
    yield spark_session
    spark_session.stop()


def errors_of(scored: pd.DataFrame) -> list[str | None]:
    return [None if pd.isna(error) else error for error in scored["pred_error"]]


def write_jsonl(path, rows) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row_id, value, _ in rows:
            fh.write(json.dumps({"id": row_id} if value == "MISSING_FIELD" else {"id": row_id, "text": value}) + "\n")


def test_bad_rows_get_a_null_prediction_and_a_reason_and_the_job_goes_on(spark, tracking, sentiment_model_dir,
                                                                          tmp_path):
    name = "test-spark-bad-rows"
    version = register("sentiment", sentiment_model_dir, {"dev_accuracy": 0.5}, name)
    assert promote(name, version.version, "dev_accuracy").promoted
    source, target = tmp_path / "rows.jsonl", tmp_path / "scored.parquet"
    write_jsonl(source, ROWS)
    kind, uri = score(str(source), str(target), f"models:/{name}@champion", max_text_chars=LIMIT)
    assert (kind, uri) == ("sentiment", f"models:/{name}/{version.version}")
    scored = pd.read_parquet(target).sort_values("id", ignore_index=True)
    assert scored["id"].tolist() == [row_id for row_id, _, _ in ROWS]
    assert errors_of(scored) == [error for _, _, error in ROWS]
    good = scored["pred_error"].isna()
    assert scored.loc[~good, ["pred_label", "pred_probability"]].isna().all().all()
    expected = mlflow.pyfunc.load_model(uri).predict(scored.loc[good, "text"].tolist())
    assert scored.loc[good, "pred_label"].tolist() == expected["label"].tolist()
    assert scored.loc[good, "pred_probability"].tolist() == pytest.approx(expected["probability"].tolist())
    assert scored.loc[scored["id"] == 5, "text"].item() == "5"  # a non-string is written back as its JSON


def test_ner_over_parquet_marks_null_empty_and_long_texts(spark, tracking, ner_model_dir, tmp_path):
    name = "test-spark-bad-rows-ner"
    version = register("ner", ner_model_dir, {"dev_f1": 0.5}, name)
    texts = [GOOD[2], None, "", "Paris " * 10]
    source, target = tmp_path / "rows.parquet", tmp_path / "entities.parquet"
    pd.DataFrame({"id": range(len(texts)), "text": texts}).to_parquet(source)
    score(str(source), str(target), f"models:/{name}/{version.version}", max_text_chars=LIMIT)
    scored = pd.read_parquet(target).sort_values("id", ignore_index=True)
    assert errors_of(scored) == [None, "null text", "empty text",
                                             f"text of 60 characters, over the limit of {LIMIT} (max_text_chars)"]
    assert scored["pred_entities"].iloc[1:].isna().all() and len(scored["pred_entities"].iloc[0]) > 0

    numbers = tmp_path / "numbers.parquet"
    pd.DataFrame({"id": [1, 2], "text": [3, None]}).to_parquet(numbers)
    score(str(numbers), str(tmp_path / "numbers_scored.parquet"), f"models:/{name}/{version.version}")
    marked = pd.read_parquet(tmp_path / "numbers_scored.parquet").sort_values("id", ignore_index=True)
    assert errors_of(marked) == ["not a string: double", "null text"]
