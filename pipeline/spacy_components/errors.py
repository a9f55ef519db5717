"""Errors of the spaCy components, collected in one place (spaCy's own ``Errors`` style).

Each message says what went wrong and how to fix it; the codes (``[W2V001]``…)
make them easy to search for. Every error is a :class:`ComponentError`, a
:class:`~pipeline.errors.PipelineError`, so the project CLI and stages print
it as one line instead of a traceback.
"""

from __future__ import annotations

from spacy.errors import ErrorsWithCodes

from pipeline.errors import PipelineError


class Errors(metaclass=ErrorsWithCodes):
    """Message templates; ``Errors.W2V001`` reads as ``"[W2V001] …"``."""

    W2V001 = (
        "{component}: model directory '{path}' does not exist. Train one first (`dvc repro` writes "
        "outputs/ner/model and outputs/sentiment/model) and pass its path as config={{'model': PATH}}; "
        "if you are loading a saved pipeline whose model directory has moved, set "
        "[components.{component}] model = null in its config.cfg (the pipeline carries its own copy)."
    )
    W2V002 = (
        "{component}: '{path}' is not a {kind} model directory: {missing} missing. Pass the 'model' "
        "directory a training stage wrote (it holds model.safetensors, config.json and the vocabulary)."
    )
    W2V003 = (
        "{component} has no model: it was added with model = null. Pass config={{'model': PATH}} to "
        "nlp.add_pipe, call .load_model(PATH), or load a pipeline saved with nlp.to_disk."
    )
    W2V004 = "{component}: config '{field}' is {value!r}; {expected}."
    W2V005 = (
        "{component}: cannot save, the model directory '{path}' it was loaded from no longer exists. "
        "Load the model again (or restore the directory) before nlp.to_disk."
    )
    W2V006 = (
        "{component}: the model in '{path}' was trained on '{model_lang}' text, but this pipeline's language is "
        "'{nlp_lang}': its tokenizer would split words differently. Use spacy.blank('{model_lang}'), or train on "
        "data with data.language: {nlp_lang} in params.yaml."
    )


class ComponentError(PipelineError, ValueError):
    """A component was configured or used in a way it cannot work with."""
