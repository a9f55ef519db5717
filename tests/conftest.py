"""Shared fixtures: paths of the embedded sample and the project root."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


@pytest.fixture
def sample_root() -> Path:
    return SAMPLE
