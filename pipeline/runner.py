"""Run an entry point so that user errors read as one line, not a traceback.

A :class:`~pipeline.errors.PipelineError` (bad file, bad config, missing data)
prints ``error: <file:line: message>`` on stderr and exits with status 1.
``--debug`` on the CLI, or ``PIPELINE_DEBUG=1`` for stages, re-raises it
with its traceback. Any other exception is a bug and is never caught here.

It also sets what a run prints: libraries (gensim, MLflow, urllib3, …) log
at WARNING unless ``PIPELINE_LOG=info`` (the CLI's ``--verbose``) asks for
their INFO lines, and a warning is one line, ``warning: <message>``.
With ``PIPELINE_STAGE_STATS=<file>`` (set by ``benchmarks/full_profile.py``)
each finished entry point appends one JSON line: its name, wall seconds and
peak RSS, its own or its children's (a torchrun relaunch).
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import time
import warnings
from collections.abc import Callable

from pipeline.errors import PipelineError

DEBUG_ENV = "PIPELINE_DEBUG"
STATS_ENV = "PIPELINE_STAGE_STATS"
LOG_ENV = "PIPELINE_LOG"
LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
QUIETED = ("gensim", "mlflow", "urllib3", "alembic", "dvclive", "git", "httpx", "pipeline")


def debug_enabled() -> bool:
    """Whether ``PIPELINE_DEBUG=1`` asks for tracebacks."""
    return os.environ.get(DEBUG_ENV) == "1"


def log_level() -> int:
    """The level ``PIPELINE_LOG`` names (``warning`` when unset)."""
    name = os.environ.get(LOG_ENV, "warning").lower()
    if name not in LOG_LEVELS:
        raise ValueError(f"{LOG_ENV}={name!r}: expected one of {', '.join(LOG_LEVELS)}")
    return LOG_LEVELS[name]


def _one_line(message, category, filename, lineno, line=None) -> str:
    prefix = "warning" if category is UserWarning else category.__name__
    return f"{prefix}: {message}\n"


def configure_output() -> None:
    """Library loggers at :func:`log_level`, plain ``level name: message`` lines, one-line warnings."""
    level = log_level()
    if level > logging.INFO:  # MLflow draws a bar per artifact download, one log line per redraw
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # a line per run against a server
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=level)
    for name in QUIETED:
        logging.getLogger(name).setLevel(level)
    warnings.formatwarning = _one_line


def run(main: Callable[[], None]) -> None:
    """Call ``main`` with :func:`configure_output`; turn a PipelineError into a one-line message and exit 1."""
    configure_output()
    start = time.perf_counter()
    try:
        main()
        record_stats(time.perf_counter() - start)
    except PipelineError as exc:
        if debug_enabled():
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


def record_stats(wall_s: float) -> None:
    """Append this entry point's wall time and peak RSS (MB) to ``$PIPELINE_STAGE_STATS``, when it is set."""
    path = os.environ.get(STATS_ENV)
    if not path:
        return
    peak_kib = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    line = {"stage": os.path.splitext(os.path.basename(sys.argv[0]))[0], "wall_s": round(wall_s, 1),
            "peak_rss_mb": round(peak_kib / 1024)}
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")
