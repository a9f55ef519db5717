"""Stage ``prepare``: read the files params.yaml's ``data`` section names, check them, write the splits every later
stage reads.

Outputs (``outputs/prepared``): ``ner/{train,dev,test}.jsonl`` (tokens, IOB2
tags, document number), ``sentiment/{train,dev,test}.jsonl`` (id, tokens,
label, rating), ``corpus.txt`` (the tokenized word2vec corpus, one sentence or
text a line), ``sources.json`` (the SHA-256 of every input) and
``dataset.json`` (what was read: tag schemes, entity types, classes, where dev
came from). A task without a dev file gets one carved from train
(``prepare.dev_fraction``, seeded); without a test file it has no test split,
and the evaluating stages report no test metrics.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import paths
from pipeline.atomic import atomic_open, write_json
from pipeline.config import DataConfig, PrepareConfig, load_section
from pipeline.data.carve import carve_documents, split_dev
from pipeline.data.conll import Sentence
from pipeline.data.corpus import iter_lines
from pipeline.data.imdb import Review
from pipeline.data.jsonl import write_jsonl
from pipeline.data.labelled import Columns, count_labelled, read_labelled
from pipeline.data.ner_files import NerFormat, read_ner
from pipeline.data.sources import checksums, expand, files_in, key_of
from pipeline.data.tokenizer import spacy_tokenizer, tokenize_many
from pipeline.errors import ConfigError, DataError, MissingDataError
from pipeline.progress import progress
from pipeline.runner import run

SPLITS = ("train", "dev", "test")


@dataclass
class Inputs:
    """The files each task reads, by split, and the word2vec corpus files."""

    ner: dict[str, Path]
    sentiment: dict[str, Path]
    corpus: list[Path] = field(default_factory=list)

    def files(self) -> list[Path]:
        """Every input, a directory standing for each file under it."""
        return [f for p in [*self.ner.values(), *self.sentiment.values(), *self.corpus] for f in files_in(p)]


def locate(data: DataConfig) -> Inputs:
    """The configured files, checked to exist; a corpus entry that is a test file is refused."""
    try:
        spacy_tokenizer(data.language)
    except ImportError:
        raise ConfigError("params.yaml", "data.language",
                          f"spaCy has no tokenizer for {data.language!r}: use a code of spacy.lang, e.g. en, de, fr") from None
    ner = {split: data.path(name) for split, name in zip(SPLITS, (data.ner.train, data.ner.dev, data.ner.test)) if name}
    sentiment = {split: data.path(name) for split, name in
                 zip(SPLITS, (data.sentiment.train, data.sentiment.dev, data.sentiment.test)) if name}
    for task, files in (("ner", ner), ("sentiment", sentiment)):
        for split, path in files.items():
            if not path.exists():
                raise MissingDataError(path, f"data.{task}.{split} names it (relative to data.root {data.root})")
    corpus = [f for name in data.corpus.files for f in expand(data.root, name)]
    tests = {p.resolve() for p in (ner.get("test"), sentiment.get("test")) if p}
    for path in corpus:
        if path.resolve() in tests:
            raise ConfigError("params.yaml", "data.corpus.files", f"{path} is a test file: the test set never trains")
    return Inputs(ner, sentiment, corpus)


def read_ner_splits(data: DataConfig, cfg: PrepareConfig, files: dict[str, Path]) -> tuple[dict, dict, list[Sentence]]:
    """The NER splits (IOB2 sentences, dev carved when absent), what was read, and the training file's sentences."""
    how = NerFormat(data.ner.format, data.ner.scheme, data.ner.word_column, data.ner.tag_column)
    splits, schemes = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # one repair summary per file, even when two files repair alike
        for split, path in files.items():
            splits[split], detection = read_ner(path, how, cfg.invalid_tags)
            schemes[split] = f"{detection.scheme} ({detection.reason})"
    read_train = splits["train"]
    dev = "file"
    if "dev" not in splits:
        splits["train"], splits["dev"] = carve_documents(read_train, cfg.dev_fraction, cfg.seed, files["train"])
        dev = f"carved from train: {cfg.dev_fraction:g} of its documents, seed {cfg.seed}"
    types = sorted({tag[2:] for s in splits["train"] for tag in s.tags if tag != "O"})
    if not types:
        raise DataError(files["train"], None, "no entity in the training file: is data.ner.tag_column right?")
    return splits, {"scheme": schemes, "types": types, "dev": dev}, read_train


def write_ner(splits: dict[str, list[Sentence]]) -> dict[str, int]:
    """Write the NER splits as JSON lines; returns sentence counts."""
    counts = {}
    for split in SPLITS:
        records = ({"tokens": s.words, "tags": s.tags, "doc": s.doc} for s in splits.get(split, []))
        counts[f"ner_{split}"] = write_split(paths.NER_SPLITS / f"{split}.jsonl", records, split in splits)
    return counts


def write_split(path: Path, records: Iterable[dict], present: bool) -> int:
    """Write one split, or remove a stale one the data no longer has (so no stage scores an old test set)."""
    if present:
        return write_jsonl(path, records)
    path.unlink(missing_ok=True)
    return 0


def tokenized(reviews: Iterable[Review], language: str) -> Iterator[dict]:
    """Review records with their tokens (spaCy's tokenizer of ``language``, batched)."""
    reviews = list(reviews)
    for review, tokens in zip(reviews, tokenize_many((r.text for r in reviews), language=language)):
        yield {"id": review.id, "tokens": tokens, "label": review.label, "rating": review.rating}


def texts_progress(path: Path, data: DataConfig, desc: str) -> Iterator[dict]:
    """The tokenized records of one labelled file, counted on a progress display (total known where cheap)."""
    s = data.sentiment
    columns = Columns(s.text_column, s.label_column, s.id_column)
    records = tokenized(read_labelled(path, columns, s.format), data.language)
    return progress(records, desc=desc, unit="text", total=count_labelled(path, s.format))


def read_sentiment_splits(data: DataConfig, cfg: PrepareConfig,
                          files: dict[str, Path]) -> tuple[dict[str, Iterable[dict]], dict, list[dict]]:
    """The sentiment splits (test streamed), what was read, and the training file's records (for the corpus)."""
    read_train = list(texts_progress(files["train"], data, "tokenize sentiment train"))
    labels = sorted({r["label"] for r in read_train})
    if len(labels) < 2:
        raise DataError(files["train"], None, f"one class only ({labels}): a classifier needs two or more; "
                                              f"is data.sentiment.label_column ({data.sentiment.label_column!r}) right?")
    if "dev" in files:
        train, dev, origin = read_train, list(texts_progress(files["dev"], data, "tokenize sentiment dev")), "file"
    else:
        train, dev = split_dev(read_train, cfg.dev_fraction, cfg.seed, cfg.sentiment_dev_split, files["train"])
        origin = f"carved from train: {cfg.dev_fraction:g} of each class ({cfg.sentiment_dev_split}), seed {cfg.seed}"
    unknown = sorted({r["label"] for r in dev} - set(labels))
    if unknown:
        raise DataError(files.get("dev", files["train"]), None, f"dev labels {unknown} never occur in train {labels}")
    splits: dict[str, Iterable[dict]] = {"train": train, "dev": dev}
    if "test" in files:
        splits["test"] = texts_progress(files["test"], data, "tokenize sentiment test")
    return splits, {"labels": labels, "dev": origin}, read_train


def write_sentiment(splits: dict[str, Iterable[dict]]) -> dict[str, int]:
    """Write the sentiment splits as JSON lines; returns text counts."""
    return {f"sentiment_{split}": write_split(paths.SENTIMENT_SPLITS / f"{split}.jsonl", splits.get(split, ()),
                                              split in splits) for split in SPLITS}


def corpus_texts(path: Path, data: DataConfig) -> Iterator[str]:
    """The texts of one corpus file: a JSON-lines file's text field, or a text file's lines."""
    if path.name.removesuffix(".gz").endswith(".jsonl"):
        columns = Columns(text=data.sentiment.text_column)
        return (r.text for r in read_labelled(path, columns, "jsonl", labelled=False))
    return iter_lines(path)


def corpus_lines(data: DataConfig, inputs: Inputs, ner_train: list[Sentence],
                 sentiment_train: list[dict]) -> Iterator[list[str]]:
    """Token lists for word2vec: the training files' text (``data.corpus.labelled_train``), then the corpus files."""
    if data.corpus.labelled_train:
        yield from (s.words for s in ner_train)
        yield from (r["tokens"] for r in sentiment_train)
    for path in inputs.corpus:
        total = count_labelled(path, "jsonl") if path.name.removesuffix(".gz").endswith(".jsonl") else None
        tokens = tokenize_many(corpus_texts(path, data), language=data.language)
        yield from progress(tokens, desc=f"tokenize {path.name}", unit="text", total=total)


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
    inputs = locate(data)
    files = progress(inputs.files(), desc="checksums", unit="file")
    write_json(paths.SOURCES, checksums(data.root, files, data.verify_checksums))
    ner_splits, ner, ner_train = read_ner_splits(data, cfg, inputs.ner)
    counts = write_ner(ner_splits)
    sentiment_splits, sentiment, sentiment_train = read_sentiment_splits(data, cfg, inputs.sentiment)
    counts |= write_sentiment(sentiment_splits)
    if not data.corpus.labelled_train and not inputs.corpus:
        raise ConfigError("params.yaml", "data.corpus", "no text for word2vec: name files or set labelled_train: true")
    counts["corpus_tokens"] = write_corpus(corpus_lines(data, inputs, ner_train, sentiment_train), paths.CORPUS)
    for task, info, task_files in (("ner", ner, inputs.ner), ("sentiment", sentiment, inputs.sentiment)):
        info["files"] = {split: key_of(data.root, p) for split, p in task_files.items()}
        counts[f"{task}_dev_carved"] = int(info["dev"] != "file")
    counts |= {"ner_types": len(ner["types"]), "sentiment_classes": len(sentiment["labels"])}
    corpus = [key_of(data.root, p) for p in inputs.corpus]
    write_json(paths.DATASET, {"language": data.language, "ner": ner, "sentiment": sentiment, "corpus": corpus})
    write_json(paths.METRICS / "prepare.json", counts)


if __name__ == "__main__":
    run(main)
