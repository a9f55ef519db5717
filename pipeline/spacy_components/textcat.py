"""``w2v_textcat``: the project's recurrent sentiment classifier as a spaCy component that sets ``doc.cats``.

    nlp.add_pipe("w2v_textcat", config={"model": "outputs/sentiment/model"})
    nlp("A wonderful film.").cats   # {"neg": 0.03, "pos": 0.97}

``doc.cats`` holds one probability per class of the model (they sum to 1;
``pos``/``neg`` for the default model, the ratings for a rating model).
The classes are exclusive, so scoring uses spaCy's exclusive-class
``score_cats``. A long Doc is cut by the classifier's own truncation policy
(``max_len``, ``truncation`` in its config), exactly as in training.
``engine`` and ``quantize`` choose what runs it: ``auto`` (the default) is numpy,
or ONNX Runtime's Scan with ``quantize = "int8"`` (int8 recurrent weights).
"""

from typing import Optional

import numpy as np
from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc

from pipeline.model_dir import CONFIG, LABELS, VOCAB, WEIGHTS
from pipeline.models.classifier import MAX_BATCH_TOKENS
from pipeline.models.numpy_classifier import CLASSIFIER_ENGINES
from pipeline.models.onnx_encoder import QUANTIZE
from pipeline.predict.sentiment import SentimentPredictor
from pipeline.spacy_components.base import ModelComponent, check_setting, token_texts


class W2VTextCategorizer(ModelComponent):
    """Sets ``doc.cats`` to the classifier's class probabilities."""

    kind = "sentiment"
    files = (WEIGHTS, CONFIG, VOCAB, LABELS)

    def __init__(self, nlp: Language, name: str, model: Optional[str], batch_size: int, threshold: float,
                 max_batch_tokens: Optional[int], engine: str, quantize: str) -> None:
        check_setting(name, "threshold", threshold, 0.0 <= threshold <= 1.0, "expected a probability in [0, 1]")
        check_setting(name, "max_batch_tokens", max_batch_tokens, max_batch_tokens is None or max_batch_tokens >= 1,
                      "expected an integer >= 1, or null for no cap")
        check_setting(name, "engine", engine, engine in CLASSIFIER_ENGINES, f"expected one of {', '.join(CLASSIFIER_ENGINES)}")
        self.threshold = threshold
        self.max_batch_tokens = max_batch_tokens
        check_setting(name, "quantize", quantize, quantize in QUANTIZE, f"expected one of {', '.join(QUANTIZE)}")
        self.engine, self.quantize = engine, quantize
        super().__init__(nlp, name, model, batch_size)

    def _load_predictor(self, model_dir) -> SentimentPredictor:
        return SentimentPredictor.load(model_dir, self.engine, self.quantize)

    @property
    def labels(self) -> tuple[str, ...]:
        """The classes, in the model's column order (none before a model is loaded: spaCy asks while loading)."""
        return () if self.predictor is None else tuple(self.predictor.labels)

    def predict(self, docs: list[Doc]) -> np.ndarray:
        """Class probabilities (N, C) of the Docs' non-whitespace tokens; the Docs are not modified."""
        tokens = [[t for t in token_texts(doc) if not t.isspace()] for doc in docs]  # as the project tokenizer does
        return self.require_predictor().predict_proba(tokens, self.batch_size, self.max_batch_tokens)

    def set_annotations(self, docs: list[Doc], predictions: np.ndarray) -> None:
        for doc, row in zip(docs, predictions):
            doc.cats = {label: float(p) for label, p in zip(self.labels, row)}

    def score(self, examples, **kwargs) -> dict:
        """``cats_score``, ``cats_macro_f``, ``cats_macro_auc`` and per-class scores.

        Examples without gold ``cats`` (an NER test set run through the whole
        pipeline) are left out, as spaCy's NER scorer leaves out Docs without
        entity annotation: exclusive-class scoring would read them as negatives.
        """
        annotated = [eg for eg in examples if eg.reference.cats]
        return Scorer.score_cats(annotated, "cats", labels=self.labels, multi_label=False, threshold=self.threshold,
                                 **kwargs)


@Language.factory(
    "w2v_textcat",
    default_config={"model": None, "batch_size": 128, "threshold": 0.0, "max_batch_tokens": MAX_BATCH_TOKENS,
                    "engine": "auto", "quantize": "none"},
    assigns=["doc.cats"],
    default_score_weights={"cats_score": 1.0, "cats_score_desc": None, "cats_macro_auc": None,
                           "cats_f_per_type": None, "cats_auc_per_type": None},
)
def make_textcat(nlp: Language, name: str, model: Optional[str], batch_size: int, threshold: float,
                 max_batch_tokens: Optional[int], engine: str, quantize: str) -> W2VTextCategorizer:
    """``model``: a trained sentiment model directory (null when loading a saved pipeline); ``batch_size``:
    Docs per forward pass; ``threshold``: the least probability that counts as a prediction when scoring (0: the most
    probable class always does, as in spaCy's exclusive ``textcat``); ``max_batch_tokens``: the most padded tokens per
    forward pass (null: no cap), so one long review does not pad a whole batch to its length; ``engine``: auto and numpy
    run the classifier in numpy (:mod:`pipeline.models.numpy_classifier`), onnx its recurrence in ONNX Runtime, torch
    all of it in torch; ``quantize`` (none, int8): int8 recurrent weights, on ONNX Runtime."""
    return W2VTextCategorizer(nlp, name, model, batch_size, threshold, max_batch_tokens, engine, quantize)
