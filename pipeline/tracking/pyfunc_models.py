"""Trained models as MLflow pyfunc models, logged into the active run and registered as a new version.

The pyfunc wrappers hold no state until ``load_context`` loads our model
directory (safetensors weights + JSON config and vocabularies) from the
model's artifacts: the models are logged "from code" (``python_model`` is
a file path, see :mod:`pipeline.tracking.pyfunc_ner`), so nothing is pickled.
The ``pipeline`` package is copied into each model (``code_paths``): a
registered version keeps predicting with the code it was trained with.

Both take raw texts: a list of strings, or a DataFrame with one (e.g. ``text``) column:

* NER returns one row per entity: ``row`` (index of the input text),
  ``start``/``end`` (character offsets, end exclusive), ``label``, ``text``.
* Sentiment returns one row per text: ``label`` and its ``probability``.

Each version is tagged with its test metrics (``metric.<name>``) and key
hyper-parameters (``param.<name>``) so the registry can compare versions
without opening their runs.
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

import pipeline
from pipeline import paths
from pipeline.errors import PipelineError
from pipeline.model_dir import read_config
from pipeline.tracking.mlflow_logger import MlflowLogger, flatten
from pipeline.training.logger import MetricsLogger, NullLogger

MODEL_DIR_ARTIFACT = "model_dir"
TEXT_COLUMN = "text"
METRIC_TAG, PARAM_TAG = "metric.", "param."
ENTITY_COLUMNS = ["row", "start", "end", "label", "text", "score"]
NER_KEY_PARAMS = ("model.encoder", "model.embedding", "model.char_encoder", "model.decoder", "tag_scheme")
SENTIMENT_KEY_PARAMS = ("model.encoder", "model.embeddings", "model.hidden_sizes", "model.pooling", "target")
INPUT_SCHEMA = Schema([ColSpec("string")])  # unnamed: a list of texts and a one-column DataFrame both fit
NER_SIGNATURE = ModelSignature(
    inputs=INPUT_SCHEMA,
    outputs=Schema([ColSpec("long", "row"), ColSpec("long", "start"), ColSpec("long", "end"),
                    ColSpec("string", "label"), ColSpec("string", "text"), ColSpec("double", "score")]),
)
SENTIMENT_SIGNATURE = ModelSignature(
    inputs=INPUT_SCHEMA, outputs=Schema([ColSpec("string", "label"), ColSpec("double", "probability")])
)
NER_EXAMPLE = pd.DataFrame({TEXT_COLUMN: ["EU rejects German call to boycott British lamb ."]})
SENTIMENT_EXAMPLE = pd.DataFrame({TEXT_COLUMN: ["A moving film with a superb cast.", "Dull and far too long."]})
ENTRY_DIR = Path(__file__).parent


class RegistrationError(PipelineError):
    """A model cannot be registered as asked (tracking off, wrong logger)."""


def texts_of(model_input: pd.DataFrame) -> list[str]:
    """The raw texts of a pyfunc input, which MLflow's schema enforcement has made a one-column DataFrame."""
    return model_input.iloc[:, 0].tolist()


class NerModel(mlflow.pyfunc.PythonModel):
    """Raw texts → one row per entity with character offsets."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        from pipeline.predict.ner import NerPredictor

        self.predictor = NerPredictor.load(context.artifacts[MODEL_DIR_ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        rows = [
            {"row": row, "start": e["start_char"], "end": e["end_char"], "label": e["label"], "text": e["text"],
             "score": e["score"]}
            for row, text in enumerate(texts_of(model_input))
            for e in self.predictor.predict_text(text)["entities"]
        ]
        return pd.DataFrame(rows, columns=ENTITY_COLUMNS)


class SentimentModel(mlflow.pyfunc.PythonModel):
    """Raw texts → the predicted label and its probability, one row per text."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        from pipeline.predict.sentiment import SentimentPredictor

        self.predictor = SentimentPredictor.load(context.artifacts[MODEL_DIR_ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        predictions = self.predictor.predict_texts(texts_of(model_input))
        return pd.DataFrame({"label": [p.label for p in predictions], "probability": [p.probability for p in predictions]})


def project_requirements() -> list[str]:
    """The project's own runtime dependencies (no extras): what a serving environment must install.

    Passing them spares MLflow its requirement inference, which loads the
    model in a subprocess and guesses from the imported modules.
    """
    requires = importlib.metadata.requires("w2v-rnn-pipeline") or []
    return [r for r in requires if "extra ==" not in r]


def version_tags(model_dir: Path, metrics: Mapping, key_params: Iterable[str]) -> dict[str, str]:
    """``metric.*`` tags from the test metrics and ``param.*`` tags from the model's stored config."""
    config = flatten(read_config(model_dir))
    tags = {f"{METRIC_TAG}{name}": str(float(value)) for name, value in flatten(metrics).items()}
    tags |= {f"{PARAM_TAG}{key}": json.dumps(config[key]) if isinstance(config[key], list) else str(config[key])
             for key in key_params if key in config}
    return tags


def log_pyfunc_model(
    tracker: MetricsLogger,
    model_dir: Path,
    metrics: Mapping[str, float],
    registered_name: str,
    entry: str,
    signature: ModelSignature,
    example: pd.DataFrame,
    key_params: Iterable[str],
) -> ModelVersion | None:
    """Log ``model_dir`` as a pyfunc model in ``tracker``'s run, register it and tag the new version.

    Returns ``None`` when tracking is off for this run (``start_tracking``
    gave a :class:`NullLogger` and has already warned that nothing is recorded).
    """
    if isinstance(tracker, NullLogger):
        return None
    if not isinstance(tracker, MlflowLogger) or mlflow.active_run() is None:
        raise RegistrationError(f"registering {registered_name} needs the open MlflowLogger of this stage, "
                                f"not {type(tracker).__name__}")
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(ENTRY_DIR / entry),
        artifacts={MODEL_DIR_ARTIFACT: str(model_dir)},
        code_paths=[str(Path(pipeline.__file__).parent)],
        signature=signature,
        input_example=example,
        pip_requirements=project_requirements(),
        registered_model_name=registered_name,
    )
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    for key, value in version_tags(Path(model_dir), metrics, key_params).items():
        client.set_model_version_tag(registered_name, version, key, value)
    return client.get_model_version(registered_name, version)


def log_ner_model(tracker: MetricsLogger, model_dir: Path, metrics: Mapping[str, float],
                  registered_name: str = paths.NER_MODEL_NAME) -> ModelVersion | None:
    """Register a tagger directory (``NerPredictor.load`` must read it) tagged with its test ``metrics``."""
    return log_pyfunc_model(tracker, model_dir, metrics, registered_name, "pyfunc_ner.py", NER_SIGNATURE,
                            NER_EXAMPLE, NER_KEY_PARAMS)


def log_sentiment_model(tracker: MetricsLogger, model_dir: Path, metrics: Mapping[str, float],
                        registered_name: str = paths.SENTIMENT_MODEL_NAME) -> ModelVersion | None:
    """Register a classifier directory (``SentimentPredictor.load`` must read it) tagged with its test ``metrics``."""
    return log_pyfunc_model(tracker, model_dir, metrics, registered_name, "pyfunc_sentiment.py",
                            SENTIMENT_SIGNATURE, SENTIMENT_EXAMPLE, SENTIMENT_KEY_PARAMS)
