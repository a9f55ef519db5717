"""Killing a child process in the tests that check what a crash leaves behind."""

from __future__ import annotations

import signal
import subprocess


def sigkill_and_reap(proc: subprocess.Popen, timeout: float) -> None:
    """SIGKILL ``proc`` (it must die of that signal, not exit on its own first), then close its stdin and reap it.

    ``proc`` is killed and reaped even when the assertion fails, so a failing
    test leaves no process behind.
    """
    try:
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=timeout) == -signal.SIGKILL
    finally:
        proc.kill()
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=timeout)
