"""TF-IDF + logistic regression baseline: fits, chooses C on dev, saves without pickle, reloads exactly."""

from __future__ import annotations

import json
import random
import zipfile

import numpy as np
import pytest

from pipeline.baselines.tfidf import BaselineConfig, TfidfBaseline
from pipeline.config import build_section
from pipeline.errors import ConfigError, MissingDataError
from pipeline.model_dir import BASELINE_WEIGHTS

LABELS = ["neg", "pos"]


def corpus(n: int, seed: int) -> tuple[list[list[str]], np.ndarray]:
    """Reviews whose class shows in one word or in a bigram ("not good" is negative)."""
    rng = random.Random(seed)
    docs, y = [], []
    for i in range(n):
        label = i % 2
        cue = rng.choice([["Great"], ["fine", "acting"]] if label else [["Dull"], ["not", "good"]])
        filler = rng.choices(["the", "movie", "was", "plot", "good"], k=rng.randint(2, 8))
        docs.append(filler + cue)
        y.append(label)
    return docs, np.array(y)


@pytest.fixture(scope="module")
def fitted():
    train, y_train = corpus(60, 0)
    dev, y_dev = corpus(20, 1)
    return TfidfBaseline.fit(BaselineConfig(min_df=1, C=[0.01, 10.0]), train, y_train, dev, y_dev, LABELS)


def test_fits_and_chooses_c_on_dev(fitted) -> None:
    model, scores = fitted
    assert set(scores) == {0.01, 10.0}
    assert model.classifier.C == max(scores, key=scores.get)
    test, y_test = corpus(20, 2)
    assert (model.predict_proba(test).argmax(axis=1) == y_test).mean() == 1.0
    assert ("not good" in model.vectorizer.vocabulary_) and ("great" in model.vectorizer.vocabulary_)


def test_save_load_identical_without_pickle(fitted, tmp_path) -> None:
    model, _ = fitted
    model.save(tmp_path)
    with zipfile.ZipFile(tmp_path / BASELINE_WEIGHTS) as npz:
        assert all(name.endswith(".npy") for name in npz.namelist())
    with np.load(tmp_path / BASELINE_WEIGHTS, allow_pickle=False) as arrays:
        assert {"idf", "coef", "intercept", "classes", "C"} <= set(arrays.files)
    assert json.loads((tmp_path / "labels.json").read_text()) == LABELS
    test, _ = corpus(20, 3)
    assert np.array_equal(TfidfBaseline.load(tmp_path).predict_proba(test), model.predict_proba(test))


def test_load_missing_directory(tmp_path) -> None:
    with pytest.raises(MissingDataError):
        TfidfBaseline.load(tmp_path)


def test_bad_config_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"baseline\.ngram_max"):
        build_section(BaselineConfig, {"ngram_max": 0}, "params.yaml", "baseline")
