"""What the benchmark scripts share: input checks, one thread per child, the machine's load, the full NER config.

Each benchmark is run as a script (``python benchmarks/<name>.py``), so this
module sits beside them on ``sys.path``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from pipeline.config import build_section, load_section
from pipeline.errors import MissingDataError

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"  # the real data (../shared/data/README.md)
FULL_PROFILE = ROOT / "configs" / "profiles" / "full.yaml"  # the full profile: the models the README reports
THREAD_ENV = {name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}


def require(path: Path, what: str) -> Path:
    """``path``, or a MissingDataError saying what it should hold (and which command makes it)."""
    if not path.exists():
        raise MissingDataError(path, what)
    return path


def spread(items: list, n: int) -> list:
    """``n`` items evenly spaced over ``items`` (all of them when there are fewer)."""
    if len(items) <= n:
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, n).round().astype(int)]


def load_avg() -> list[float]:
    """The 1, 5 and 15-minute load averages: the 2 cores are shared, and every result records how busy they were."""
    return [round(x, 1) for x in os.getloadavg()]


def full_section(cls, name: str):
    """Section ``name`` of ``params.yaml`` under the full profile (``configs/profiles/full.yaml``), typed by ``cls``."""
    return load_section(cls, name, ROOT / "params.yaml", profile="full")


def ner_full_config(model: dict | None = None, epochs: int | None = None):
    """The full profile's ``ner`` section with ``model`` overrides and, if given, ``epochs``."""
    from pipeline.training.ner_task import NerConfig

    raw = full_section(NerConfig, "ner").model_dump(mode="json")
    raw["model"] |= model or {}
    if epochs is not None:
        raw["train"]["epochs"] = epochs
    return build_section(NerConfig, raw, FULL_PROFILE, "ner")


def pipeline_stage_s(project: Path, stage: str) -> float | None:
    """A stage's wall seconds in the project's last full-profile run (``benchmarks/results/full_profile.json``)."""
    results = project / "benchmarks" / "results" / "full_profile.json"
    if not results.exists():
        return None
    return json.loads(results.read_text(encoding="utf-8")).get("stages", {}).get(stage, {}).get("wall_s")
