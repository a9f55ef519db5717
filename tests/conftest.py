"""Shared fixtures: paths of the embedded sample and the project root."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


@pytest.fixture
def sample_root() -> Path:
    return SAMPLE


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a whole test module (its module-scoped fixtures that train included).

    Tiny tensors gain nothing from intra-op threads, and on a busy CI box the
    thread hand-offs dominate; runs compared for exact equality (a resumed run
    against a reference) must also use the same kernels as their child processes.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


BAD_INPUT_TALLY = pytest.StashKey[dict]()


@pytest.fixture
def bad_input_tally(request) -> dict:
    """Bad-input cases passed so far, by expected outcome; printed in the terminal summary for CI logs."""
    return request.config.stash.setdefault(BAD_INPUT_TALLY, {"error": 0, "ok": 0})


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """One line saying how many bad-input cases ran, so a shrinking corpus shows in CI output."""
    tally = config.stash.get(BAD_INPUT_TALLY, None)
    if tally:
        terminalreporter.write_line(
            f"bad-input cases run: {sum(tally.values())} (errors {tally['error']}, accepted {tally['ok']})"
        )
