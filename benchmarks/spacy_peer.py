"""spaCy's own ``ner`` pipeline as the peer: trained with ``spacy train`` on the same IOB2 sentences as the project's
tagger, and scored by the same conlleval-equivalent scorer (:func:`pipeline.evaluation.ner.entity_scores`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from common import THREAD_ENV

from pipeline.evaluation.ner import entity_scores

Records = list[tuple[list[str], list[str]]]


def to_docbin(nlp, records: Records, path: Path) -> None:
    """Write ``.spacy`` training data: pre-tokenized docs with IOB2 entity annotation."""
    from spacy.tokens import Doc, DocBin

    docs = DocBin()
    for tokens, tags in records:
        docs.add(Doc(nlp.vocab, words=tokens, ents=tags))
    docs.to_disk(path)


def spacy_tags(doc) -> list[str]:
    """A spaCy doc's entities as IOB2 tags, aligned with its tokens."""
    return ["O" if t.ent_iob_ == "O" else f"{t.ent_iob_}-{t.ent_type_}" for t in doc]


def train_spacy(train: Records, dev: Records, work: Path, cap_s: int, max_epochs: int | None = None) -> dict:
    """``spacy init config -p ner -o efficiency`` + ``spacy train`` (one thread, stopped after ``cap_s`` seconds,
    its best-on-dev model kept); returns the model path, the command and its time."""
    import spacy

    work.mkdir(parents=True, exist_ok=True)
    blank = spacy.blank("en")
    for name, records in (("train", train), ("dev", dev)):
        to_docbin(blank, records, work / f"{name}.spacy")
    cli = [sys.executable, "-m", "spacy"]
    subprocess.run([*cli, "init", "config", str(work / "config.cfg"), "-l", "en", "-p", "ner", "-o", "efficiency",
                    "--force"], check=True, capture_output=True)
    command = [*cli, "train", str(work / "config.cfg"), "--output", str(work / "model"),
               "--paths.train", str(work / "train.spacy"), "--paths.dev", str(work / "dev.spacy"),
               *(["--training.max_epochs", str(max_epochs)] if max_epochs else [])]
    start = time.perf_counter()
    process = subprocess.Popen(command, env={**os.environ, **THREAD_ENV})
    try:
        process.wait(timeout=cap_s)
        capped = False
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait()
        capped = True
    if not capped and process.returncode:
        raise RuntimeError(f"spacy train exited {process.returncode}")
    return {"model": work / "model" / "model-best", "train_s": round(time.perf_counter() - start, 1),
            "stopped_by_cap": capped, "cap_s": cap_s, "spacy_version": spacy.__version__,
            "command": " ".join(command[2:])}


def score_spacy(model: Path, test: Records) -> tuple[dict, float]:
    """Entity scores of a trained spaCy pipeline on pre-tokenized ``test``, and its words/s."""
    import spacy
    from spacy.tokens import Doc

    nlp = spacy.load(model)
    docs = [Doc(nlp.vocab, words=tokens) for tokens, _ in test]
    start = time.perf_counter()
    tagged = list(nlp.pipe(docs))
    words_per_s = sum(len(d) for d in docs) / (time.perf_counter() - start)
    return entity_scores([g for _, g in test], [spacy_tags(d) for d in tagged]), words_per_s
