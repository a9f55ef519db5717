"""``w2vp ner``: tag raw text or a CoNLL file with a trained NER model.

``predict`` reads raw text (one text a line, a file or ``-`` for stdin,
tokenized with the project tokenizer) or a CoNLL file (first column = word;
its tag column is read but not used) and writes CoNLL (``word TAG`` lines,
IOB2) or JSON lines (``tokens``, ``tags``, ``entities``; raw text also gets
character offsets).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import nullcontext
from enum import Enum
from pathlib import Path
from typing import Annotated, TextIO

import typer

from pipeline import paths
from pipeline.atomic import atomic_open
from pipeline.cli.textinput import text_lines
from pipeline.errors import DataError
from pipeline.runner import run

ner_app = typer.Typer(help="NER models: tag text or CoNLL files.", no_args_is_help=True)
BATCH_SENTENCES = 1000  # sentences tagged per call: bounded memory on long inputs, batched inference within


class InputFormat(str, Enum):
    text = "text"
    conll = "conll"


class OutputFormat(str, Enum):
    conll = "conll"
    json = "json"


class Scheme(str, Enum):
    iob1 = "iob1"
    iob2 = "iob2"
    bioes = "bioes"


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write(out: TextIO, fmt: OutputFormat, record: dict) -> None:
    """One tagged sentence as CoNLL lines plus a blank line, or as one JSON line."""
    if fmt is OutputFormat.json:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    for token, tag in zip(record["tokens"], record["tags"]):
        out.write(f"{token} {tag}\n")
    out.write("\n")


def _tag_text(predictor, source: Path) -> Iterator[dict]:
    for number, text in text_lines(source):
        yield {"line": number, "text": text, **predictor.predict_text(text)}


def _tag_conll(predictor, source: Path, scheme: Scheme) -> Iterator[dict]:
    from pipeline.data.conll import read_conll
    from pipeline.data.tags import spans_from_tags

    if str(source) == "-":
        raise DataError(source, None, "a CoNLL input must be a file (stdin is for raw text)")
    for chunk in _chunks(read_conll(source, scheme=scheme.value, target="iob2"), BATCH_SENTENCES):
        for sentence, tags in zip(chunk, predictor.predict_tokens([s.words for s in chunk], [s.doc for s in chunk])):
            entities = [{"text": " ".join(sentence.words[s:e]), "label": label, "start": s, "end": e}
                        for s, e, label in spans_from_tags(tags, "iob2")]
            yield {"line": sentence.line, "tokens": sentence.words, "tags": tags, "entities": entities}


@ner_app.command()
def predict(
    source: Annotated[Path, typer.Argument(help="Input file; - reads raw text from stdin.")] = Path("-"),
    model_dir: Annotated[Path, typer.Option(help="A trained NER model directory.")] = paths.OUTPUTS / "ner" / "model",
    input_format: Annotated[InputFormat, typer.Option("--input-format", "-i", help="Raw text (one text a line) or CoNLL.")] = InputFormat.text,
    output_format: Annotated[OutputFormat, typer.Option("--output-format", "-f", help="CoNLL or JSON lines.")] = OutputFormat.json,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output file [stdout].")] = None,
    scheme: Annotated[Scheme, typer.Option(help="Tag scheme of a CoNLL input's tag column.")] = Scheme.iob2,
) -> None:
    """Tag texts or CoNLL sentences; predicted tags are IOB2."""
    from pipeline.predict.ner import NerPredictor

    def go() -> None:
        predictor = NerPredictor.load(model_dir)
        records = _tag_text(predictor, source) if input_format is InputFormat.text else _tag_conll(predictor, source, scheme)
        with atomic_open(output) if output else nullcontext(sys.stdout) as out:  # bad input leaves no partial file
            for record in records:
                _write(out, output_format, record)

    run(go)
