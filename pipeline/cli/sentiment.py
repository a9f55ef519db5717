"""``w2vp sentiment``: classify texts with a trained model and run the lecture presets.

``predict`` reads one text a line (a file, or stdin with ``-``) and writes
one JSON object a line: ``{"text", "label", "probability"}``.
``preset NAME`` trains ``configs/presets/NAME.yaml`` on the prepared splits
and scores it once on the test split.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from pipeline import paths
from pipeline.atomic import write_json
from pipeline.cli.textinput import text_lines
from pipeline.runner import run

sentiment_app = typer.Typer(help="Sentiment models: predict, lecture presets.", no_args_is_help=True)
PRESETS = Path("configs/presets")
BATCH_LINES = 1000  # texts classified per call: bounded memory on long inputs, batched inference within


@sentiment_app.command()
def predict(
    source: Annotated[Path, typer.Argument(help="Text file, one text a line; - reads stdin.")] = Path("-"),
    model_dir: Annotated[Path, typer.Option(help="A trained sentiment model directory.")] = paths.OUTPUTS / "sentiment" / "model",
) -> None:
    """Classify texts; print one JSON line per text with its label and probability."""
    from pipeline.predict.sentiment import SentimentPredictor

    def go() -> None:
        predictor = SentimentPredictor.load(model_dir)
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
