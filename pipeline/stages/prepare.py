"""Stage ``prepare``: verify the raw data, tokenize it, write the splits every later stage reads.

Outputs (``outputs/prepared``): NER ``train/dev/test.jsonl`` (tokens, IOB2
tags and the document number; dev = ``eng.testa``, test = ``eng.testb``), sentiment
``train/dev/test.jsonl`` (dev carved from IMDB train, stratified and seeded:
the test set never chooses anything) and ``corpus.txt``, the tokenized
word2vec corpus, one sentence or review a line; ``sources.json`` records the
SHA-256 of every raw file read, and tracked runs carry it as tags.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline import paths
from pipeline.atomic import atomic_open, write_json
from pipeline.config import DataConfig, PrepareConfig, load_section
from pipeline.data.checksums import read_sums, sha256, verify
from pipeline.data.conll import read_conll
from pipeline.data.imdb import Review, count_reviews, read_imdb
from pipeline.data.jsonl import write_jsonl
from pipeline.data.tokenizer import tokenize_many
from pipeline.progress import progress
from pipeline.runner import run


def locate(data: DataConfig) -> tuple[dict[str, Path], dict[str, str]]:
    """Paths of every input file and their SHA-256 (verified against SHA256SUMS when ``data.verify_checksums``)."""
    root = data.root
    wanted = {f"conll_{k}": v for k, v in paths.CONLL_FILES.items()} | {
        f"imdb_{k}": v for k, v in paths.IMDB_FILES.items()
    }
    if data.verify_checksums:
        sums = read_sums(root)
        located = {key: verify(root, rel, sums) for key, rel in progress(wanted.items(), desc="checksums", unit="file")}
        return located, {rel: sums[rel] for rel in wanted.values()}
    return {key: root / rel for key, rel in wanted.items()}, {rel: sha256(root / rel) for rel in wanted.values()}


def prepare_ner(files: dict[str, Path], cfg: PrepareConfig) -> dict[str, int]:
    """Write the three NER splits (IOB2); returns sentence counts."""
    counts = {}
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        for split in ("train", "dev", "test"):
            sentences = read_conll(files[f"conll_{split}"], scheme="iob1", target="iob2", invalid=cfg.invalid_tags)
            records = ({"tokens": s.words, "tags": s.tags, "doc": s.doc} for s in sentences)
            counts[f"ner_{split}"] = write_jsonl(paths.NER_SPLITS / f"{split}.jsonl", records)
    return counts


def tokenized(reviews: Iterable[Review]) -> Iterator[dict]:
    """Review records with their tokens (spaCy tokenizer, batched)."""
    reviews = list(reviews)
    for review, tokens in zip(reviews, tokenize_many(r.text for r in reviews)):
        yield {"id": review.id, "tokens": tokens, "label": review.label, "rating": review.rating}


def _id_number(record: dict) -> int | None:
    """The number ending a review id (``train/pos/123`` → 123), or None when the id has none."""
    tail = str(record["id"]).rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def split_dev(records: list[dict], fraction: float, seed: int, method: str = "id_blocks") -> tuple[list[dict], list[dict]]:
    """Carve a stratified dev split off ``records``: per label, the last ids (``id_blocks``) or a seeded shuffle.

    IMDB numbers the reviews of one movie consecutively, and its test set
    covers other movies than train. A random dev split shares its movies with
    train, so it rewards a model that memorises titles and names (the README
    gives the figures). ``id_blocks``
    takes each label's highest ids instead, so dev's movies are, but for the
    one at the cut, new to that label's training reviews, as test's are.
    Ids without a number keep their file order.
    """
    rng = random.Random(seed)
    train, dev = [], []
    for label in sorted({r["label"] for r in records}):
        group = [r for r in records if r["label"] == label]
        if method == "random":
            rng.shuffle(group)
            cut = round(len(group) * fraction)
            dev.extend(group[:cut])
            train.extend(group[cut:])
            continue
        if all(_id_number(r) is not None for r in group):
            group.sort(key=_id_number)
        cut = len(group) - round(len(group) * fraction)
        train.extend(group[:cut])
        dev.extend(group[cut:])
    return train, dev


def reviews_progress(path: Path, desc: str) -> Iterator[dict]:
    """The tokenized review records of ``path``, counted on a progress display whose total is known up front."""
    return progress(tokenized(read_imdb(path)), desc=desc, unit="review", total=count_reviews(path))


def prepare_sentiment(files: dict[str, Path], cfg: PrepareConfig) -> tuple[dict[str, int], list[dict]]:
    """Write the sentiment splits; returns counts and the tokenized train+dev records (for the corpus)."""
    labelled = list(reviews_progress(files["imdb_train"], "tokenize imdb train"))
    train, dev = split_dev(labelled, cfg.sentiment_dev_fraction, cfg.seed, cfg.sentiment_dev_split)
    counts = {
        "sentiment_train": write_jsonl(paths.SENTIMENT_SPLITS / "train.jsonl", train),
        "sentiment_dev": write_jsonl(paths.SENTIMENT_SPLITS / "dev.jsonl", dev),
        "sentiment_test": write_jsonl(
            paths.SENTIMENT_SPLITS / "test.jsonl",
            reviews_progress(files["imdb_test"], "tokenize imdb test"),
        ),
    }
    return counts, labelled


def corpus_lines(files: dict[str, Path], cfg: PrepareConfig, imdb_train: list[dict]) -> Iterator[list[str]]:
    """Token lists of every source named in ``prepare.word2vec_corpus`` (never the test sets)."""
    for source in cfg.word2vec_corpus:
        if source == "conll_train":
            yield from (s.words for s in read_conll(files["conll_train"], invalid=cfg.invalid_tags))
        elif source == "imdb_train":
            yield from (r["tokens"] for r in imdb_train)
        else:
            texts = (r.text for r in read_imdb(files["imdb_unsup"]))
            yield from progress(tokenize_many(texts), desc="tokenize imdb unsup", unit="review",
                                total=count_reviews(files["imdb_unsup"]))


def write_corpus(lines: Iterable[list[str]], path: Path) -> int:
    """Write one space-joined token line per sentence; returns the token count."""
    tokens = 0
    with atomic_open(path) as fh:
        for words in lines:
            words = [w for token in words for w in token.split()]
            if words:
                fh.write(" ".join(words) + "\n")
                tokens += len(words)
    return tokens


def main() -> None:
    data = load_section(DataConfig, "data")
    cfg = load_section(PrepareConfig, "prepare")
    files, checksums = locate(data)
    write_json(paths.SOURCES, checksums)
    counts = prepare_ner(files, cfg)
    sentiment_counts, imdb_train = prepare_sentiment(files, cfg)
    counts |= sentiment_counts
    counts["corpus_tokens"] = write_corpus(corpus_lines(files, cfg, imdb_train), paths.CORPUS)
    write_json(paths.METRICS / "prepare.json", counts)


if __name__ == "__main__":
    run(main)
