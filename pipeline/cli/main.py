"""``w2vp``: the project's command line, its root commands and global options.

Stages run through DVC (``dvc repro``); this CLI is for everything around
them: validating data files, checking the data root, tagging and scoring
text with trained models. User errors print one line
(``error: file:line: message``) and exit 1; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.data import data_app
from pipeline.cli.mlflow import mlflow_app
from pipeline.cli.ner import ner_app
from pipeline.cli.sentiment import sentiment_app
from pipeline.cli.spacy import spacy_app
from pipeline.cli.spark import spark_app
from pipeline.data.conll import detect_file_scheme, read_conll
from pipeline.data.imdb import read_imdb
from pipeline.data.tags import SchemeOrAuto
from pipeline.runner import DEBUG_ENV, LOG_ENV, run

app = typer.Typer(help="word2vec + BiLSTM/BiGRU NER and sentiment pipeline.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(ner_app, name="ner")
app.add_typer(sentiment_app, name="sentiment")
app.add_typer(spacy_app, name="spacy")
app.add_typer(mlflow_app, name="mlflow")
app.add_typer(spark_app, name="spark")


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for user errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Library INFO logs and every repaired tag.")] = False,
) -> None:
    """Global options."""
    if debug:
        os.environ[DEBUG_ENV] = "1"
    if verbose:
        os.environ[LOG_ENV] = "info"


@app.command()
def validate_conll(
    path: Path,
    scheme: Annotated[SchemeOrAuto, typer.Option(help="Tag scheme of the file; auto detects it from the tags.")] = "auto",
    reject_invalid: Annotated[bool, typer.Option(help="Reject, rather than repair, an I- tag after O.")] = False,
) -> None:
    """Read a CoNLL file fully; print the tag scheme used, sentence and token counts, or the first error as file:line."""

    def check() -> None:
        invalid = "reject" if reject_invalid else "repair"
        if scheme == "auto":
            detection = detect_file_scheme(path)
            used, how = detection.scheme, f"detected: {detection.reason}"
        else:
            used, how = scheme, "as given"
        typer.echo(f"{path}: tag scheme {used} ({how})")
        sentences = tokens = 0
        for sentence in read_conll(path, scheme=used, target="iob2", invalid=invalid):
            sentences, tokens = sentences + 1, tokens + len(sentence.words)
        typer.echo(f"{path}: {sentences} sentences, {tokens} tokens")

    run(check)


@app.command()
def validate_imdb(path: Path) -> None:
    """Read IMDB reviews (jsonl[.gz], aclImdb split directory or review,sentiment CSV) fully; print counts."""

    def check() -> None:
        counts: dict[str, int] = {}
        for review in read_imdb(path):
            counts[str(review.label)] = counts.get(str(review.label), 0) + 1
        typer.echo(f"{path}: " + ", ".join(f"{label}={n}" for label, n in sorted(counts.items())))

    run(check)


@app.command()
def summary() -> None:
    """One screen on the last run: each model's dev and test score beside the baseline, its registry state,
    the report and the next commands to try."""
    from pipeline.tracking.summary import summary_lines

    run(lambda: typer.echo("\n".join(summary_lines())))


if __name__ == "__main__":
    app()
