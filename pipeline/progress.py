"""Progress that fits where it runs: a bar on a terminal, a few plain lines in a log.

On a terminal (stderr is a TTY) :func:`progress` is a tqdm bar with its
total, an ETA and the caller's figures, redrawn at most every
:data:`TERMINAL_REFRESH_S`. Elsewhere (``dvc repro`` logs, CI, ``nohup``) it
is a :class:`LogProgress`: one line every :data:`LOG_INTERVAL_S` for a long
step and one when a kept (``leave=True``) step ends, so a full run writes
lines per epoch, not per batch. ``PIPELINE_PROGRESS=bar|log|off`` overrides
the choice.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator

from tqdm import tqdm

TERMINAL_REFRESH_S = 0.5
LOG_INTERVAL_S = 60.0
MODES = ("auto", "bar", "log", "off")


def mode() -> str:
    """``bar``, ``log`` or ``off``: from ``PIPELINE_PROGRESS``, else a bar only when stderr is a terminal."""
    chosen = os.environ.get("PIPELINE_PROGRESS", "auto")
    if chosen not in MODES:
        raise ValueError(f"PIPELINE_PROGRESS={chosen!r}: expected one of {', '.join(MODES)}")
    if chosen == "auto":
        return "bar" if sys.stderr.isatty() else "log"
    return chosen


def progress(iterable: Iterable | None = None, *, desc: str, unit: str, total: int | None = None,
             leave: bool = True, disable: bool = False) -> tqdm | LogProgress:
    """A progress display over ``iterable`` (or updated by hand); the total defaults to ``len(iterable)``."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    shown = mode()
    if shown == "bar":
        return tqdm(iterable, desc=desc, unit=unit, total=total, leave=leave, disable=disable,
                    mininterval=TERMINAL_REFRESH_S, dynamic_ncols=True)
    return LogProgress(iterable, desc, unit, total, leave, disable or shown == "off")


def write(message: str) -> None:
    """Print a line on stdout now (a log shows it as it happens), without breaking a bar that is being drawn."""
    tqdm.write(message, file=sys.stdout)
    sys.stdout.flush()


def plural(unit: str) -> str:
    """``batch`` → ``batches``, ``epoch`` → ``epochs``, ``review`` → ``reviews``."""
    return unit + ("es" if unit.endswith(("tch", "sh", "ss", "x")) else "s")


class LogProgress:
    """The log-file counterpart of a tqdm bar: ``update``, ``set_postfix``, ``close`` and iteration."""

    def __init__(self, iterable: Iterable | None, desc: str, unit: str, total: int | None, leave: bool,
                 disable: bool) -> None:
        self.iterable, self.desc, self.unit, self.total = iterable, desc, unit, total
        self.leave, self.disable = leave, disable
        self.n, self.postfix, self.closed = 0, "", False
        self.start = self.last = time.monotonic()

    def __iter__(self) -> Iterator:
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def set_postfix(self, refresh: bool = False, **figures: object) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in figures.items())

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.monotonic() - self.last >= LOG_INTERVAL_S:
            self._print()

    def close(self) -> None:
        if not self.closed and self.leave:
            self._print()
        self.closed = True

    def line(self) -> str:
        """``desc: n/total unit (pct%), elapsed, eta, figures``: what one log line says."""
        elapsed = time.monotonic() - self.start
        count = f"{self.n}/{self.total}" if self.total else str(self.n)
        parts = [f"{self.desc}: {count} {plural(self.unit) if (self.total or self.n) != 1 else self.unit}"]
        if self.total:
            parts[0] += f" ({100 * self.n / self.total:.0f}%)"
        parts.append(f"{elapsed:.1f} s")
        if self.total and 0 < self.n < self.total:
            parts.append(f"eta {elapsed / self.n * (self.total - self.n):.0f} s")
        if self.postfix:
            parts.append(self.postfix)
        return ", ".join(parts)

    def _print(self) -> None:
        self.last = time.monotonic()
        if not self.disable:
            print(self.line(), file=sys.stderr, flush=True)
