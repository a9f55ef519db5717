"""Trained models as MLflow pyfunc models, logged into a stage's run and registered as a new version.

The pyfunc wrappers hold no state until ``load_context`` loads our model
directory (safetensors weights + JSON config and vocabularies) from the
model's artifacts: the models are logged "from code" (``python_model`` is
a file path, see :mod:`pipeline.tracking.pyfunc_ner`), so nothing is pickled.
The ``pipeline`` package is copied into each model (``code_paths``): a
registered version keeps predicting with the code it was trained with.

Both take raw texts: a list of strings, or a DataFrame with one (e.g. ``text``) column:

* NER returns one row per entity: ``row`` (index of the input text),
  ``start``/``end`` (character offsets, end exclusive), ``label``, ``text``.
* Sentiment returns one row per text: ``label`` and its ``probability``,
  then each class's probability as ``probability_<class>`` (the model's
  class order: ``probability_neg``, ``probability_pos``).

``predict`` holds every call to :class:`Limits` (at most ``max_texts`` texts
of at most ``max_text_chars`` characters, each a string, at least one): the
model config logged with each version carries the defaults, and
``mlflow.pyfunc.load_model(uri, model_config={...})`` changes them (and
``engine``/``quantize``, as the spaCy components take them: ``{"quantize": "int8"}``). A REST
server built by :func:`serving_app` (``w2vp mlflow serve``) checks the JSON
request itself first (:class:`PayloadGuard`), because MLflow's scoring
server turns numbers, ``null`` and nested lists into strings before the
model sees them.

Each version gets a one-line description with its architecture and key
figures (``BiLSTM-CRF tagger, char CNN, fine-tuned word2vec 100d, dev F1
91.75, test F1 86.07``) and a handful of tags: the git commit, the data
profile and the SHA-256 of its task's raw data files. Its metrics, per type
included, and params stay on its run, where MLflow's UI compares them.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.types import ColSpec, Schema

import pipeline
from pipeline import paths
from pipeline.data.splits import prepared_files
from pipeline.errors import ConfigError, PipelineError
from pipeline.model_dir import LABELS, read_config, read_json
from pipeline.tracking.mlflow_logger import (
    DATA_TAG,
    GIT_TAG,
    PROFILE_TAG,
    MlflowLogger,
    flatten,
)
from pipeline.training.logger import MetricsLogger, NullLogger

MODEL_DIR_ARTIFACT = "model_dir"
TEXT_COLUMN = "text"
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
)  # the columns every classifier returns first; then one per class (sentiment_signature)
CLASS_COLUMN = "probability_{}"  # each class's probability, e.g. probability_pos
NER_EXAMPLE = pd.DataFrame({TEXT_COLUMN: ["EU rejects German call to boycott British lamb ."]})
SENTIMENT_EXAMPLE = pd.DataFrame({TEXT_COLUMN: ["A moving film with a superb cast.", "Dull and far too long."]})
ENTRY_DIR = Path(__file__).parent

MAX_TEXTS = 1000  # texts in one predict call (one request); Spark scoring lifts it, its batches are Spark's
MAX_TEXT_CHARS = 100_000  # characters of one text; the longest IMDB review has 13,704
MAX_REQUEST_BYTES = 10 * 2**20  # of one request body, checked by the REST server before it reads JSON


class RegistrationError(PipelineError):
    """A model cannot be registered as asked (tracking off, wrong logger)."""


class InvalidTextsError(MlflowException, PipelineError):
    """The texts given to ``predict`` break the model's input contract: says what was expected.

    An :class:`MlflowException` with ``INVALID_PARAMETER_VALUE``, so MLflow's
    scoring server answers it with HTTP 400 and this message.
    """

    def __init__(self, message: str, limit: bool = False) -> None:
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)
        self.limit = limit  # True: a size limit was exceeded (the REST server answers 413)


@dataclass(frozen=True)
class Limits:
    """Most texts per call and most characters per text; ``None`` lifts a limit."""

    max_texts: int | None = MAX_TEXTS
    max_text_chars: int | None = MAX_TEXT_CHARS

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> Limits:
        """The limits in a pyfunc model config (missing keys keep their defaults); a bad value names its key."""
        values = {}
        for key in ("max_texts", "max_text_chars"):
            value = (config or {}).get(key, getattr(cls, key))
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError("model config", key, f"expected a positive integer or null, got {value!r}")
            values[key] = value
        return cls(**values)

    def as_config(self) -> dict[str, int | None]:
        return asdict(self)


def describe_value(value: object) -> str:
    """How a non-text input reads in an error message: ``null``, ``a number (3)``, ``a list``."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({json.dumps(value)})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


def check_texts(texts: list, limits: Limits) -> None:
    """Raise :class:`InvalidTextsError` unless ``texts`` holds 1 to ``max_texts`` strings, none over
    ``max_text_chars``."""
    if not texts:
        raise InvalidTextsError("expected at least one text, got none")
    if limits.max_texts is not None and len(texts) > limits.max_texts:
        raise InvalidTextsError(f"expected at most {limits.max_texts} texts in one request (max_texts), "
                                f"got {len(texts)}", limit=True)
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidTextsError(f"expected every input to be a string; input {index} is {describe_value(text)}")
        if limits.max_text_chars is not None and len(text) > limits.max_text_chars:
            raise InvalidTextsError(f"expected texts of at most {limits.max_text_chars} characters (max_text_chars); "
                                    f"input {index} has {len(text)}", limit=True)


def texts_of(model_input: pd.DataFrame) -> list:
    """The raw texts of a pyfunc input, which MLflow's schema enforcement has made a one-column DataFrame."""
    return model_input.iloc[:, 0].tolist()


class NerModel(mlflow.pyfunc.PythonModel):
    """Raw texts → one row per entity with character offsets."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        from pipeline.predict.ner import NerPredictor

        config = context.model_config or {}
        self.predictor = NerPredictor.load(context.artifacts[MODEL_DIR_ARTIFACT], engine=config.get("engine", "auto"),
                                           quantize=config.get("quantize", "none"))
        self.limits = Limits.from_config(context.model_config)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        texts = texts_of(model_input)
        check_texts(texts, self.limits)
        rows = [
            {"row": row, "start": e["start_char"], "end": e["end_char"], "label": e["label"], "text": e["text"],
             "score": e["score"]}
            for row, text in enumerate(texts)
            for e in self.predictor.predict_text(text)["entities"]
        ]
        return pd.DataFrame(rows, columns=ENTITY_COLUMNS)


class SentimentModel(mlflow.pyfunc.PythonModel):
    """Raw texts → the predicted label and its probability, one row per text."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        from pipeline.predict.sentiment import SentimentPredictor

        config = context.model_config or {}
        self.predictor = SentimentPredictor.load(context.artifacts[MODEL_DIR_ARTIFACT], engine=config.get("engine", "auto"),
                                                 quantize=config.get("quantize", "none"))
        self.limits = Limits.from_config(context.model_config)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        texts = texts_of(model_input)
        check_texts(texts, self.limits)
        probs = self.predictor.predict_proba(self.predictor.tokenize(texts))
        return sentiment_frame(probs, self.predictor.labels)


def sentiment_frame(probs: np.ndarray, labels: list[str]) -> pd.DataFrame:
    """The sentiment output of ``(N, C)`` probabilities: label, its probability, then one column per class."""
    best = probs.argmax(axis=1)
    frame = pd.DataFrame({"label": [labels[i] for i in best], "probability": probs[np.arange(len(best)), best]})
    for column, label in enumerate(labels):
        frame[CLASS_COLUMN.format(label)] = probs[:, column]
    return frame.astype({"probability": "float64", **{CLASS_COLUMN.format(label): "float64" for label in labels}})


def sentiment_signature(model_dir: Path) -> ModelSignature:
    """:data:`SENTIMENT_SIGNATURE` plus one ``probability_<class>`` column per class of the model in ``model_dir``."""
    labels = read_json(Path(model_dir) / LABELS)
    columns = [*SENTIMENT_SIGNATURE.outputs.inputs, *(ColSpec("double", CLASS_COLUMN.format(label)) for label in labels)]
    return ModelSignature(inputs=INPUT_SCHEMA, outputs=Schema(columns))


# --- the REST server: MLflow's scoring app behind a check of the JSON request -------------------------------------

SERVE_MODEL_ENV = "W2VP_SERVE_MODEL"  # local directory of the downloaded model, for each server worker
SERVE_URI_ENV = "W2VP_SERVE_URI"  # models:/NAME/VERSION that directory came from
SERVE_LIMITS_ENV = "W2VP_SERVE_LIMITS"  # JSON: max_texts, max_text_chars, max_request_bytes
MODEL_URI_HEADER = b"x-model-uri"
JSON_INPUT_KEYS = ("inputs", "instances", "dataframe_split", "dataframe_records")
EXPECTED = 'expected a JSON object {"inputs": ["a text", ...]} with 1 or more strings'


class PayloadError(Exception):
    """A request the REST server refuses: its HTTP status and the message saying what was expected."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def payload_texts(payload: object) -> list:
    """The inputs of a decoded JSON request in one of MLflow's four layouts, not yet checked to be strings."""
    if not isinstance(payload, dict):
        raise PayloadError(400, f"{EXPECTED}; got a JSON {type(payload).__name__}")
    keys = [key for key in payload if key in JSON_INPUT_KEYS]
    if len(keys) != 1 or len(payload) != 1:
        raise PayloadError(400, f"{EXPECTED} (or one of the keys {', '.join(JSON_INPUT_KEYS[1:])}); "
                                f"got the keys {sorted(payload)}")
    key, value = keys[0], payload[keys[0]]
    if key in ("inputs", "instances"):
        if not isinstance(value, list):
            raise PayloadError(400, f'{EXPECTED}; "{key}" is {describe_value(value)}, not a list')
        return value
    if key == "dataframe_split":
        columns = value.get("columns") if isinstance(value, dict) else None
        rows = value.get("data") if isinstance(value, dict) else None
        if not (isinstance(columns, list) and len(columns) == 1 and isinstance(rows, list)
                and all(isinstance(row, list) and len(row) == 1 for row in rows)):
            raise PayloadError(400, 'expected "dataframe_split" to be {"columns": ["text"], "data": [["a text"], ...]}')
        return [row[0] for row in rows]
    if not (isinstance(value, list) and all(isinstance(row, dict) and len(row) == 1 for row in value)
            and len({next(iter(row)) for row in value}) <= 1):
        raise PayloadError(400, 'expected "dataframe_records" to be [{"text": "a text"}, ...] with one key')
    return [next(iter(row.values())) for row in value]


def check_payload(body: bytes, limits: Limits) -> None:
    """Raise :class:`PayloadError` unless ``body`` is a JSON request of texts within ``limits``."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(400, f"the request body is not valid UTF-8 (byte {exc.start}); {EXPECTED}") from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(400, f"the request body is not valid JSON ({exc.msg} at line {exc.lineno} "
                                f"column {exc.colno}); {EXPECTED}") from None
    try:
        check_texts(payload_texts(payload), limits)
    except InvalidTextsError as exc:
        raise PayloadError(413 if exc.limit else 400, exc.message) from None


Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class PayloadGuard:
    """ASGI middleware before MLflow's scoring app: refuses bad ``/invocations`` requests with a 4xx and a message.

    JSON bodies are checked whole (:func:`check_payload`); CSV and Parquet
    bodies go on to MLflow, whose parser and the model's ``predict`` check
    them; a missing content type is refused (MLflow's app fails on it with a
    500). Every response carries ``x-model-uri: models:/NAME/VERSION``, the
    version this server answers with.
    """

    def __init__(self, app: Callable, limits: Limits, max_request_bytes: int, model_uri: str) -> None:
        self.app, self.limits, self.max_request_bytes = app, limits, max_request_bytes
        self.model_uri = model_uri.encode("latin-1")

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_tagged(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = message | {"headers": [*message.get("headers", []), (MODEL_URI_HEADER, self.model_uri)]}
            await send(message)

        if scope["method"] != "POST" or scope["path"] != "/invocations":
            await self.app(scope, receive, send_tagged)
            return
        headers = dict(scope["headers"])
        mime = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        try:
            if not mime:
                raise PayloadError(415, "expected a Content-Type header: application/json (or text/csv, "
                                        "application/vnd.apache.parquet)")
            body = await self.read_body(headers, receive)
            if mime == "application/json":
                check_payload(body, self.limits)
        except PayloadError as refused:
            await self.refuse(send_tagged, refused)
            return
        await self.app(scope, self.replay(body, receive), send_tagged)

    async def read_body(self, headers: dict, receive: Receive) -> bytes:
        """The whole request body; a 413 when it exceeds ``max_request_bytes``.

        A body too large is still read to its end, without being kept: a
        client that sends the whole body before it reads the answer (most do)
        would otherwise see a broken connection instead of the 413.
        """
        declared = headers.get(b"content-length", b"").decode("latin-1")
        too_large = declared.isdigit() and int(declared) > self.max_request_bytes
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise PayloadError(400, "the client disconnected before the request body ended")
            chunk = message.get("body", b"")
            size += len(chunk)
            too_large = too_large or size > self.max_request_bytes
            if not too_large:
                chunks.append(chunk)
            more = message.get("more_body", False)
        if too_large:
            raise PayloadError(413, f"expected a request body of at most {self.max_request_bytes} bytes "
                                    f"(max_request_bytes), got {size}")
        return b"".join(chunks)

    @staticmethod
    def replay(body: bytes, receive: Receive) -> Receive:
        """A ``receive`` that gives the app the body already read, then waits on the client as usual."""
        pending = [{"type": "http.request", "body": body, "more_body": False}]

        async def again() -> dict:
            return pending.pop() if pending else await receive()

        return again

    @staticmethod
    async def refuse(send: Send, refused: PayloadError) -> None:
        code = "REQUEST_LIMIT_EXCEEDED" if refused.status == 413 else "BAD_REQUEST"
        body = json.dumps({"error_code": code, "message": str(refused)}).encode("utf-8")
        await send({"type": "http.response.start", "status": refused.status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def serving_limits() -> tuple[Limits, int]:
    """The limits ``w2vp mlflow serve`` passed to its workers (:data:`SERVE_LIMITS_ENV`), else the defaults."""
    config = json.loads(os.environ.get(SERVE_LIMITS_ENV, "{}"))
    return Limits.from_config(config), int(config.get("max_request_bytes", MAX_REQUEST_BYTES))


def serving_app() -> PayloadGuard:
    """The ASGI app of one server worker (a uvicorn ``--factory``): MLflow's scoring app for the model in
    :data:`SERVE_MODEL_ENV`, with its limits, behind :class:`PayloadGuard`."""
    from mlflow.pyfunc import scoring_server

    limits, max_request_bytes = serving_limits()
    model = mlflow.pyfunc.load_model(os.environ[SERVE_MODEL_ENV], model_config=limits.as_config())
    return PayloadGuard(scoring_server.init(model), limits, max_request_bytes, os.environ.get(SERVE_URI_ENV, ""))


# --- registration ---------------------------------------------------------------------------------------------------


def project_requirements() -> list[str]:
    """The project's own runtime dependencies (no extras): what a serving environment must install.

    Passing them spares MLflow its requirement inference, which loads the
    model in a subprocess and guesses from the imported modules.
    """
    requires = importlib.metadata.requires("w2v-rnn-pipeline") or []
    return [r for r in requires if "extra ==" not in r]


def _recurrent(encoder: str, bidirectional: bool, layers: int = 1) -> str:
    """``BiLSTM``, ``2-layer GRU``, …"""
    name = ("Bi" if bidirectional else "") + encoder.upper()
    return f"{layers}-layer {name}" if layers > 1 else name


def _embedding(kind: str, dim: object) -> str:
    return {"finetune": f"fine-tuned word2vec {dim}d", "frozen": f"frozen word2vec {dim}d"}.get(
        kind, f"random embeddings {dim}d")


def _figures(metrics: Mapping, names: Iterable[tuple[str, str, str]]) -> list[str]:
    """``dev F1 91.75`` for each ``(metric, label, format)`` that ``metrics`` has."""
    return [f"{label} {format(float(metrics[key]) * (100 if fmt.endswith('%') else 1), fmt.rstrip('%'))}"
            + ("%" if fmt.endswith("%") else "") for key, label, fmt in names if key in metrics]


def describe_ner(config: Mapping, metrics: Mapping) -> str:
    """``BiLSTM-CRF tagger, char CNN, fine-tuned word2vec 100d, dev F1 91.75, test F1 86.07``."""
    model = config.get("model", {})
    parts = [f"{_recurrent(model.get('encoder', '?'), model.get('bidirectional', True), model.get('layers', 1))}"
             f"-{model.get('decoder', '?').upper().replace('SOFTMAX', 'softmax')} tagger"]
    if model.get("char_encoder", "none") != "none":
        parts.append(f"char {model['char_encoder'].upper()}")
    parts.append(_embedding(model.get("embedding", "?"), model.get("word_dim", "?")))
    if model.get("doc_context"):
        parts.append("document context")
    return ", ".join(parts + _figures(metrics, [("dev_f1", "dev F1", ".2f"), ("test_f1", "test F1", ".2f")]))


def describe_sentiment(config: Mapping, metrics: Mapping) -> str:
    """``BiLSTM classifier, 128 units, max+mean pooling, fine-tuned word2vec 100d, dev accuracy 87.20%, …``."""
    model = config.get("model", {})
    hidden = model.get("hidden_sizes", ["?"])
    parts = [f"{_recurrent(model.get('encoder', '?'), model.get('bidirectional', True), len(hidden))} classifier",
             f"{'-'.join(map(str, hidden))} units", f"{'+'.join(model.get('pooling', ['?']))} pooling",
             _embedding(model.get("embeddings", "?"), model.get("embedding_dim", "?"))]
    figures = [("dev_accuracy", "dev accuracy", ".2f%"), ("test_accuracy", "test accuracy", ".2f%"),
               ("test_roc_auc", "ROC-AUC", ".3f")]
    return ", ".join(parts + _figures(metrics, figures))


def version_tags(run_tags: Mapping[str, str], data_files: Iterable[str]) -> dict[str, str]:
    """The handful of tags a version carries: git commit, data profile, and the checksums of ``data_files``."""
    wanted = {GIT_TAG, PROFILE_TAG} | {DATA_TAG + name for name in data_files}
    return {key: value for key, value in run_tags.items() if key in wanted}


@dataclass(frozen=True)
class ModelKind:
    """What differs between registering the tagger and the classifier."""

    entry: str
    signature: Callable[[Path], ModelSignature]  # of a model directory
    example: pd.DataFrame
    key_params: tuple[str, ...]
    task: str  # the dataset.json section whose files' checksums tag a version
    describe: Callable[[Mapping, Mapping], str]


NER = ModelKind("pyfunc_ner.py", lambda _: NER_SIGNATURE, NER_EXAMPLE, NER_KEY_PARAMS, "ner", describe_ner)
SENTIMENT = ModelKind("pyfunc_sentiment.py", sentiment_signature, SENTIMENT_EXAMPLE, SENTIMENT_KEY_PARAMS,
                      "sentiment", describe_sentiment)


def log_pyfunc_model(tracker: MetricsLogger, model_dir: Path, metrics: Mapping[str, float], registered_name: str,
                     kind: ModelKind) -> ModelVersion | None:
    """Log ``model_dir`` as a pyfunc model in ``tracker``'s run, register it, describe and tag the new version.

    The key params go on the run too (a registry comparison reads them
    there). Returns ``None`` when tracking is off for this run
    (``start_tracking`` gave a :class:`NullLogger` and has already warned that
    nothing is recorded).
    """
    if isinstance(tracker, NullLogger):
        return None
    if not isinstance(tracker, MlflowLogger):
        raise RegistrationError(f"registering {registered_name} needs the open MlflowLogger of this stage, "
                                f"not {type(tracker).__name__}")
    config = read_config(Path(model_dir))
    flat = flatten(config)
    tracker.log_params({key: flat[key] for key in kind.key_params if key in flat})
    tracker.sync()  # the run's metrics and params are in the store before the version points at them
    with tracker.active():
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(ENTRY_DIR / kind.entry),
            artifacts={MODEL_DIR_ARTIFACT: str(model_dir)},
            code_paths=[str(Path(pipeline.__file__).parent)],
            signature=kind.signature(Path(model_dir)),
            input_example=kind.example,
            pip_requirements=project_requirements(),
            model_config=Limits().as_config(),
            registered_model_name=registered_name,
        )
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    client.update_model_version(registered_name, version, description=kind.describe(config, metrics))
    for key, value in version_tags(tracker.tags, prepared_files(kind.task)).items():
        client.set_model_version_tag(registered_name, version, key, value)
    return client.get_model_version(registered_name, version)


def log_ner_model(tracker: MetricsLogger, model_dir: Path, metrics: Mapping[str, float],
                  registered_name: str = paths.NER_MODEL_NAME) -> ModelVersion | None:
    """Register a tagger directory (``NerPredictor.load`` must read it), described with its ``metrics``."""
    return log_pyfunc_model(tracker, model_dir, metrics, registered_name, NER)


def log_sentiment_model(tracker: MetricsLogger, model_dir: Path, metrics: Mapping[str, float],
                        registered_name: str = paths.SENTIMENT_MODEL_NAME) -> ModelVersion | None:
    """Register a classifier directory (``SentimentPredictor.load`` must read it), described with its ``metrics``."""
    return log_pyfunc_model(tracker, model_dir, metrics, registered_name, SENTIMENT)
