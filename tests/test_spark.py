"""Spark: batch scoring with a registered model equals ``nlp.pipe``; MLlib word2vec writes what the models build on.

The Spark tests are skipped, with the reason, where pyspark or Java is
missing (``make spark`` installs both). One ``local[2]`` SparkSession serves
the module: the CLI commands run in-process and reuse it. The checks of bad
paths and of a missing pyspark need no Spark and always run.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import spacy
import yaml
from conftest import SAMPLE, register, write_sample_corpus
from typer.testing import CliRunner

from pipeline.cli.spark import spark_app
from pipeline.config import Word2VecConfig
from pipeline.data.conll import read_conll
from pipeline.data.imdb import read_imdb
from pipeline.embeddings import word2vec
from pipeline.embeddings.normalize import normalizer
from pipeline.embeddings.vocab import build_vocab
from pipeline.model_dir import CONFIG, VECTOR_COUNTS, VECTORS
from pipeline.scale import session
from pipeline.tracking.registry import promote
from pipeline.training.sentiment_task import SentimentConfig, build_model, load_vectors

MISSING = session.spark_missing()
needs_spark = pytest.mark.skipif(MISSING is not None, reason=f"Spark test: {MISSING}")
scale = pytest.mark.scale  # a JVM and Python workers start: tens of seconds (make test-scale runs these)
NER_SENTENCES = 300


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    """The module's SparkSession; ``w2vp spark`` commands run in this process pick it up."""
    spark_session = session.spark_session("local[2]", "w2vp-tests")
    yield spark_session
    spark_session.stop()


def invoke(*args: str):
    """Run ``w2vp spark ARGS`` in this process."""
    return CliRunner().invoke(spark_app, list(args))


def read_spark_csv(directory: Path) -> pd.DataFrame:
    """A Spark CSV dataset (one part file per partition) as one DataFrame."""
    parts = sorted(directory.glob("part-*.csv"))
    return pd.concat([pd.read_csv(part, keep_default_na=False) for part in parts], ignore_index=True)


def first_half(text: str) -> str:
    """The text up to the last space before its middle (the whole text when it has none)."""
    cut = text.rfind(" ", 0, len(text) // 2)
    return text[:cut] if cut > 0 else text


def imdb_reviews() -> pd.DataFrame:
    """Every review of the committed sample (train, test and unsup: 1,700), then the first half of each: 3,400 texts.

    The issue asks for a few thousand reviews and the sample holds 1,700; the
    halves are real review text, distinct from the whole reviews, so they
    score differently and a row mix-up would still show.
    """
    reviews = [r for split in ("train", "test", "unsup") for r in read_imdb(SAMPLE / "aclimdb" / f"{split}.jsonl.gz")]
    texts = [r.text for r in reviews] + [first_half(r.text) for r in reviews]
    labels = [r.label or "" for r in reviews] * 2
    return pd.DataFrame({"id": range(len(texts)), "text": texts, "label": labels})


@scale
@needs_spark
def test_score_sentiment_with_the_champion_equals_nlp_pipe(spark, tracking, sentiment_model_dir, tmp_path):
    name = "test-sentiment-spark"
    version = register("sentiment", sentiment_model_dir, {"test_acc": 0.5}, name)
    assert promote(name, version.version, "test_acc").promoted
    reviews = imdb_reviews()
    source, target = tmp_path / "reviews.jsonl", tmp_path / "scored.parquet"
    reviews.to_json(source, orient="records", lines=True)

    result = invoke("score", str(source), str(target), "--model-uri", f"models:/{name}@champion", "--master", "local[2]")
    assert result.exit_code == 0, result.output
    assert f"sentiment predictions of models:/{name}/{version.version}" in result.output

    scored = pd.read_parquet(target).sort_values("id", ignore_index=True)
    nlp = spacy.blank("en")
    nlp.add_pipe("w2v_textcat", config={"model": str(sentiment_model_dir)})
    expected = [max(doc.cats.items(), key=lambda cat: cat[1]) for doc in nlp.pipe(reviews["text"])]
    assert len(scored) == len(reviews) >= 3000
    assert scored["label"].tolist() == reviews["label"].tolist()  # the input's columns are kept
    assert scored["pred_label"].tolist() == [label for label, _ in expected]
    np.testing.assert_allclose(scored["pred_probability"], [p for _, p in expected], rtol=0, atol=1e-5)
    assert scored["pred_probability"].nunique() > 1000  # distinct texts, distinct scores: rows cannot have swapped

    missing = invoke("score", str(source), str(tmp_path / "x.parquet"), "--model-uri", f"models:/{name}@champion",
                     "--text-column", "review")
    assert missing.exit_code == 1 and f"{source}: no text column 'review' (columns: id, label, text)" in missing.output
    clash = invoke("score", str(source), str(tmp_path / "x.parquet"), "--model-uri", f"models:/{name}@champion",
                   "--prefix", "")
    assert clash.exit_code == 1 and "already has column label" in clash.output
    unknown = invoke("score", str(source), str(tmp_path / "x.parquet"), "--model-uri", "models:/no-such-model@champion")
    assert unknown.exit_code == 1 and unknown.output.startswith("error: models:/no-such-model@champion: ")
    assert "Registered Model with name=no-such-model not found" in unknown.output


@scale
@needs_spark
def test_score_ner_entities_equal_w2v_ner(spark, tracking, ner_model_dir, tmp_path):
    name = "test-ner-spark"
    version = register("ner", ner_model_dir, {"test_f1": 0.5}, name)
    conll = read_conll(SAMPLE / "conll2003" / "eng.train.gz")
    texts = [" ".join(sentence.words) for sentence, _ in zip(conll, range(NER_SENTENCES))]
    source, target = tmp_path / "sentences.parquet", tmp_path / "entities.csv"
    pd.DataFrame({"id": range(len(texts)), "text": texts}).to_parquet(source)

    result = invoke("score", str(source), str(target), "--model-uri", f"models:/{name}/{version.version}")
    assert result.exit_code == 0, result.output

    scored = read_spark_csv(target).sort_values("id", ignore_index=True)
    found = [[(e["start"], e["end"], e["label"]) for e in json.loads(cell)] for cell in scored["pred_entities"]]
    nlp = spacy.blank("en")
    nlp.add_pipe("w2v_ner", config={"model": str(ner_model_dir)})
    expected = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts)]
    assert scored["text"].tolist() == texts and len(texts) == NER_SENTENCES
    assert found == expected
    assert sum(map(len, found)) > 0


@scale
@needs_spark
def test_mllib_word2vec_writes_the_stage_files_that_models_build_on(spark, tmp_path):
    corpus = write_sample_corpus(tmp_path)
    cfg = Word2VecConfig(vector_size=16, epochs=1, min_count=3)
    params, out = tmp_path / "params.yaml", tmp_path / "w2v"
    params.write_text(yaml.safe_dump({"word2vec": cfg.model_dump(mode="json")}))

    result = invoke("word2vec", str(corpus), "--out-dir", str(out), "--params", str(params))
    assert result.exit_code == 0, result.output

    kv = word2vec.load(out / VECTORS)
    normalize = normalizer(cfg.lowercase, cfg.digits_to_zero)
    counts = Counter(token for line in corpus.read_text().splitlines() for token in normalize(line).split())
    vocab = [(word, int(count)) for word, count in
             (line.split("\t") for line in (out / VECTOR_COUNTS).read_text().splitlines())]
    assert dict(vocab) == {word: count for word, count in counts.items() if count >= cfg.min_count}
    assert [count for _, count in vocab] == sorted((count for _, count in vocab), reverse=True)
    assert kv.index_to_key == [word for word, _ in vocab] and kv.vector_size == 16
    assert json.loads((out / CONFIG).read_text()) == cfg.model_dump(mode="json")

    sentiment = SentimentConfig.model_validate({"model": {"embeddings": "frozen", "embedding_dim": 16}})
    vectors = load_vectors(out / VECTORS, sentiment)  # the loader train_sentiment uses, config check included
    model_vocab = build_vocab(Counter(["Film", "zzqx"]), vectors, sentiment.lowercase, sentiment.digits_to_zero)
    model = build_model(sentiment, model_vocab, vectors)
    np.testing.assert_array_equal(model.embedding.weight[model_vocab.index["film"]].detach().numpy(), kv["film"])


def test_unknown_formats_and_missing_inputs_fail_before_spark_starts(tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("a review\n")
    unknown = invoke("score", str(texts), str(tmp_path / "out.parquet"), "--model-uri", "models:/m@champion")
    assert unknown.exit_code == 1 and f"{texts}: unknown table format" in unknown.output
    absent = invoke("score", str(tmp_path / "none.jsonl"), str(tmp_path / "out.parquet"), "--model-uri", "models:/m/1")
    assert absent.exit_code == 1 and "none.jsonl: not found" in absent.output


def test_cbow_is_refused_before_spark_starts(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"word2vec": {"sg": 0}}))
    result = invoke("word2vec", str(tmp_path), "--params", str(params))
    assert result.exit_code == 1 and "word2vec.sg: Spark MLlib trains skip-gram only" in result.output


def test_missing_pyspark_names_the_install_target(monkeypatch, tmp_path):
    find_spec = session.importlib.util.find_spec
    monkeypatch.setattr(session.importlib.util, "find_spec",
                        lambda name, *args: None if name == "pyspark" else find_spec(name, *args))
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"word2vec": {}}))
    result = invoke("word2vec", str(tmp_path), "--params", str(params))
    assert result.exit_code == 1 and "pyspark is not installed: run `make spark`" in result.output
