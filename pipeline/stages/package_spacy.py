"""Stage ``package_spacy``: the trained tagger and classifier as one spaCy pipeline, scored the spaCy way.

Outputs: ``spacy_pipeline/`` (tokenizer + ``w2v_ner`` + ``w2v_textcat``;
``spacy.load("spacy_pipeline")``, ``spacy package``) and
``metrics/spacy.json``: ``nlp.evaluate`` on the NER test split (``ents_*``)
and the sentiment test split (``cats_*``). Each component scores only the
examples annotated for it, so one evaluation covers both. The pipeline and
its scores are logged to MLflow (experiment ``spacy-pipeline``) as an artifact.

    python -m pipeline.stages.package_spacy
"""

from __future__ import annotations

from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from pipeline import paths
from pipeline.atomic import write_json
from pipeline.runner import run
from pipeline.tracking.stage import stage_run
from pipeline.spacy_components.pipeline_builder import TEXTCAT_PIPE, build_pipeline
from pipeline.stages.train_ner import OUT_DIR as NER_DIR
from pipeline.stages.train_sentiment import MODEL_DIR as SENTIMENT_MODEL_DIR
from pipeline.training.ner_task import read_split
from pipeline.training.sentiment_task import load_examples

PIPELINE_DIR = Path("spacy_pipeline")
SPACY_EXPERIMENT = "spacy-pipeline"  # MLflow experiment holding each assembled pipeline as an artifact
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
    examples = load_examples(path, textcat.predictor.cfg.target)
    out = []
    for tokens, target in zip(examples.tokens, examples.targets):
        reference = Doc(nlp.vocab, words=tokens)
        reference.cats = {label: float(label == target) for label in textcat.labels}
        out.append(Example(Doc(nlp.vocab, words=tokens), reference))
    return out


def main() -> None:
    nlp = build_pipeline(NER_DIR / "model", SENTIMENT_MODEL_DIR, PIPELINE_DIR)
    examples = ner_examples(nlp, paths.NER_SPLITS / "test.jsonl") + cats_examples(nlp, paths.SENTIMENT_SPLITS / "test.jsonl")
    scores = nlp.evaluate(examples)
    metrics = {key: scores[key] for key in KEPT if scores.get(key) is not None}
    write_json(METRICS_FILE, metrics)
    with stage_run(SPACY_EXPERIMENT, "package_spacy") as tracked:
        tracked.tracker.log_metrics(metrics, step=0)
        tracked.tracker.log_artifact(PIPELINE_DIR)


if __name__ == "__main__":
    run(main)
