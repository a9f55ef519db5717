"""Stage ``package_spacy``: the trained tagger and classifier as one spaCy pipeline, scored the spaCy way.

Outputs: ``spacy_pipeline/`` (tokenizer + ``w2v_ner`` + ``w2v_textcat``;
``spacy.load("spacy_pipeline")``, ``spacy package``) and
``metrics/spacy.json``: ``nlp.evaluate``'s scores on the NER test split
(``ents_*``, one Doc per document) and the sentiment test split (``cats_*``),
streamed in batches (:mod:`pipeline.spacy_components.scoring`), each split
through the component it scores. The pipeline and
its scores are logged to MLflow (experiment ``spacy-pipeline``) as an artifact.
A task without a test split is left out of the evaluation (the stage says so).

    python -m pipeline.stages.package_spacy
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from pipeline import paths
from pipeline.data.splits import read_split_documents, stream_examples, test_split
from pipeline.runner import run
from pipeline.spacy_components.pipeline_builder import NER_PIPE, TEXTCAT_PIPE, build_pipeline
from pipeline.spacy_components.scoring import evaluate_stream
from pipeline.tracking.stage import publish_results

METRICS_FILE = paths.METRICS / "spacy.json"
KEPT = ("ents_p", "ents_r", "ents_f", "ents_per_type", "cats_score", "cats_macro_p", "cats_macro_r", "cats_macro_f",
        "cats_macro_auc", "cats_f_per_type")


def ner_examples(nlp: Language, path: Path) -> Iterator[Example]:
    """The NER test split as one pre-tokenized Doc per document, its sentences set and gold entities from IOB2.

    Whole documents with their sentences are what the tagger was scored on
    (``evaluate_ner``): its document memory reads a word's other mentions.
    """
    records, docs = read_split_documents(path)
    for _, group in groupby(zip(records, docs), key=lambda pair: pair[1]):
        sentences = [record for record, _ in group if record[0]]
        if not sentences:
            continue
        words = [word for tokens, _ in sentences for word in tokens]
        starts = [i == 0 for tokens, _ in sentences for i in range(len(tokens))]
        tags = [tag for _, sentence_tags in sentences for tag in sentence_tags]
        yield Example(Doc(nlp.vocab, words=words, sent_starts=starts), Doc(nlp.vocab, words=words, ents=tags))


def cats_examples(nlp: Language, path: Path) -> Iterator[Example]:
    """Pre-tokenized test reviews, gold ``cats`` one-hot over the classifier's classes (its own target field)."""
    textcat = nlp.get_pipe(TEXTCAT_PIPE)
    for tokens, target in stream_examples(path, textcat.predictor.target):
        reference = Doc(nlp.vocab, words=tokens)
        reference.cats = {label: float(label == target) for label in textcat.labels}
        yield Example(Doc(nlp.vocab, words=tokens), reference)


def main() -> None:
    nlp = build_pipeline(paths.NER_MODEL, paths.SENTIMENT_MODEL, paths.SPACY_PIPELINE)
    scores = {}
    if ner_test := test_split(paths.NER_SPLITS, "ner"):
        scores |= evaluate_stream(nlp, ner_examples(nlp, ner_test), pipes=[NER_PIPE])
    if sentiment_test := test_split(paths.SENTIMENT_SPLITS, "sentiment"):
        scores |= evaluate_stream(nlp, cats_examples(nlp, sentiment_test), pipes=[TEXTCAT_PIPE])
    metrics = {key: scores[key] for key in KEPT if scores.get(key) is not None}
    publish_results(paths.SPACY_EXPERIMENT, "package_spacy", METRICS_FILE, metrics, artifacts=(paths.SPACY_PIPELINE,))


if __name__ == "__main__":
    run(main)
