"""Batch scoring on Spark: the text column of a Parquet/CSV/JSONL collection scored by a registered model.

    w2vp spark score reviews.jsonl scored.parquet --model-uri models:/w2v-sentiment@champion

The model's output signature says which kind it is. Sentiment goes through
``mlflow.pyfunc.spark_udf``: one ``label``/``probability`` struct per text,
written as the columns ``<prefix>label`` and ``<prefix>probability``.
The NER pyfunc returns one row per *entity* (its REST contract), which
``spark_udf`` cannot take: it needs exactly one output row per input row.
So NER runs the same registered model, loaded with ``mlflow.pyfunc.load_model``
on each worker, in a pandas UDF that gathers each text's entities into one
``<prefix>entities`` column of ``array<struct<start, end, label, text, score>>``
(a JSON string in CSV, which has no nested types).

Rows that cannot be scored do not fail the job: a null, empty (or
whitespace-only) or non-string text, or one over ``max_text_chars``
characters, gets null predictions and says why in ``<prefix>error``
(null for the rows scored). In JSON input, whose columns Spark types by
inference (a column of strings and numbers becomes strings), the text column
is read as a VARIANT where pyspark has it (4.0 on), so a number or a list
among the texts is told apart from a string.

Both run the model in this Python environment (``env_manager="local"``):
executors need the project installed, as the driver has it. A ``@alias``
URI is resolved to its version once, so every partition uses the same
version even if the alias moves during the job. The output is a Spark
dataset: a directory named OUTPUT holding one part file per partition.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from pipeline.errors import DataError, MissingDataError, PipelineError
from pipeline.scale import DEFAULT_MASTER, DEFAULT_PREFIX
from pipeline.scale.session import is_remote, spark_session

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "json", ".json": "json"}
GZIP = ".gz"
READ_OPTIONS = {"csv": {"header": "true", "multiLine": "true", "escape": '"'}}  # RFC 4180 quoting, as pandas writes
WRITE_OPTIONS = {"csv": {"header": "true", "escape": '"'}}
SENTIMENT_TYPE = "struct<label:string,probability:double>"
ENTITIES_TYPE = "array<struct<start:long,end:long,label:string,text:string,score:double>>"
OUTPUT_COLUMNS = {"sentiment": ("label", "probability"), "ner": ("entities",)}
ERROR_COLUMN = "error"  # why a row was not scored; beside the prediction columns, with the same prefix
NULL_TEXT, EMPTY_TEXT = "null text", "empty text"
# Spark, not the model, sizes the batches a pandas UDF sees (up to 10,000 rows): no count limit on the workers.
SPARK_MODEL_CONFIG = {"max_texts": None}
MODEL_INPUT = "__w2vp_text"  # the texts the model gets, while the job runs
_ALIAS_URI = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/]+)$")


class ModelUriError(PipelineError):
    """The model URI names no model, or one that is neither this project's NER nor its sentiment model."""


def table_format(path: str) -> str:
    """Spark's data source for ``path``, from its name (a file or a Spark dataset directory); ``.gz`` is allowed."""
    name = path.rstrip("/").lower().removesuffix(GZIP)
    for suffix, fmt in FORMATS.items():
        if name.endswith(suffix):
            return fmt
    raise DataError(path, None, f"unknown table format: the name must end in {', '.join(FORMATS)} "
                                f"(optionally {GZIP} for CSV and JSON)")


def check_paths(input_path: str, output_path: str, overwrite: bool) -> None:
    """Refuse bad paths before a JVM starts: unknown formats, a missing input, an output in the way."""
    table_format(input_path)
    table_format(output_path)
    if not is_remote(input_path) and not Path(input_path).exists():
        raise MissingDataError(input_path, "expected a Parquet, CSV or JSONL file, or a Spark dataset directory")
    if not overwrite and not is_remote(output_path) and Path(output_path).exists():
        raise DataError(output_path, None, "already exists: pass --overwrite to replace it")


def pinned_uri(model_uri: str) -> str:
    """``models:/NAME@ALIAS`` as ``models:/NAME/VERSION`` (other URIs unchanged): one version for the whole job."""
    match = _ALIAS_URI.match(model_uri)
    if match is None:
        return model_uri
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        version = MlflowClient().get_model_version_by_alias(match["name"], match["alias"]).version
    except MlflowException as exc:
        raise ModelUriError(f"{model_uri}: {exc.message}") from None
    return f"models:/{match['name']}/{version}"


def model_kind(model_uri: str) -> str:
    """``ner`` or ``sentiment``, from the output columns of the model's signature."""
    from mlflow.exceptions import MlflowException
    from mlflow.models import get_model_info

    from pipeline.tracking.pyfunc_models import NER_SIGNATURE, SENTIMENT_SIGNATURE

    try:
        signature = get_model_info(model_uri).signature
    except MlflowException as exc:
        raise ModelUriError(f"{model_uri}: {exc.message}") from None
    outputs = signature.outputs.input_names() if signature and signature.outputs else []
    for kind, known in (("ner", NER_SIGNATURE), ("sentiment", SENTIMENT_SIGNATURE)):
        expected = known.outputs.input_names()
        if outputs[: len(expected)] == expected:  # a classifier adds one probability column per class
            return kind
    raise ModelUriError(f"{model_uri}: not a w2vp NER or sentiment model (its output columns are {outputs})")


def variant_type():
    """pyspark's VariantType (4.0 on), or None."""
    try:
        from pyspark.sql.types import VariantType
    except ImportError:
        return None
    return VariantType


def read_table(spark: SparkSession, path: str, text: str | None = None) -> DataFrame:
    """The collection at ``path`` (format from its name; CSV has a header row).

    For JSON, column ``text`` is read as a VARIANT (where pyspark has it),
    which keeps each value's own JSON type.
    """
    fmt = table_format(path)
    reader = spark.read.format(fmt).options(**READ_OPTIONS.get(fmt, {}))
    df = reader.load(path)
    variant = variant_type()
    if fmt != "json" or variant is None or text not in df.columns:
        return df
    from pyspark.sql.types import StructField, StructType

    schema = StructType([StructField(f.name, variant() if f.name == text else f.dataType, True) for f in df.schema])
    return reader.schema(schema).load(path)


def check_text(df: DataFrame, path: str, name: str, max_chars: int) -> tuple[Column, Column, Column]:
    """Column ``name`` as strings (null where not a string), why a row cannot be scored (null where it can), and
    the column as it is written back (a VARIANT becomes its string, or its JSON for other values)."""
    from pyspark.sql import functions as F

    if name not in df.columns:
        raise DataError(path, None, f"no text column {name!r} (columns: {', '.join(df.columns)}); "
                                    "name the right one with --text-column")
    column, dtype = F.col(name), df.schema[name].dataType
    variant = variant_type()
    if variant is not None and isinstance(dtype, variant):
        json_type = F.schema_of_variant(column)
        text = F.when(json_type == "STRING", F.try_variant_get(column, "$", "string"))
        written = F.when(json_type == "STRING", text).otherwise(F.to_json(column))
        not_text = [(column.isNull() | (json_type == "VOID"), F.lit(NULL_TEXT)),
                    (json_type != "STRING", F.concat(F.lit("not a string: a JSON "), F.lower(json_type)))]
    elif dtype.simpleString() == "string":
        text, written, not_text = column, column, [(column.isNull(), F.lit(NULL_TEXT))]
    else:
        text, written = F.lit(None).cast("string"), column
        not_text = [(column.isNull(), F.lit(NULL_TEXT)), (F.lit(True), F.lit(f"not a string: {dtype.simpleString()}"))]
    checks = not_text + [
        (F.length(F.regexp_replace(text, r"\s+", "")) == 0, F.lit(EMPTY_TEXT)),
        (F.length(text) > max_chars, F.format_string(f"text of %d characters, over the limit of {max_chars} "
                                                     "(max_text_chars)", F.length(text))),
    ]
    error = F.when(*checks[0])
    for condition, message in checks[1:]:
        error = error.when(condition, message)
    return text, error, written


def check_new_columns(df: DataFrame, path: str, kind: str, prefix: str) -> list[str]:
    """The prediction columns to add, the error column last; an input column of the same name is an error, not
    silently overwritten."""
    names = [prefix + column for column in (*OUTPUT_COLUMNS[kind], ERROR_COLUMN)]
    taken = [name for name in names if name in df.columns]
    if taken:
        raise DataError(path, None, f"already has column {', '.join(taken)}: choose another --prefix")
    return names


def with_sentiment(spark: SparkSession, df: DataFrame, text: Column, model_uri: str, names: list[str]) -> DataFrame:
    """``df`` plus the predicted label and its probability, through ``mlflow.pyfunc.spark_udf``."""
    import mlflow

    predict = mlflow.pyfunc.spark_udf(spark, model_uri, result_type=SENTIMENT_TYPE, env_manager="local",
                                      model_config=SPARK_MODEL_CONFIG)
    struct = "__w2vp_sentiment"
    scored = df.withColumn(struct, predict(text))
    fields = {name: scored[struct][field] for name, field in zip(names, OUTPUT_COLUMNS["sentiment"])}
    return scored.withColumns(fields).drop(struct)


def entities_per_text(found: pd.DataFrame, count: int) -> pd.Series:
    """The NER pyfunc's one row per entity (``row`` = index of its text), as one list of entities per text."""
    per_text: list[list[dict]] = [[] for _ in range(count)]
    for entity in found.to_dict("records"):
        per_text[entity.pop("row")].append(entity)
    return pd.Series(per_text, dtype=object)


@lru_cache(maxsize=2)
def _worker_model(model_dir: str):
    """The pyfunc model in a shipped directory, loaded once per Python worker (Spark reuses workers across tasks)."""
    import mlflow

    return mlflow.pyfunc.load_model(model_dir, model_config=SPARK_MODEL_CONFIG)


def ship_model(spark: SparkSession, model_uri: str, workdir: Path) -> str:
    """Download the model once on the driver and send it to every executor as an archive; the archive's name.

    ``addArchive``, not ``addFile``: Spark refuses to ship a local directory
    to a cluster. The archive is named after ``workdir``, a fresh temporary
    directory, since a session takes only one archive of a name; ``workdir``
    must outlive the job (executors fetch the archive when their tasks start).
    """
    import mlflow

    local = mlflow.artifacts.download_artifacts(model_uri, dst_path=str(workdir / "model"))
    archive = shutil.make_archive(str(workdir / workdir.name), "gztar", root_dir=local)
    spark.sparkContext.addArchive(archive)
    return Path(archive).name


def with_entities(spark: SparkSession, df: DataFrame, text: Column, model_uri: str, names: list[str],
                  workdir: Path) -> DataFrame:
    """``df`` plus each text's entities, from the registered NER pyfunc run on the workers."""
    from pyspark.sql.functions import pandas_udf

    from pipeline.tracking.pyfunc_models import TEXT_COLUMN

    archive = ship_model(spark, model_uri, workdir)

    @pandas_udf(ENTITIES_TYPE)
    def entities(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        from pyspark import SparkFiles

        model = _worker_model(SparkFiles.get(archive))
        for texts in batches:
            found = model.predict(texts.to_frame(TEXT_COLUMN)) if len(texts) else pd.DataFrame({"row": []})
            yield entities_per_text(found, len(texts))

    return df.withColumn(names[0], entities(text))


def write_table(df: DataFrame, path: str, overwrite: bool) -> None:
    """Write ``df`` as a Spark dataset at ``path``; nested columns become JSON strings in CSV."""
    from pyspark.sql import functions as F

    fmt = table_format(path)
    if fmt == "csv":
        nested = [name for name, dtype in df.dtypes if dtype.startswith(("array", "struct"))]
        df = df.withColumns({name: F.to_json(name) for name in nested})
    mode = "overwrite" if overwrite else "errorifexists"
    writer = df.write.format(fmt).mode(mode).options(**WRITE_OPTIONS.get(fmt, {}))
    if path.rstrip("/").endswith(GZIP):
        writer = writer.option("compression", "gzip")
    writer.save(path)


def score(input_path: str, output_path: str, model_uri: str, text: str = "text", master: str = DEFAULT_MASTER,
          prefix: str = DEFAULT_PREFIX, overwrite: bool = False, max_text_chars: int | None = None) -> tuple[str, str]:
    """Score the ``text`` column of ``input_path`` with ``model_uri`` into ``output_path``; the kind and pinned URI.

    The tracking store is the project's (``$MLFLOW_TRACKING_URI`` or the local ``mlflow.db``), as for every
    ``w2vp mlflow`` command. Texts over ``max_text_chars`` characters (default: the models' limit,
    :data:`~pipeline.tracking.pyfunc_models.MAX_TEXT_CHARS`) are not scored (see the module's notes).
    """
    check_paths(input_path, output_path, overwrite)  # before pyspark is imported: a bad path fails fast without it
    import mlflow
    from pyspark.sql import functions as F

    from pipeline.tracking.mlflow_logger import tracking_uri
    from pipeline.tracking.pyfunc_models import MAX_TEXT_CHARS

    mlflow.set_tracking_uri(tracking_uri())
    uri = pinned_uri(model_uri)
    kind = model_kind(uri)
    spark = spark_session(master, "w2vp-score")
    df = read_table(spark, input_path, text)
    columns = df.columns
    *predicted, error_name = check_new_columns(df, input_path, kind, prefix)
    valid, error, written = check_text(df, input_path, text, max_text_chars or MAX_TEXT_CHARS)
    df = df.withColumns({text: written, error_name: error, MODEL_INPUT: valid})  # all from the column as read
    model_input = F.when(F.col(error_name).isNull(), F.col(MODEL_INPUT)).otherwise(F.lit(""))  # "": result dropped
    with tempfile.TemporaryDirectory(prefix="w2vp-score-") as workdir:
        if kind == "ner":
            scored = with_entities(spark, df, model_input, uri, predicted, Path(workdir))
        else:
            scored = with_sentiment(spark, df, model_input, uri, predicted)
        scored = scored.withColumns({name: F.when(F.col(error_name).isNull(), F.col(name)) for name in predicted})
        write_table(scored.select(*columns, *predicted, error_name), output_path, overwrite)
    return kind, uri
