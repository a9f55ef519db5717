"""``w2vp ner``: tag raw text or a CoNLL file with a trained NER model, or score it on gold data.

``predict`` reads raw text (one text a line, a file or ``-`` for stdin,
tokenized with the project tokenizer) or a CoNLL file (first column = word;
its tag column is read but not used) and writes CoNLL (``word TAG`` lines,
IOB2) or JSON lines (``tokens``, ``tags``, ``entities``; raw text also gets
character offsets).

``evaluate`` tags a gold CoNLL file (any tag scheme, detected by default) or
a prepared ``.jsonl`` split and prints entity P/R/F1 per type and overall
(conlleval's scores); ``--output`` writes ``word gold predicted`` lines,
the layout conlleval reads. The model is a directory or a registered
version, ``models:/w2v-ner@champion``.
"""

from __future__ import annotations

import json
import sys
import tempfile
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

ner_app = typer.Typer(help="NER models: tag text or CoNLL files, score them on gold data.", no_args_is_help=True)
BATCH_SENTENCES = 1000  # sentences tagged per call: bounded memory on long inputs, batched inference within


class InputFormat(str, Enum):
    text = "text"
    conll = "conll"


class OutputFormat(str, Enum):
    conll = "conll"
    json = "json"


class Scheme(str, Enum):
    auto = "auto"
    iob1 = "iob1"
    iob2 = "iob2"
    bioes = "bioes"


class Engine(str, Enum):
    auto = "auto"
    torch = "torch"
    onnx = "onnx"
    numpy = "numpy"


class Quantize(str, Enum):
    none = "none"
    int8 = "int8"


def _write(out: TextIO, fmt: OutputFormat, record: dict) -> None:
    """One tagged sentence as CoNLL lines plus a blank line, or as one JSON line."""
    if fmt is OutputFormat.json:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    out.writelines(f"{token} {tag}\n" for token, tag in zip(record["tokens"], record["tags"]))
    out.write("\n")


def _tag_text(predictor, source: Path) -> Iterator[dict]:
    for number, text in text_lines(source):
        yield {"line": number, "text": text, **predictor.predict_text(text)}


def _tag_conll(predictor, source: Path, scheme: Scheme) -> Iterator[dict]:
    from spacy.util import minibatch

    from pipeline.data.conll import read_conll
    from pipeline.data.tags import spans_from_tags

    if str(source) == "-":
        raise DataError(source, None, "a CoNLL input must be a file (stdin is for raw text)")
    for chunk in minibatch(read_conll(source, scheme=scheme.value, target="iob2"), BATCH_SENTENCES):
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
    scheme: Annotated[Scheme, typer.Option(help="Tag scheme of a CoNLL input's tag column; auto detects it.")] = Scheme.auto,
    engine: Annotated[Engine, typer.Option(help="What runs the encoder: auto is numpy (ONNX Runtime with int8).")] = Engine.auto,
    quantize: Annotated[Quantize, typer.Option(help="int8: the LSTM's weights as int8 (ONNX Runtime).")] = Quantize.none,
) -> None:
    """Tag texts or CoNLL sentences; predicted tags are IOB2."""
    from pipeline.predict.ner import NerPredictor

    def go() -> None:
        predictor = NerPredictor.load(model_dir, engine=engine.value, quantize=quantize.value)
        records = _tag_text(predictor, source) if input_format is InputFormat.text else _tag_conll(predictor, source, scheme)
        with atomic_open(output) if output else nullcontext(sys.stdout) as out:  # bad input leaves no partial file
            for record in records:
                _write(out, output_format, record)

    run(go)


def load_predictor(model: str):
    """The tagger in a model directory or registered as ``models:/NAME@ALIAS``/``models:/NAME/VERSION``.

    A registered version is downloaded to a temporary directory, removed once
    the weights are loaded.
    """
    from pipeline.predict.ner import NerPredictor
    from pipeline.tracking.registry import model_directory

    with tempfile.TemporaryDirectory(prefix="w2vp-ner-") as tmp:
        return NerPredictor.load(model_directory(model, Path(tmp)))


Gold = tuple[list[str], list[str], int]  # (words, IOB2 gold tags, document number) of one sentence


def _gold(source: Path, scheme: Scheme, word_column: int, tag_column: int) -> Iterator[Gold]:
    """``(words, IOB2 gold tags, document)`` per sentence of a CoNLL file or a prepared ``.jsonl`` split."""
    if source.name.removesuffix(".gz").endswith(".jsonl"):
        from pipeline.data.splits import read_split_documents

        records, docs = read_split_documents(source)
        return ((tokens, tags, doc) for (tokens, tags), doc in zip(records, docs))
    from pipeline.data.conll import read_conll

    sentences = read_conll(source, scheme=scheme.value, target="iob2", word_column=word_column, tag_column=tag_column)
    return ((s.words, s.tags, s.doc) for s in sentences)


def _write_comparison(out: TextIO, words: list[str], gold: list[str], predicted: list[str]) -> None:
    """One sentence as ``word gold predicted`` lines and a blank line: the input conlleval reads."""
    out.writelines(" ".join(row) + "\n" for row in zip(words, gold, predicted, strict=True))
    out.write("\n")


@ner_app.command()
def evaluate(
    source: Annotated[Path, typer.Argument(help="Gold data: a CoNLL file (.gz allowed) or a prepared .jsonl split.")],
    model: Annotated[str, typer.Option(help="A model directory, or models:/NAME@ALIAS or models:/NAME/VERSION.")]
    = str(paths.NER_MODEL),
    scheme: Annotated[Scheme, typer.Option(help="Tag scheme of a CoNLL file's tags; auto detects it.")] = Scheme.auto,
    word_column: Annotated[int, typer.Option(help="CoNLL column of the words (a Python index).")] = 0,
    tag_column: Annotated[int, typer.Option(help="CoNLL column of the gold tags (a Python index, -1 the last).")] = -1,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write 'word gold predicted' lines (IOB2).")]
    = None,
) -> None:
    """Tag gold data and print entity precision, recall and F1 per type and overall (micro), as conlleval does."""
    from spacy.util import minibatch

    from pipeline.evaluation.ner import entity_counts, entity_scores, score_table

    def go() -> None:
        predictor = load_predictor(model)
        gold, predicted = [], []
        with atomic_open(output) if output else nullcontext() as out:  # bad input leaves no partial file
            for chunk in minibatch(_gold(source, scheme, word_column, tag_column), BATCH_SENTENCES):
                tagged = predictor.predict_tokens([words for words, _, _ in chunk], [doc for _, _, doc in chunk])
                for (words, tags, _doc), guess in zip(chunk, tagged, strict=True):
                    if out is not None:
                        _write_comparison(out, words, tags, guess)
                    gold.append(tags)
                    predicted.append(guess)
        typer.echo(f"{source} ({model})")
        typer.echo(score_table(entity_scores(gold, predicted), entity_counts(gold, predicted)))

    run(go)
