"""Tag tokens or raw text with a trained NER model: ``NerPredictor.load(model_dir)``.

Sentences are tagged in length-sorted batches, by default in numpy (ONNX Runtime with ``quantize="int8"``);
predictions come back in the original order as IOB2 tags (whatever scheme the
model was trained on) or, for raw text, as entities with character offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from pipeline.data.batching import bucket_batches, document_batches
from pipeline.data.tags import Span, spans_from_tags, tags_from_spans
from pipeline.data.tokenizer import LANGUAGE, tokenize
from pipeline.errors import DataError
from pipeline.model_dir import model_language
from pipeline.models.numpy_encoder import NumpyEncoder
from pipeline.models.onnx_encoder import Engine, Quantize
from pipeline.models.tagger import Tagger, TaggerAssets, encode_batch, load_tagger

BATCH_SIZE = 256


@dataclass(frozen=True)
class Entity:
    """One predicted entity: tokens ``[start, end)`` and characters ``[start_char, end_char)`` of the text."""

    text: str
    label: str
    start: int
    end: int
    start_char: int
    end_char: int
    score: float  # mean probability of the entity's predicted tags under the model


def _check_sentences(sentences: object) -> None:
    """A clear error for input that is not a list of token lists (a bare string would tag its characters)."""
    if isinstance(sentences, str) or not isinstance(sentences, Sequence):
        raise DataError("input", None, "expected a list of sentences, each a list of token strings")
    for i, tokens in enumerate(sentences):
        if isinstance(tokens, str) or not all(isinstance(t, str) and t for t in tokens):
            raise DataError("input", None, f"sentence {i}: expected a list of non-empty token strings")


def char_offsets(text: str, tokens: Sequence[str]) -> list[tuple[int, int]]:
    """Character span of each token in ``text`` (the tokenizer keeps tokens as substrings, in order)."""
    offsets, position = [], 0
    for token in tokens:
        start = text.index(token, position)
        position = start + len(token)
        offsets.append((start, position))
    return offsets


class NerPredictor:
    """A trained tagger plus its vocabularies, ready to tag."""

    def __init__(self, model: Tagger, assets: TaggerAssets, batch_size: int = BATCH_SIZE,
                 language: str = LANGUAGE) -> None:
        self.model, self.assets, self.batch_size, self.language = model, assets, batch_size, language
        self.fast = NumpyEncoder(model, assets) if model.engine == "numpy" else None

    @classmethod
    def load(cls, model_dir: str | Path, batch_size: int = BATCH_SIZE, engine: Engine = "auto",
             quantize: Quantize = "none") -> NerPredictor:
        """The model in ``model_dir``; ``engine``/``quantize``: what runs its encoder (ONNX Runtime where it can)."""
        model, assets = load_tagger(Path(model_dir), engine, quantize)
        return cls(model, assets, batch_size, model_language(Path(model_dir)))

    def predict_spans(self, sentences: Sequence[Sequence[str]], docs: Sequence[int] | None = None) -> list[list[Span]]:
        """Entities of each tokenized sentence as ``(start, end, label)`` token spans.

        ``docs``, a document number per sentence (consecutive sentences of a
        document share one), is what a ``doc_context`` model pools over;
        without it each sentence is its own document. Spans are read straight
        from the model's own tag scheme: a softmax decoder can emit invalid
        sequences, repaired as conlleval would.
        """
        return [self._spans(row) for row, _ in self._tag(sentences, scored=False, docs=docs)]

    def predict_tokens(self, sentences: Sequence[Sequence[str]], docs: Sequence[int] | None = None) -> list[list[str]]:
        """IOB2 tags for each tokenized sentence; an empty sentence gets an empty list."""
        spans = self.predict_spans(sentences, docs)
        return [tags_from_spans(row, len(tokens), "iob2") for tokens, row in zip(sentences, spans)]

    def predict_scored(self, sentences: Sequence[Sequence[str]],
                       docs: Sequence[int] | None = None) -> list[tuple[list[str], list[float]]]:
        """IOB2 tags and each tag's probability (CRF marginal, or softmax), per sentence.

        Costs a forward-backward pass on top of Viterbi, so ``predict_tokens`` skips it.
        """
        return [(tags_from_spans(self._spans(row), len(row), "iob2"), probs)
                for row, probs in self._tag(sentences, scored=True, docs=docs)]

    def _spans(self, tag_ids: list[int]) -> list[Span]:
        return spans_from_tags([self.assets.tags[t] for t in tag_ids], self.assets.scheme, invalid="repair")

    def _tag(self, sentences: Sequence[Sequence[str]], scored: bool,
             docs: Sequence[int] | None) -> list[tuple[list[int], list[float]]]:
        """Model-scheme tag ids (and probabilities when ``scored``) per sentence.

        Batches are length-sorted, or whole documents for a ``doc_context`` model. Under the numpy engine tag
        probabilities are the CRF marginals (torch) of its emissions.
        """
        _check_sentences(sentences)
        if docs is not None and len(docs) != len(sentences):
            raise DataError("input", None, f"{len(docs)} document numbers for {len(sentences)} sentences")
        results: list[tuple[list[int], list[float]]] = [([], []) for _ in sentences]
        nonempty = [i for i, s in enumerate(sentences) if s]
        pooled = self.model.cfg.doc_context
        if pooled:
            sentence_docs = [docs[i] for i in nonempty] if docs is not None else nonempty
            order = document_batches(sentence_docs, self.batch_size, 0, 0, shuffle=False,
                                     lengths=[len(sentences[i]) for i in nonempty])
        else:
            order = bucket_batches([len(sentences[i]) for i in nonempty], self.batch_size, 0, 0, shuffle=False)
        if self.model.training:  # a model handed over mid-training; a loaded one is in eval mode already
            self.model.eval()
        with torch.inference_mode():
            for batch in order:
                ids = [nonempty[k] for k in batch]
                tokens, batch_docs = [sentences[i] for i in ids], [sentence_docs[k] for k in batch] if pooled else None
                if self.fast is not None:
                    decoded, probs = (self.fast.decode_scored(tokens, batch_docs) if scored
                                      else (self.fast.decode(tokens, batch_docs), None))
                else:
                    encoded = encode_batch(tokens, self.assets, docs=batch_docs)
                    decoded, probs = self.model.decode_scored(encoded) if scored else (self.model.decode(encoded), None)
                for n, (i, row) in enumerate(zip(ids, decoded)):
                    results[i] = (row, probs[n] if probs else [])
        return results

    def predict_text(self, text: str) -> dict:
        """Tokenize ``text`` with the project tokenizer and tag it: tokens, IOB2 tags and entities with offsets."""
        if not isinstance(text, str):
            raise DataError("input", None, f"expected a text string, got {type(text).__name__}")
        tokens = tokenize(text, self.language)
        tags, probs = self.predict_scored([tokens])[0]
        offsets = char_offsets(text, tokens)
        entities = [
            Entity(text[offsets[s][0] : offsets[e - 1][1]], label, s, e, offsets[s][0], offsets[e - 1][1],
                   sum(probs[s:e]) / (e - s))
            for s, e, label in spans_from_tags(tags, "iob2")
        ]
        return {"tokens": tokens, "tags": tags, "entities": [asdict(e) for e in entities]}
