"""Model directories: every file name in them, safetensors weights, the JSON config, published atomically.

A *model directory* holds :data:`WEIGHTS` and :data:`CONFIG` (the typed
config that rebuilds the module) plus the assets its model adds (vocabulary,
labels, tags). Each file is written to a temporary name and renamed into
place, so a crash leaves the old file or none. The word2vec output directory
and the TF-IDF baseline's directory name their files here too.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_model, save_model

from pipeline.atomic import write_json, write_with
from pipeline.errors import DataError, MissingDataError

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
VOCAB = "vocab.json"  # a model's word vocabulary (pipeline.embeddings.vocab.Vocab)
LABELS = "labels.json"  # a classifier's classes, in output order
TAGGER_ASSETS = "tagger_assets.json"  # a tagger's characters, tags and scheme
LM_VOCAB = "lm_vocab.json"  # the vocabulary of a tagger's language model (TagLM), beside TAGGER_ASSETS
VECTORS = "vectors.bin"  # word2vec binary format, in a vectors directory
SUBWORDS = "subwords.npy"  # fastText's n-gram bucket table (float32), in a vectors or tagger directory
SUBWORDS_CONFIG = "subwords.json"  # its n-gram lengths, beside SUBWORDS
VECTOR_COUNTS = "vocab.tsv"  # word and training count of each vector, beside VECTORS
BASELINE_WEIGHTS = "weights.npz"  # the TF-IDF baseline's arrays (no pickle)
DATA = "data.json"  # what a model was trained on: the data's language (its tokenizer); absent in older models: en


def write_data_info(directory: Path, language: str) -> None:
    """Record the language of the data a model was trained on beside its weights."""
    write_json(directory / DATA, {"language": language})


def model_language(directory: Path) -> str:
    """The language of the data a model directory was trained on (English for models older than the record)."""
    path = directory / DATA
    return read_json(path)["language"] if path.exists() else "en"


def require(directory: Path, names: tuple[str, ...], what: str) -> None:
    """A :class:`MissingDataError` naming the first of ``names`` missing from ``directory``."""
    for name in names:
        if not (directory / name).exists():
            raise MissingDataError(directory / name, f"not a {what} directory: train one first")


def save_weights(directory: Path, model: torch.nn.Module, config: dict) -> None:
    """Write weights and config into ``directory`` (each file atomically)."""
    directory.mkdir(parents=True, exist_ok=True)
    write_with(directory / WEIGHTS, lambda tmp: save_model(model, str(tmp)))
    write_json(directory / CONFIG, config)


def read_config(directory: Path) -> dict:
    """The config stored beside a model's weights (or a vectors directory's settings)."""
    path = directory / CONFIG
    if not path.exists():
        raise MissingDataError(path, "not a model directory: train a model first")
    return read_json(path)


def read_json(path: Path) -> object:
    """One JSON asset of a model directory; invalid JSON is a :class:`DataError` naming the line."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(path, exc.lineno, f"invalid JSON: {exc.msg}") from None


def read_json_if_written(path: Path) -> object:
    """A stage's JSON output, or an empty dict when that stage has not written it (yet)."""
    return read_json(path) if path.exists() else {}


def load_weights(directory: Path, model: torch.nn.Module) -> torch.nn.Module:
    """Load :data:`WEIGHTS` into ``model`` (strict: every tensor must match)."""
    path = directory / WEIGHTS
    if not path.exists():
        raise MissingDataError(path, "not a model directory: train a model first")
    load_model(model, str(path), strict=True)
    return model
