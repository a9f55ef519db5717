"""Sentiment training end to end on a tiny synthetic set: overfit, save/load, targets, truncation, resume."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import keyed_vectors, write_vectors
from typer.testing import CliRunner

from pipeline.cli.sentiment import sentiment_app
from pipeline.config import build_section
from pipeline.data.splits import class_labels, load_examples
from pipeline.embeddings.vocab import build_vocab
from pipeline.errors import ConfigError, DataError
from pipeline.model_dir import read_config, save_weights
from pipeline.models.classifier import ClassifierAssets, TextEncoding, truncate
from pipeline.predict.sentiment import SentimentPredictor
from pipeline.training.logger import NullLogger
from pipeline.training.sentiment_task import (
    SentimentConfig,
    SentimentTask,
    build_model,
    train_sentiment,
)

POS, NEG, FILLER = ["great", "superb", "loved"], ["awful", "boring", "hated"], ["the", "film", "was", "a", "plot"]


def review(rng: random.Random, label: str) -> list[str]:
    """Filler words with one or two sentiment words hidden among them."""
    words = [rng.choice(FILLER) for _ in range(rng.randint(2, 12))]
    for _ in range(rng.randint(1, 2)):
        words.insert(rng.randint(0, len(words)), rng.choice(POS if label == "pos" else NEG))
    return words


def write_split(path: Path, n: int, seed: int) -> None:
    """``n`` reviews alternating pos/neg, ratings 8-10 for pos and 1-3 for neg."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            label = "pos" if i % 2 else "neg"
            rating = rng.choice([8, 9, 10] if label == "pos" else [1, 2, 3])
            fh.write(json.dumps({"id": str(i), "tokens": review(rng, label), "label": label, "rating": rating}) + "\n")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("sentiment")
    write_split(directory / "train.jsonl", 48, seed=1)
    write_split(directory / "dev.jsonl", 16, seed=2)
    write_split(directory / "test.jsonl", 16, seed=3)
    return directory


def config(**overrides) -> SentimentConfig:
    """A small, fast random-embedding model; ``overrides`` are merged into the section."""
    values = {
        "model": {"embeddings": "random", "embedding_dim": 8, "hidden_sizes": [8], "dropout": 0.0},
        "train": {"epochs": 8, "batch_size": 8, "lr": 0.03, "patience": 8},
        "max_len": 50,
    }
    for key, value in overrides.items():
        values[key] = values.get(key, {}) | value if isinstance(value, dict) else value
    return build_section(SentimentConfig, values, "test", "sentiment")


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("trained")
    return train_sentiment(config(), data_dir, None, out, NullLogger()), out


def test_overfits_a_tiny_set(trained) -> None:
    result, _ = trained
    assert result.best_score == 1.0
    assert result.history[-1]["train_loss"] < 0.1


def test_model_directory_predicts_texts(trained) -> None:
    result, _ = trained
    predictor = SentimentPredictor.load(result.model_dir)
    predictions = predictor.predict_texts(["The film was great, loved it.", "Awful and boring."])
    assert [p.label for p in predictions] == ["pos", "neg"]
    assert all(0.5 < p.probability <= 1.0 for p in predictions)


def test_save_load_gives_identical_probabilities(data_dir, tmp_path) -> None:
    cfg = config(model={"num_classes": 2})
    train, dev = load_examples(data_dir / "train.jsonl", "label"), load_examples(data_dir / "dev.jsonl", "label")
    vocab = build_vocab(Counter(t for ts in train.tokens for t in ts), None, True, True)
    assets = ClassifierAssets(vocab, class_labels(train.targets), TextEncoding(max_len=cfg.max_len))
    task = SentimentTask(cfg, assets, train, dev)
    assert not vocab.ids  # the encode memo is emptied: it would keep every token list's memory from being freed
    model = build_model(cfg, vocab, None)
    save_weights(tmp_path, model, cfg.model_dump(mode="json"))
    task.save_assets(tmp_path)
    loaded = SentimentPredictor.load(tmp_path)
    original = SentimentPredictor(model, assets)
    assert np.array_equal(original.predict_proba(dev.tokens), loaded.predict_proba(dev.tokens))


def test_empty_and_20000_token_reviews(trained) -> None:
    result, _ = trained
    predictor = SentimentPredictor.load(result.model_dir)
    long = ["great"] * 10_000 + ["the"] * 10_000
    probs = predictor.predict_proba([[], long])
    assert probs.shape == (2, 2) and np.isfinite(probs).all()
    assert probs[1].argmax() == 1  # head+tail kept "great" (head) as well as "the" (tail)
    assert predictor.predict_texts([""])[0].label in {"pos", "neg"}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("head", [0, 1, 2, 3]), ("tail", [6, 7, 8, 9]), ("head+tail", [0, 7, 8, 9])],
)
def test_truncation_policies(policy: str, expected: list[int]) -> None:
    assert truncate(list(range(10)), 4, policy) == expected
    assert truncate([1, 2], 4, policy) == [1, 2]
    assert truncate(list(range(10)), None, policy) == list(range(10))


def test_multiclass_rating_target(data_dir, tmp_path) -> None:
    cfg = config(target="rating", model={"num_classes": 6}, train={"epochs": 2})
    result = train_sentiment(cfg, data_dir, None, tmp_path, NullLogger())
    predictor = SentimentPredictor.load(result.model_dir)
    assert predictor.labels == ["1", "2", "3", "8", "9", "10"]
    assert predictor.predict_proba([["great"]]).shape == (1, 6)


def test_wrong_number_of_classes_is_a_config_error(data_dir, tmp_path) -> None:
    with pytest.raises(ConfigError, match="num_classes"):
        train_sentiment(config(target="rating", model={"num_classes": 2}), data_dir, None, tmp_path, NullLogger())


def test_unset_number_of_classes_comes_from_the_training_split(data_dir, tmp_path) -> None:
    result = train_sentiment(config(target="rating", train={"epochs": 1}), data_dir, None, tmp_path, NullLogger())
    assert read_config(result.model_dir)["model"]["num_classes"] == 6


def test_labelled_csv(tmp_path) -> None:
    (tmp_path / "reviews.csv").write_text('text,label\n"Great film!",pos\n"Dull.",neg\n', encoding="utf-8")
    examples = load_examples(tmp_path / "reviews.csv", "label")
    assert examples.tokens == [["Great", "film", "!"], ["Dull", "."]]
    assert examples.targets == ["pos", "neg"]
    with pytest.raises(DataError, match="'stars'"):
        load_examples(tmp_path / "reviews.csv", "stars")


def test_frozen_vectors_stay_fixed(data_dir, tmp_path) -> None:
    words = sorted(set(POS + NEG + FILLER))
    write_vectors(tmp_path / "vectors.bin", words, dim=8, seed=0, config=False)
    kv = keyed_vectors(words, dim=8, seed=0)
    cfg = config(model={"embeddings": "frozen"}, train={"epochs": 1})
    result = train_sentiment(cfg, data_dir, tmp_path / "vectors.bin", tmp_path / "out", NullLogger())
    predictor = SentimentPredictor.load(result.model_dir)
    row = predictor.assets.vocab.index["great"]
    assert np.allclose(predictor.model.embedding.weight[row].detach().numpy(), kv["great"])


def test_words_under_min_count_keep_their_vectors(tmp_path) -> None:
    """Fine-tuning moves the frequent words only: a rare one keeps its word2vec vector, one without a vector is <unk>."""
    for split, n, seed in (("train", 48, 1), ("dev", 16, 2)):
        write_split(tmp_path / f"{split}.jsonl", n, seed)
    with open(tmp_path / "train.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "x", "tokens": ["great", "cinema", "gem"], "label": "pos", "rating": 9}) + "\n")
    words = sorted(set(POS + NEG + FILLER)) + ["cinema"]
    write_vectors(tmp_path / "vectors.bin", words, dim=8, seed=0, config=False)
    kv = keyed_vectors(words, dim=8, seed=0)
    cfg = config(model={"embeddings": "finetune"}, train={"epochs": 2}, min_count=2)
    result = train_sentiment(cfg, tmp_path, tmp_path / "vectors.bin", tmp_path / "out", NullLogger())
    predictor = SentimentPredictor.load(result.model_dir)
    table = predictor.model.embedding.weight.detach().numpy()
    assert np.allclose(table[predictor.assets.vocab.index["cinema"]], kv["cinema"])  # seen once: not fine-tuned
    assert not np.allclose(table[predictor.assets.vocab.index["great"]], kv["great"])
    assert "gem" not in predictor.assets.vocab.index
    assert predictor.assets.vocab.index["cinema"] >= predictor.assets.vocab.trained > predictor.assets.vocab.index["great"]


def test_vectors_of_the_wrong_size(data_dir, tmp_path) -> None:
    write_vectors(tmp_path / "vectors.bin", ["great"], dim=4, config=False)  # the model's embedding_dim is 8
    with pytest.raises(ConfigError, match="embedding_dim"):
        train_sentiment(config(model={"embeddings": "finetune"}), data_dir, tmp_path / "vectors.bin", tmp_path, NullLogger())


def test_resume_continues_where_it_stopped(data_dir, tmp_path) -> None:
    first = train_sentiment(config(train={"epochs": 1}), data_dir, None, tmp_path, NullLogger())
    resumed = train_sentiment(config(train={"epochs": 2}), data_dir, None, tmp_path, NullLogger(), resume=True)
    assert [h["epoch"] for h in first.history] == [1]
    assert [h["epoch"] for h in resumed.history] == [1, 2]


def test_cli_predict_json_lines(trained, tmp_path) -> None:
    result, _ = trained
    (tmp_path / "texts.txt").write_text("Loved it, great.\n\nBoring and awful.\n", encoding="utf-8")
    out = CliRunner().invoke(sentiment_app, ["predict", str(tmp_path / "texts.txt"), "--model-dir", str(result.model_dir)])
    lines = [json.loads(line) for line in out.output.splitlines()]
    assert [line["label"] for line in lines] == ["pos", "neg"]
    assert set(lines[0]) == {"text", "label", "probability"}


def test_cli_predict_missing_model(tmp_path) -> None:
    out = CliRunner().invoke(sentiment_app, ["predict", "-", "--model-dir", str(tmp_path)], input="hello\n")
    assert out.exit_code == 1
    assert "not found" in out.output
