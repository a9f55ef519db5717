"""Progress bars that stay readable in logs.

On a terminal the bar refreshes every second; when stderr is a file or a
pipe (``dvc repro`` logs, CI) it refreshes every 30 s, so a long stage
writes a few lines, not thousands.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from tqdm import tqdm

TERMINAL_INTERVAL_S = 1.0
LOG_INTERVAL_S = 30.0


def progress(iterable: Iterable | None = None, **kwargs) -> tqdm:
    """``tqdm(iterable, **kwargs)`` with a refresh interval suited to where stderr goes."""
    kwargs.setdefault("mininterval", TERMINAL_INTERVAL_S if sys.stderr.isatty() else LOG_INTERVAL_S)
    return tqdm(iterable, **kwargs)
