"""Stage ``word2vec``: train vectors on the prepared corpus (or read the user's), evaluate them, write metrics.

Outputs: ``outputs/word2vec/{vectors.bin,vocab.tsv,config.json}`` (the
config is stored beside the vectors so every model built on them knows the
normalisation), with ``word2vec.model: fasttext`` also the n-gram table
``subwords.{npy,json}``, and ``metrics/word2vec.json``.

With ``word2vec.source: file`` the vectors come from ``word2vec.path``
(word2vec binary or text, fastText ``.vec``, GloVe; see
:mod:`pipeline.embeddings.vector_file`) and are written, evaluated and
described exactly as trained ones: ``vocab.tsv``'s counts are then made up
(n … 1 in file order, as gensim's loader makes them: a file has none), and
the metrics name the file's format and SHA-256 instead of training times.
``lowercase`` and ``digits_to_zero`` keep their configured values: they say
how every model looks tokens up in these vectors (``lowercase: false`` for
cased vectors such as fastText's), and ``unreachable_words`` counts the file's
words that lookups can never reach.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from gensim.models import KeyedVectors
from gensim.models.fasttext import FastTextKeyedVectors

from pipeline import paths
from pipeline.atomic import write_json
from pipeline.config import PARAMS_FILE, Word2VecConfig, load_section
from pipeline.data.checksums import sha256
from pipeline.data.jsonl import read_jsonl
from pipeline.embeddings import evaluate, word2vec
from pipeline.embeddings.normalize import normalizer
from pipeline.embeddings.subwords import Subwords
from pipeline.embeddings.vector_file import read_vectors
from pipeline.errors import ConfigError, MissingDataError
from pipeline.model_dir import CONFIG
from pipeline.runner import run

OOV_TASKS = (("conll", paths.NER_SPLITS), ("imdb", paths.SENTIMENT_SPLITS))  # metric prefix, prepared directory


def task_tokens(split_file: Path) -> list[str]:
    """All tokens of a prepared split, for OOV rates."""
    return [t for record in read_jsonl(split_file) for t in record["tokens"]]


def trained(cfg: Word2VecConfig) -> tuple[KeyedVectors, dict]:
    """Vectors trained on the prepared corpus, and what the training did."""
    model, stats = word2vec.train_file(paths.CORPUS, cfg)
    return model.wv, {
        "source": "train",
        "model": cfg.model,
        "vocab_size": len(model.wv),
        "raw_words": stats.raw_words,
        "train_seconds": round(stats.train_seconds, 3),
        "normalize_seconds": round(stats.normalize_seconds, 3),
        "words_per_s": round(stats.words_per_s),
    }


def from_file(cfg: Word2VecConfig) -> tuple[KeyedVectors, dict]:
    """The vectors of ``word2vec.path``, of dimension ``vector_size``, and what identifies the file."""
    if not cfg.path.is_file():
        raise MissingDataError(cfg.path, "word2vec.path in params.yaml: the vectors file to read")
    kv, fmt = read_vectors(cfg.path)
    if kv.vector_size != cfg.vector_size:
        raise ConfigError(
            PARAMS_FILE,
            "word2vec.vector_size",
            f"is {cfg.vector_size}, but {cfg.path} holds vectors of dimension {kv.vector_size}: set it to "
            f"{kv.vector_size}, and ner.model.word_dim and sentiment.model.embedding_dim with it",
        )
    return kv, {
        "source": "file",
        "format": fmt,
        "sha256": sha256(cfg.path),
        "vocab_size": len(kv),
        "unreachable_words": unreachable_words(kv, cfg),
    }


def unreachable_words(kv: KeyedVectors, cfg: Word2VecConfig) -> int:
    """How many of a file's words normalisation changes, so no token looks them up (warned: often a config slip)."""
    normalize = normalizer(cfg.lowercase, cfg.digits_to_zero)
    changed = [word for word in kv.index_to_key if normalize(word) != word]
    if changed:
        warnings.warn(
            f"{len(changed):,} of the {len(kv):,} words in {cfg.path} are never looked up, e.g. {changed[0]!r}: "
            f"tokens are normalised first (word2vec.lowercase: {cfg.lowercase}, digits_to_zero: "
            f"{cfg.digits_to_zero}); set lowercase: false for cased vectors",
            stacklevel=2,
        )
    return len(changed)


def oov_splits() -> list[tuple[str, Path]]:
    """``(metric prefix, split file)`` per prepared task: its test split, else its dev split (a user may have no test)."""
    splits = []
    for task, directory in OOV_TASKS:
        if directory.is_dir():
            split = "test" if (directory / "test.jsonl").exists() else "dev"
            splits.append((f"{task}_{split}", directory / f"{split}.jsonl"))
    return splits


def evaluation(kv: KeyedVectors, cfg: Word2VecConfig) -> dict:
    """Analogy and WordSim scores, and the OOV rates of each prepared task's split under the lookup normalisation
    (for fastText also the rates of words that not even an n-gram covers)."""
    normalize = normalizer(cfg.lowercase, cfg.digits_to_zero)
    subwords = Subwords.of(kv) if isinstance(kv, FastTextKeyedVectors) else None
    metrics = {
        "analogy_accuracy": evaluate.analogy_accuracy(kv),
        "wordsim353_spearman": evaluate.wordsim_spearman(kv),
    }
    for prefix, split in oov_splits():
        for name, value in evaluate.oov_rates(kv, task_tokens(split), normalize, subwords).items():
            metrics[f"{prefix}_{name}"] = value
    return metrics


def main() -> None:
    cfg = load_section(Word2VecConfig, "word2vec")
    kv, metrics = trained(cfg) if cfg.source == "train" else from_file(cfg)
    word2vec.save(kv, paths.WORD2VEC)
    write_json(paths.WORD2VEC / CONFIG, cfg.model_dump(mode="json"))
    write_json(paths.METRICS / "word2vec.json", metrics | evaluation(kv, cfg))


if __name__ == "__main__":
    run(main)
