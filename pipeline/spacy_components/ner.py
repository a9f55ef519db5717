"""``w2v_ner``: the project's BiLSTM-CRF tagger as a spaCy component that sets ``doc.ents``.

    nlp = spacy.blank("en")
    nlp.add_pipe("w2v_ner", config={"model": "outputs/ner/model"})
    nlp("Angela Merkel visited Paris.").ents

The Doc's tokens are the training tokens (the project tokenizer is spaCy's
English tokenizer minus whitespace tokens), so whitespace tokens are
skipped on the way in and predicted spans are mapped back to Doc token
indices: entity character offsets are the Doc's own.

The tagger was trained on sentences, so each Doc is cut into segments: its
sentences where they are set (a ``sentencizer`` or parser before this
component, or ``Doc(..., sent_starts=...)``), else runs that end at
sentence-final punctuation; and runs longer than ``window`` tokens
are cut into windows: a 100,000-token Doc costs time linear in its length
and memory bounded by one batch of segments, instead of one 100,000-step
recurrent sequence. Segments of all Docs in a ``pipe`` batch go to the
model together, sorted by length in batches of ``batch_size`` segments (a
``doc_context`` model instead takes whole Docs per batch and pools each
word's states over its Doc).

``engine`` and ``quantize`` choose what runs the encoder: ``auto`` (the
default) is numpy (:mod:`pipeline.models.numpy_encoder`), or ONNX Runtime with
``quantize = "int8"`` (int8 LSTM weights); ``onnx`` is ONNX Runtime in float,
``torch`` the training code's own forward pass.

With ``overwrite_ents = false`` entities already on the Doc (from an
``entity_ruler``, say) win: predicted ones that overlap them are dropped,
as spaCy's ``entity_ruler`` does with ``overwrite_ents = false``.
"""

from typing import Optional

from spacy.language import Language
from spacy.pipeline.span_ruler import prioritize_existing_ents_filter
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, Span

from pipeline.data.tags import split_tag
from pipeline.model_dir import CONFIG, TAGGER_ASSETS, VOCAB, WEIGHTS
from pipeline.models.onnx_encoder import ENGINES, QUANTIZE
from pipeline.predict.ner import NerPredictor
from pipeline.spacy_components.base import ModelComponent, check_setting, token_texts

SENTENCE_END = frozenset(".!?")
TokenSpan = tuple[int, int, str]  # Doc token indices [start, end) and the entity label


def ends_sentence(text: str) -> bool:
    """A token made only of ``.``, ``!`` and ``?`` (``.``, ``?!``, ``...``) ends a sentence.

    The tokenizer keeps abbreviation dots inside their tokens (``Mr.``,
    ``U.S.``), so a lone dot is almost always a sentence end.
    """
    return bool(text) and text[-1] in SENTENCE_END and all(c in SENTENCE_END for c in text)  # most fail the first test


def segments(words: list[str], window: int, sent_starts: list[bool] | None = None) -> list[list[int]]:
    """Indices of a Doc's non-whitespace tokens, cut at sentence boundaries and every ``window`` tokens.

    The boundaries are ``sent_starts`` where the Doc has them (a sentencizer,
    a parser, or ``Doc(..., sent_starts=...)``), else the tokens that end a
    sentence. Whitespace tokens are skipped because the project tokenizer
    drops them: training never saw one. ``str.isspace`` is what spaCy's
    ``is_space`` tests.
    """
    out: list[list[int]] = []
    current: list[int] = []
    for i, word in enumerate(words):
        if sent_starts is not None and sent_starts[i] and current:
            out.append(current)
            current = []
        if word.isspace():
            continue
        current.append(i)
        if len(current) == window or (sent_starts is None and ends_sentence(word)):
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def sentence_starts(doc: Doc) -> list[bool] | None:
    """Which tokens start a sentence, where the Doc's sentences are set; None where they are not."""
    if not doc.has_annotation("SENT_START"):
        return None
    return (doc.to_array("SENT_START") == 1).tolist()


def doc_spans(segment: list[int], spans: list[TokenSpan]) -> list[TokenSpan]:
    """A segment's entities (segment token indices) as Doc token indices, past any skipped whitespace token."""
    return [(segment[start], segment[end - 1] + 1, label) for start, end, label in spans]


class W2VEntityRecognizer(ModelComponent):
    """Sets ``doc.ents`` from the tagger's predictions; keeps or overwrites existing entities."""

    kind = "NER"
    files = (WEIGHTS, CONFIG, VOCAB, TAGGER_ASSETS)

    def __init__(self, nlp: Language, name: str, model: Optional[str], overwrite_ents: bool, batch_size: int,
                 window: int, engine: str, quantize: str) -> None:
        check_setting(name, "window", window, window >= 1, "expected an integer >= 1 (tokens per segment)")
        check_setting(name, "engine", engine, engine in ENGINES, f"expected one of {', '.join(ENGINES)}")
        check_setting(name, "quantize", quantize, quantize in QUANTIZE, f"expected one of {', '.join(QUANTIZE)}")
        self.overwrite_ents = overwrite_ents
        self.window = window
        self.engine, self.quantize = engine, quantize
        super().__init__(nlp, name, model, batch_size)

    def _load_predictor(self, model_dir) -> NerPredictor:
        return NerPredictor.load(model_dir, self.batch_size, self.engine, self.quantize)

    @property
    def labels(self) -> tuple[str, ...]:
        """The entity types the model predicts (none before a model is loaded: spaCy asks while loading)."""
        if self.predictor is None:
            return ()
        return tuple(sorted({split_tag(t)[1] for t in self.predictor.assets.tags if t != "O"}))

    def predict(self, docs: list[Doc]) -> list[list[TokenSpan]]:
        """Entities of each Doc as ``(start, end, label)`` token spans; the Docs are not modified."""
        predictor = self.require_predictor()
        words = [token_texts(doc) for doc in docs]
        per_doc = [segments(doc_words, self.window, sentence_starts(doc)) for doc_words, doc in zip(words, docs)]
        sentences = [[doc_words[i] for i in segment] for doc_words, doc_segments in zip(words, per_doc)
                     for segment in doc_segments]
        doc_ids = [n for n, doc_segments in enumerate(per_doc) for _ in doc_segments]  # a Doc is one document
        spans = iter(predictor.predict_spans(sentences, doc_ids))
        return [[span for segment in doc_segments for span in doc_spans(segment, next(spans))] for doc_segments in per_doc]

    def set_annotations(self, docs: list[Doc], predictions: list[list[TokenSpan]]) -> None:
        """Write the entities: replacing ``doc.ents``, or around the existing ones when ``overwrite_ents`` is off."""
        for doc, spans in zip(docs, predictions):
            new = [Span(doc, start, end, label=label) for start, end, label in spans]
            doc.ents = new if self.overwrite_ents else prioritize_existing_ents_filter(doc.ents, new)

    def score(self, examples, **kwargs) -> dict:
        """``ents_p``, ``ents_r``, ``ents_f`` and ``ents_per_type``, as spaCy's own ``ner`` reports them."""
        return get_ner_prf(examples)


@Language.factory(
    "w2v_ner",
    default_config={"model": None, "overwrite_ents": True, "batch_size": 256, "window": 200, "engine": "auto",
                    "quantize": "none"},
    assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_ner(nlp: Language, name: str, model: Optional[str], overwrite_ents: bool, batch_size: int,
             window: int, engine: str, quantize: str) -> W2VEntityRecognizer:
    """``model``: a trained NER model directory (null when loading a saved pipeline); ``batch_size``:
    segments per forward pass; ``window``: the longest segment in tokens; ``engine`` (auto, numpy, onnx, torch) and
    ``quantize`` (none, int8): what runs the encoder."""
    return W2VEntityRecognizer(nlp, name, model, overwrite_ents, batch_size, window, engine, quantize)
