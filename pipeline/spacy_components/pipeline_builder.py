"""Assemble the project's spaCy pipeline (tokenizer + ``w2v_ner`` + ``w2v_textcat``) and save it.

The components are added with ``model = null`` and given their models with
``load_model``, so the saved ``config.cfg`` names no path of this machine:
the pipeline directory carries copies of both model directories and loads
anywhere (``spacy.load``, ``spacy package``).
"""

from __future__ import annotations

import shutil
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import spacy
from spacy.language import Language

import pipeline.spacy_components  # noqa: F401  (registers the factories when the entry points are not installed)

NER_PIPE = "w2v_ner"
TEXTCAT_PIPE = "w2v_textcat"
DISTRIBUTION = "w2v-rnn-pipeline"


def _meta() -> dict:
    """What ``spacy package`` needs: a name, a version, and the distribution that provides the factories."""
    try:
        project_version = version(DISTRIBUTION)
    except PackageNotFoundError:
        project_version = "0.0.0"
    return {
        "name": "w2v_pipeline",
        "version": project_version,
        "description": "word2vec + BiLSTM-CRF NER (doc.ents) and BiLSTM sentiment (doc.cats)",
        "requirements": [f"{DISTRIBUTION}>={project_version}"],
    }


def assemble(ner_model_dir: str | Path, textcat_model_dir: str | Path) -> Language:
    """A blank English pipeline with both components, their models loaded from the given directories."""
    nlp = spacy.blank("en")
    nlp.meta.update(_meta())
    nlp.add_pipe(NER_PIPE).load_model(ner_model_dir)
    nlp.add_pipe(TEXTCAT_PIPE).load_model(textcat_model_dir)
    return nlp


def build_pipeline(ner_model_dir: str | Path, textcat_model_dir: str | Path, out_dir: str | Path) -> Language:
    """Assemble the pipeline and write it to ``out_dir``, replacing what was there only once it is complete."""
    nlp = assemble(ner_model_dir, textcat_model_dir)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    try:
        staging.chmod(0o755)  # mkdtemp creates 0700; the pipeline is meant to be shared like any output
        nlp.to_disk(staging)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return nlp
