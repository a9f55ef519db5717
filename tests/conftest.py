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


@pytest.fixture
def one_thread():
    """Tiny tensors gain nothing from intra-op threads, and on a busy CI box the thread hand-offs dominate."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
