"""Stage ``word2vec``: train vectors on the prepared corpus, evaluate them, write metrics.

Outputs: ``outputs/word2vec/{vectors.bin,vocab.tsv,config.json}`` (the
config is stored beside the vectors so every model built on them knows the
normalisation) and ``metrics/word2vec.json``.
"""

from __future__ import annotations

from pipeline import paths
from pipeline.atomic import write_json
from pipeline.config import Word2VecConfig, load_section
from pipeline.data.jsonl import read_jsonl
from pipeline.embeddings import evaluate, word2vec
from pipeline.embeddings.normalize import normalizer
from pipeline.model_dir import CONFIG
from pipeline.runner import run


def task_tokens(split_file) -> list[str]:
    """All tokens of a prepared split, for OOV rates."""
    return [t for record in read_jsonl(split_file) for t in record["tokens"]]


def main() -> None:
    cfg = load_section(Word2VecConfig, "word2vec")
    normalize = normalizer(cfg.lowercase, cfg.digits_to_zero)
    model, stats = word2vec.train_file(paths.CORPUS, cfg)
    word2vec.save(model.wv, paths.WORD2VEC)
    write_json(paths.WORD2VEC / CONFIG, cfg.model_dump(mode="json"))
    metrics = {
        "vocab_size": len(model.wv),
        "raw_words": stats.raw_words,
        "train_seconds": round(stats.train_seconds, 3),
        "normalize_seconds": round(stats.normalize_seconds, 3),
        "words_per_s": round(stats.words_per_s),
        "analogy_accuracy": evaluate.analogy_accuracy(model.wv),
        "wordsim353_spearman": evaluate.wordsim_spearman(model.wv),
    }
    for task, split in (("conll_test", paths.NER_SPLITS / "test.jsonl"), ("imdb_test", paths.SENTIMENT_SPLITS / "test.jsonl")):
        for name, value in evaluate.oov_rates(model.wv, task_tokens(split), normalize).items():
            metrics[f"{task}_{name}"] = value
    write_json(paths.METRICS / "word2vec.json", metrics)


if __name__ == "__main__":
    run(main)
