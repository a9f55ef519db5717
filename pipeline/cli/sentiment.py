"""``w2vp sentiment``: classify texts with a trained model and run the lecture presets.

``predict`` reads one text a line (a file, or stdin with ``-``) and writes
one JSON object a line: ``{"text", "label", "probability"}``.
``evaluate FILE`` scores a model on labelled data (a prepared ``.jsonl``, or a
CSV/TSV with a header row): accuracy, macro-F1, per-class precision, recall
and F1, and the confusion matrix. The model is a directory or a registered
version, ``models:/w2v-sentiment@champion``.
``preset NAME`` trains ``configs/presets/NAME.yaml`` on the prepared splits
and scores it once on the test split.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, TextIO

import numpy as np
import typer

from pipeline import paths
from pipeline.atomic import atomic_open, write_json
from pipeline.cli.ner import Engine, Quantize
from pipeline.cli.textinput import text_lines
from pipeline.errors import DataError, MissingDataError
from pipeline.runner import run

sentiment_app = typer.Typer(help="Sentiment models: predict, evaluate, lecture presets.", no_args_is_help=True)
PRESETS = Path("configs/presets")
BATCH_LINES = 1000  # texts classified per call: bounded memory on long inputs, batched inference within
Example = tuple[int, str | list[str], object]  # (line, raw text or tokens, label) of one labelled example


@sentiment_app.command()
def predict(
    source: Annotated[Path, typer.Argument(help="Text file, one text a line; - reads stdin.")] = Path("-"),
    model_dir: Annotated[Path, typer.Option(help="A trained sentiment model directory.")] = paths.OUTPUTS / "sentiment" / "model",
    engine: Annotated[Engine, typer.Option(help="What runs the classifier: auto is numpy (ONNX Runtime with int8).")] = Engine.auto,
    quantize: Annotated[Quantize, typer.Option(help="int8: the recurrent weights as int8 (ONNX Runtime).")] = Quantize.none,
) -> None:
    """Classify texts; print one JSON line per text with its label and probability."""
    from pipeline.predict.sentiment import SentimentPredictor

    def go() -> None:
        predictor = SentimentPredictor.load(model_dir, engine.value, quantize.value)
        texts = [text for _number, text in text_lines(source)]
        for start in range(0, len(texts), BATCH_LINES):
            chunk = texts[start : start + BATCH_LINES]
            for text, prediction in zip(chunk, predictor.predict_texts(chunk)):
                typer.echo(json.dumps({"text": text, **asdict(prediction)}, ensure_ascii=False))

    run(go)


@sentiment_app.command()
def preset(
    name: Annotated[str, typer.Argument(help="s1, s2, s3_lstm, s3_gru or s4 (configs/presets/NAME.yaml).")],
    data_dir: Annotated[Path, typer.Option(help="Prepared sentiment splits.")] = paths.SENTIMENT_SPLITS,
    vectors: Annotated[Path, typer.Option(help="word2vec vectors (for presets that use them).")] = paths.VECTORS,
    out_dir: Annotated[Path | None, typer.Option(help="Where the model and metrics go [outputs/presets/NAME].")] = None,
) -> None:
    """Train a lecture preset, score it once on the test split, write ``OUT_DIR/metrics.json``."""
    from pipeline.evaluation.sentiment import score_model
    from pipeline.models.classifier import count_parameters
    from pipeline.predict.sentiment import SentimentPredictor
    from pipeline.tracking.logger import DvcLiveLogger
    from pipeline.training.sentiment_task import load_config_file, train_sentiment

    def go() -> None:
        cfg = load_config_file(PRESETS / f"{name}.yaml")
        target = out_dir or paths.OUTPUTS / "presets" / name
        logger = DvcLiveLogger(target / "dvclive")
        try:
            result = train_sentiment(cfg, data_dir, vectors, target, logger)
        finally:
            logger.close()
        scored = score_model(result.model_dir, data_dir / "test.jsonl")
        metrics = {k: v for k, v in scored.metrics().items() if k != "confusion_matrix"}
        metrics |= {"best_epoch": result.best_epoch, "dev_acc": result.best_score}
        metrics["parameters"] = count_parameters(SentimentPredictor.load(result.model_dir).model)
        write_json(target / "metrics.json", metrics)
        typer.echo(json.dumps({"preset": name, **metrics}))

    run(go)


def _examples(source: Path, text_column: str, label_column: str) -> Iterator[Example]:
    """``(line, tokens or text, label)``: a prepared split's tokens, else each text of a CSV/TSV/JSON-lines file,
    read by the same reader as ``prepare`` (:mod:`pipeline.data.labelled`)."""
    from pipeline.data.jsonl import numbered_objects
    from pipeline.data.labelled import Columns, detect_format, numbered_labelled

    if detect_format(source) == "jsonl" and "tokens" in next(numbered_objects(source), (0, {}))[1]:
        for line, record in numbered_objects(source):
            tokens = record.get("tokens")
            if not (isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)):
                raise DataError(source, line, "expected a 'tokens' list of strings, as in the prepared splits")
            yield line, tokens, record.get(label_column)
        return
    for line, review in numbered_labelled(source, Columns(text_column, label_column, setting="--text-column/--label-column")):
        yield line, review.text, review.label


def _labelled(source: Path, text_column: str, label_column: str, labels: list[str]) -> Iterator[Example]:
    """Each example, its label a string in ``labels``: a missing label, or one the model lacks, names its line."""
    if not source.is_file():
        raise MissingDataError(source, "expected a prepared .jsonl split or a .csv/.tsv with a header row")
    for line, text, raw in _examples(source, text_column, label_column):
        label = "" if raw is None or isinstance(raw, dict | list | bool) else str(raw).strip()
        if not label:
            raise DataError(source, line, f"expected a label in {label_column!r}, got {raw!r}")
        if label not in labels:
            raise DataError(source, line, f"label {label!r} is not one the model knows ({', '.join(labels)})")
        yield line, text, label


def load_predictor(model: str):
    """The classifier in a model directory or registered as ``models:/NAME@ALIAS``/``models:/NAME/VERSION``.

    A registered version is downloaded to a temporary directory, removed once
    the weights are loaded.
    """
    from pipeline.predict.sentiment import SentimentPredictor
    from pipeline.tracking.registry import model_directory

    with tempfile.TemporaryDirectory(prefix="w2vp-sentiment-") as tmp:
        return SentimentPredictor.load(model_directory(model, Path(tmp)))


def _tokens(predictor, texts: list[str | list[str]]) -> list[list[str]]:
    """Token lists kept as they are; raw texts (cleaned by the reader) tokenized as the prepared splits were."""
    raw = iter(predictor.tokenize([text for text in texts if isinstance(text, str)]))
    return [text if isinstance(text, list) else next(raw) for text in texts]


def _write_predictions(out: TextIO, chunk: list, probs: np.ndarray, labels: list[str]) -> None:
    """One JSON line per example: its line, its text (when the file had raw text), gold, predicted, probability."""
    for (line, text, gold), row in zip(chunk, probs, strict=True):
        best = int(row.argmax())
        record = {"line": line} | ({"text": text} if isinstance(text, str) else {})
        record |= {"gold": gold, "predicted": labels[best], "probability": float(row[best])}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _report(y_true: np.ndarray, probs: np.ndarray, labels: list[str]) -> str:
    """Accuracy, macro-F1, per-class precision/recall/F1/support (the model's label order) and the confusion matrix."""
    from pipeline.evaluation.sentiment import classification_metrics

    metrics = classification_metrics(y_true, probs, labels)
    scores = [metrics["per_class"][label] for label in labels]
    present = np.isin(range(len(labels)), np.concatenate([y_true, probs.argmax(axis=1)]))  # macro-F1 over these
    width = max(len(label) for label in [*labels, "class"]) + 2
    auc = f", ROC-AUC {metrics['roc_auc']:.3f}" if "roc_auc" in metrics else ""
    macro = 100 * np.array([s["f1"] for s in scores])[present].mean()
    summary = f"{metrics['n']:,} examples: accuracy {100 * metrics['accuracy']:.2f}, macro-F1 {macro:.2f}"
    lines = [summary + auc,
             f"{'class':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    lines += [f"{label:<{width}}{100 * s['precision']:>10.2f}{100 * s['recall']:>10.2f}{100 * s['f1']:>10.2f}"
              f"{s['support']:>10,}" for label, s in zip(labels, scores)]
    lines += ["confusion matrix (rows: gold, columns: predicted)", " " * width + "".join(f"{c:>10}" for c in labels)]
    lines += [f"{label:<{width}}" + "".join(f"{n:>10,}" for n in row)
              for label, row in zip(labels, metrics["confusion_matrix"])]
    return "\n".join(lines)


@sentiment_app.command()
def evaluate(
    source: Annotated[Path, typer.Argument(help="Labelled data: a prepared .jsonl (tokens, label) or a .csv/.tsv "
                                                "with a header row.")],
    model: Annotated[str, typer.Option(help="A model directory, or models:/NAME@ALIAS or models:/NAME/VERSION.")]
    = str(paths.SENTIMENT_MODEL),
    text_column: Annotated[str, typer.Option(help="Column (or JSON field) of the text, where there are no tokens.")]
    = "text",
    label_column: Annotated[str, typer.Option(help="Column (or JSON field) of the gold label.")] = "label",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write one JSON line per example: line, "
                                                                       "text, gold, predicted, probability.")] = None,
) -> None:
    """Classify labelled data; print accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix."""
    from spacy.util import minibatch

    def go() -> None:
        predictor = load_predictor(model)
        labels, index = predictor.labels, {label: i for i, label in enumerate(predictor.labels)}
        gold, probs = [], []
        with atomic_open(output) if output else nullcontext() as out:  # bad input leaves no partial file
            for chunk in minibatch(_labelled(source, text_column, label_column, labels), BATCH_LINES):
                chunk_probs = predictor.predict_proba(_tokens(predictor, [text for _, text, _ in chunk]))
                if out is not None:
                    _write_predictions(out, chunk, chunk_probs, labels)
                gold += [index[label] for _, _, label in chunk]
                probs.append(chunk_probs)
            if not gold:
                raise DataError(source, None, "no examples to evaluate")
        typer.echo(f"{source} ({model})")
        typer.echo(_report(np.array(gold, dtype=np.int64), np.concatenate(probs), labels))

    run(go)
