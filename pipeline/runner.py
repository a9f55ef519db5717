"""Run an entry point so that user errors read as one line, not a traceback.

A :class:`~pipeline.errors.PipelineError` (bad file, bad config, missing data)
prints ``error: <file:line: message>`` on stderr and exits with status 1.
``--debug`` on the CLI, or ``PIPELINE_DEBUG=1`` for stages, re-raises it
with its traceback. Any other exception is a bug and is never caught here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from pipeline.errors import PipelineError

DEBUG_ENV = "PIPELINE_DEBUG"


def debug_enabled() -> bool:
    """Whether ``PIPELINE_DEBUG=1`` asks for tracebacks."""
    return os.environ.get(DEBUG_ENV) == "1"


def run(main: Callable[[], None]) -> None:
    """Call ``main``; turn a PipelineError into a one-line message and exit 1."""
    try:
        main()
    except PipelineError as exc:
        if debug_enabled():
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
