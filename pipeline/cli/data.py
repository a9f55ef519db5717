"""``w2vp data check``: read every dataset params.yaml's ``data`` section names, as ``prepare`` will, and say what
is there, before a run spends an hour on it.

It prints, per task and split, the counts, the entity types or classes, the
tag scheme read (and why), where dev comes from, and the OOV rate against the
trained vectors when ``outputs/word2vec`` exists; or the first problem as
``error: file:line: message`` (exit 1). Nothing is written.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from pipeline import paths
from pipeline.config import DataConfig, PrepareConfig, load_section
from pipeline.data.sources import checksums
from pipeline.runner import run

data_app = typer.Typer(help="Your data: check what params.yaml's data section names.", no_args_is_help=True)


def _oov(tokens: Counter) -> str:
    """``, OOV 3.1% of tokens`` against the trained vectors with their normalisation; empty before word2vec ran."""
    if not (paths.WORD2VEC / "config.json").exists():
        return ""
    from pipeline.config import Word2VecConfig, build_section
    from pipeline.embeddings.evaluate import oov_rates
    from pipeline.embeddings.normalize import normalizer
    from pipeline.embeddings.word2vec import load
    from pipeline.model_dir import read_config

    cfg = build_section(Word2VecConfig, read_config(paths.WORD2VEC), paths.WORD2VEC / "config.json", "word2vec")
    rates = oov_rates(load(paths.VECTORS), tokens.elements(), normalizer(cfg.lowercase, cfg.digits_to_zero))
    return f", OOV {rates['token_oov']:.1%} of tokens, {rates['type_oov']:.1%} of types"


def check_lines(data: DataConfig, cfg: PrepareConfig) -> list[str]:
    """The report's lines: each split's counts, then the corpus files."""
    from pipeline.stages.prepare import (
        SPLITS,
        locate,
        read_ner_splits,
        read_sentiment_splits,
    )

    inputs = locate(data)
    sums = checksums(data.root, inputs.files(), data.verify_checksums)
    lines = [f"data root {data.root}: {len(sums)} files" + (", checked against SHA256SUMS"
                                                             if data.verify_checksums and (data.root / "SHA256SUMS").exists() else "")]
    ner, info, _ = read_ner_splits(data, cfg, inputs.ner)
    lines.append(f"ner: {len(info['types'])} entity types {', '.join(info['types'])}; dev: {info['dev']}")
    for split, sentences in sorted(ner.items(), key=lambda item: SPLITS.index(item[0])):
        tokens = Counter(w for s in sentences for w in s.words)
        entities = sum(tag.startswith("B-") for s in sentences for tag in s.tags)
        scheme = f", read as {info['scheme'][split]}" if split in info["scheme"] else ""
        lines.append(f"  {split:5s} {len(sentences):,} sentences, {entities:,} entities{scheme}{_oov(tokens)}")
    sentiment, info, _ = read_sentiment_splits(data, cfg, inputs.sentiment)
    lines.append(f"sentiment: {len(info['labels'])} classes {', '.join(info['labels'])}; dev: {info['dev']}")
    for split, records in sentiment.items():
        labels, tokens = Counter(), Counter()
        for record in records:
            labels[record["label"]] += 1
            tokens.update(record["tokens"])
        shown = ", ".join(f"{label} {count:,}" for label, count in sorted(labels.items()))
        lines.append(f"  {split:5s} {sum(labels.values()):,} texts ({shown}){_oov(tokens)}")
    if "test" not in inputs.ner or "test" not in inputs.sentiment:
        lines.append("no test file for " + " and ".join(t for t, f in (("ner", inputs.ner), ("sentiment", inputs.sentiment))
                                                        if "test" not in f) + ": the run reports no test metrics for it")
    corpus = ", ".join(str(p) for p in inputs.corpus) or "none"
    lines.append(f"word2vec corpus: {corpus}" + (" + the training files' text" if data.corpus.labelled_train else ""))
    return lines


@data_app.command()
def check(params: Annotated[Path, typer.Option(help="The params file (its data.profile applies).")] = Path("params.yaml"),
          ) -> None:
    """Read every configured dataset and print counts, entity types or classes, tag schemes, dev's origin and OOV."""
    run(lambda: typer.echo("\n".join(check_lines(load_section(DataConfig, "data", params),
                                                 load_section(PrepareConfig, "prepare", params)))))
