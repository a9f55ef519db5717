"""TF-IDF word n-grams + logistic regression: the baseline a practitioner tries first.

It reads the same prepared token lists as the neural model (same tokenizer,
same train/dev split). The regularisation strength ``C`` is chosen on dev
from a small grid; the test set chooses nothing.

Saved without pickle: ``vocabulary.json`` (n-gram → column), ``labels.json``
and ``weights.npz`` (idf, coefficients, intercept; read with
``allow_pickle=False``) rebuild the fitted scikit-learn objects.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pydantic import Field
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from pipeline.atomic import write_json, write_with
from pipeline.config import Section
from pipeline.errors import MissingDataError
from pipeline.model_dir import BASELINE_WEIGHTS, CONFIG, LABELS

VOCABULARY_FILE = "vocabulary.json"


class BaselineConfig(Section):
    """The ``baseline`` section of ``params.yaml``."""

    ngram_max: int = Field(2, ge=1, le=3)
    min_df: int = Field(2, ge=1)
    sublinear_tf: bool = True
    C: list[float] = Field(default_factory=lambda: [1.0, 4.0, 16.0], min_length=1)  # chosen on dev
    max_iter: int = Field(1000, ge=1)
    target: str = "label"


def joined(tokens: list[list[str]]) -> list[str]:
    """Token lists as space-joined strings; the vectorizer splits them back on spaces (tokens hold none)."""
    return [" ".join(t) for t in tokens]


def make_vectorizer(cfg: BaselineConfig, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
    """Lowercased word 1..``ngram_max``-grams over the project's tokens (no second tokenizer)."""
    return TfidfVectorizer(
        tokenizer=str.split,
        token_pattern=None,
        lowercase=True,
        ngram_range=(1, cfg.ngram_max),
        min_df=cfg.min_df,
        sublinear_tf=cfg.sublinear_tf,
        vocabulary=vocabulary,
        dtype=np.float32,
    )


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez`` through a file handle, so it does not append ``.npz`` to the temporary name."""
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


class TfidfBaseline:
    """A fitted vectorizer and classifier with their class labels."""

    def __init__(self, cfg: BaselineConfig, vectorizer: TfidfVectorizer, classifier: LogisticRegression, labels: list[str]):
        self.cfg, self.vectorizer, self.classifier, self.labels = cfg, vectorizer, classifier, labels

    @classmethod
    def fit(cls, cfg: BaselineConfig, train: list[list[str]], y_train: np.ndarray, dev: list[list[str]], y_dev: np.ndarray, labels: list[str]) -> tuple[TfidfBaseline, dict[float, float]]:
        """Fit on train for every ``C``; keep the one with the best dev accuracy. Returns it and dev accuracy per ``C``."""
        vectorizer = make_vectorizer(cfg)
        x_train = vectorizer.fit_transform(joined(train))
        x_dev = vectorizer.transform(joined(dev))
        best, scores = None, {}
        for c in cfg.C:
            classifier = LogisticRegression(C=c, max_iter=cfg.max_iter).fit(x_train, y_train)
            scores[c] = float((classifier.predict(x_dev) == y_dev).mean())
            if best is None or scores[c] > scores[best[0]]:
                best = (c, classifier)
        return cls(cfg, vectorizer, best[1], labels), scores

    def predict_proba(self, tokens: list[list[str]]) -> np.ndarray:
        """Class probabilities (N, C), columns in ``labels`` order."""
        return self.classifier.predict_proba(self.vectorizer.transform(joined(tokens)))

    def save(self, directory: Path) -> None:
        """Plain JSON and an ``.npz`` of arrays: nothing that needs unpickling."""
        write_json(directory / CONFIG, self.cfg.model_dump(mode="json"))
        write_json(directory / LABELS, self.labels)
        write_json(directory / VOCABULARY_FILE, {term: int(i) for term, i in self.vectorizer.vocabulary_.items()})
        arrays = {
            "idf": self.vectorizer.idf_,
            "coef": self.classifier.coef_,
            "intercept": self.classifier.intercept_,
            "classes": self.classifier.classes_,
            "C": np.array(self.classifier.C),
        }
        write_with(directory / BASELINE_WEIGHTS, lambda tmp: _savez(tmp, arrays))

    @classmethod
    def load(cls, directory: Path) -> TfidfBaseline:
        """Rebuild the fitted objects from the saved arrays."""
        if not (directory / BASELINE_WEIGHTS).exists():
            raise MissingDataError(directory / BASELINE_WEIGHTS, "train the baseline first (dvc repro baseline_sentiment)")
        cfg = BaselineConfig.model_validate(json.loads((directory / CONFIG).read_text(encoding="utf-8")))
        vocabulary = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
        with np.load(directory / BASELINE_WEIGHTS, allow_pickle=False) as arrays:
            vectorizer = make_vectorizer(cfg, vocabulary)
            vectorizer.idf_ = arrays["idf"]
            classifier = LogisticRegression(C=float(arrays["C"]))
            classifier.coef_, classifier.intercept_, classifier.classes_ = arrays["coef"], arrays["intercept"], arrays["classes"]
        labels = json.loads((directory / LABELS).read_text(encoding="utf-8"))
        return cls(cfg, vectorizer, classifier, labels)
