"""Stage ``package_spacy``: the trained tagger and classifier as one spaCy pipeline, scored the spaCy way.

Outputs: ``spacy_pipeline/`` (tokenizer + ``w2v_ner`` + ``w2v_textcat``;
``spacy.load("spacy_pipeline")``, ``spacy package``) and
``metrics/spacy.json``: ``nlp.evaluate`` on the NER test split (``ents_*``)
and the sentiment test split (``cats_*``). Each component scores only the
examples annotated for it, so one evaluation covers both. The pipeline and
its scores are logged to MLflow (experiment ``spacy-pipeline``) as an artifact.
A task without a test split is left out of the evaluation (the stage says so).

    python -m pipeline.stages.package_spacy
"""

from __future__ import annotations

from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from pipeline import paths
from pipeline.data.splits import load_examples, read_split, test_split
from pipeline.runner import run
from pipeline.spacy_components.pipeline_builder import TEXTCAT_PIPE, build_pipeline
from pipeline.tracking.stage import publish_results

METRICS_FILE = paths.METRICS / "spacy.json"
KEPT = ("ents_p", "ents_r", "ents_f", "ents_per_type", "cats_score", "cats_macro_p", "cats_macro_r", "cats_macro_f",
        "cats_macro_auc", "cats_f_per_type")


def ner_examples(nlp: Language, path: Path) -> list[Example]:
    """Pre-tokenized test sentences, gold entities from their IOB2 tags."""
    return [Example(Doc(nlp.vocab, words=tokens), Doc(nlp.vocab, words=tokens, ents=tags))
            for tokens, tags in read_split(path) if tokens]


def cats_examples(nlp: Language, path: Path) -> list[Example]:
    """Pre-tokenized test reviews, gold ``cats`` one-hot over the classifier's classes (its own target field)."""
    textcat = nlp.get_pipe(TEXTCAT_PIPE)
    examples = load_examples(path, textcat.predictor.target)
    out = []
    for tokens, target in zip(examples.tokens, examples.targets):
        reference = Doc(nlp.vocab, words=tokens)
        reference.cats = {label: float(label == target) for label in textcat.labels}
        out.append(Example(Doc(nlp.vocab, words=tokens), reference))
    return out


def main() -> None:
    nlp = build_pipeline(paths.NER_MODEL, paths.SENTIMENT_MODEL, paths.SPACY_PIPELINE)
    examples = []
    if ner_test := test_split(paths.NER_SPLITS, "ner"):
        examples += ner_examples(nlp, ner_test)
    if sentiment_test := test_split(paths.SENTIMENT_SPLITS, "sentiment"):
        examples += cats_examples(nlp, sentiment_test)
    scores = nlp.evaluate(examples) if examples else {}
    metrics = {key: scores[key] for key in KEPT if scores.get(key) is not None}
    publish_results(paths.SPACY_EXPERIMENT, "package_spacy", METRICS_FILE, metrics, artifacts=(paths.SPACY_PIPELINE,))


if __name__ == "__main__":
    run(main)
