"""The SparkSession both Spark paths use, and a clear error when pyspark or Java is missing."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from typing import TYPE_CHECKING

from pipeline.errors import PipelineError
from pipeline.scale import DEFAULT_MASTER

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

INSTALL_HINT = 'run `make spark` (or `pip install -e ".[spark]"` and install a JDK 17)'


class SparkUnavailableError(PipelineError):
    """pyspark or the Java runtime it drives is not installed."""


def spark_missing() -> str | None:
    """Why Spark cannot run here (no pyspark, no java), or None when it can."""
    if importlib.util.find_spec("pyspark") is None:
        return f"pyspark is not installed: {INSTALL_HINT}"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return f"no Java runtime (java is not on PATH and JAVA_HOME is unset): {INSTALL_HINT}"
    return None


def spark_session(master: str = DEFAULT_MASTER, app_name: str = "w2vp") -> SparkSession:
    """The active SparkSession, or a new one on ``master`` (``local[N]``, ``spark://…``, ``yarn``).

    Python workers must run this interpreter: pyspark starts ``python3`` from
    PATH unless ``PYSPARK_PYTHON`` says otherwise, and that one usually lacks
    the project (so unpickling a UDF fails with ``No module named …``). The
    web UI is off: it costs start-up time and a port, and a command-line batch
    job is followed in its log. Spark itself sets ``OMP_NUM_THREADS`` for its
    Python workers (1 per task in local mode), so torch does not oversubscribe the cores.
    """
    reason = spark_missing()
    if reason:
        raise SparkUnavailableError(reason)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master(master).appName(app_name)
            .config("spark.ui.enabled", "false").getOrCreate())


def is_remote(path: str) -> bool:
    """Whether ``path`` is a URI (``s3a://``, ``hdfs://``) that only Spark can check, not a local path."""
    return "://" in path
