"""Regenerate the embedded sample under ``data/sample`` from the full shared data.

The sample keeps the shared layout and file formats (gzip, CoNLL IOB1 with
``-DOCSTART-`` lines, IMDB JSON lines), so the default ``dvc repro`` runs the
very same readers and stages as a full run; only ``data.profile`` differs.

    python scripts/make_sample.py --source ../shared/data --dest data/sample
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import typer

CONLL_SENTENCES = {"eng.train": 300, "eng.testa": 100, "eng.testb": 100}
IMDB_REVIEWS = {"train": 500, "test": 200, "unsup": 1000}


def _write_gz(path: Path, text: str) -> None:
    """Write gzip with a fixed mtime so regenerating gives identical bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(text.encode("utf-8"))


def conll_head(path: Path, n_sentences: int) -> str:
    """The file's text up to its ``n_sentences``-th sentence (``-DOCSTART-`` blocks kept, not counted)."""
    blocks = gzip.open(path, "rt", encoding="utf-8").read().split("\n\n")
    kept, count = [], 0
    for block in blocks:
        if count == n_sentences:
            break
        kept.append(block)
        if block.strip() and not block.startswith("-DOCSTART-"):
            count += 1
    return "\n\n".join(kept) + "\n\n"


def imdb_balanced(path: Path, n_reviews: int) -> str:
    """The first ``n_reviews`` reviews, alternating labels so both classes appear (unsup: the first ones)."""
    by_label: dict[object, list[str]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            by_label.setdefault(json.loads(line)["label"], []).append(line)
    labels = sorted(by_label, key=str)
    per_label = n_reviews // len(labels)
    chosen = [line for label in labels for line in by_label[label][:per_label]]
    return "".join(chosen)


def main(source: Path = Path("../shared/data"), dest: Path = Path("data/sample")) -> None:
    """Write the sample files and their ``SHA256SUMS``."""
    written = []
    for name, n in CONLL_SENTENCES.items():
        target = dest / "conll2003" / f"{name}.gz"
        _write_gz(target, conll_head(source / "conll2003" / f"{name}.gz", n))
        written.append(target)
    for split, n in IMDB_REVIEWS.items():
        target = dest / "aclimdb" / f"{split}.jsonl.gz"
        _write_gz(target, imdb_balanced(source / "aclimdb" / f"{split}.jsonl.gz", n))
        written.append(target)
    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(dest).as_posix()}" for p in written]
    (dest / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    typer.echo(f"wrote {len(written)} files under {dest}")


if __name__ == "__main__":
    typer.run(main)
