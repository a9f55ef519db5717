"""Layers only look down: a module may import its own layer and those below it, never one above.

The layers, bottom to top, are the ones ``docs/architecture.md`` draws; every
import counts, the lazy ones inside functions included.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pipeline"
LAYERS = [
    {"__init__", "errors", "atomic", "paths", "model_dir", "progress", "runner"},
    {"data", "config"},
    {"embeddings"},
    {"models", "baselines"},
    {"training", "evaluation", "predict"},
    {"tracking", "spacy_components"},
    {"stages", "cli", "scale", "ops"},
]
LAYER = {name: level for level, names in enumerate(LAYERS) for name in names}


def room(parts: list[str]) -> str:
    """The layer key of a module path inside the package: its sub-package, or the file of a root module."""
    return parts[0].removesuffix(".py")


def imported_rooms(tree: ast.AST) -> set[str]:
    """The package's modules an AST imports, as layer keys (``from pipeline import paths`` → ``paths``)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {room(a.name.split(".")[1:] or ["__init__"]) for a in node.names if a.name.split(".")[0] == "pipeline"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "pipeline":
            parts = node.module.split(".")[1:]
            found |= {room(parts)} if parts else {a.name for a in node.names}
    return found


def violations() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = room(list(path.relative_to(PACKAGE).parts))
        for target in imported_rooms(ast.parse(path.read_text(encoding="utf-8"))):
            if LAYER[target] > LAYER[importer]:
                out.append(f"{path.relative_to(PACKAGE.parent)} (layer {LAYER[importer]}) imports {target} (layer {LAYER[target]})")
    return out


def test_every_module_has_a_layer():
    rooms = {room(list(p.relative_to(PACKAGE).parts)) for p in PACKAGE.rglob("*.py")}
    assert rooms <= LAYER.keys(), f"modules without a layer: {sorted(rooms - LAYER.keys())}; add them to LAYERS and docs"


def test_no_module_imports_a_layer_above_its_own():
    assert violations() == []


@pytest.mark.parametrize("source, expected", [
    ("from pipeline.training.loop import fit", {"training"}),
    ("from pipeline import paths, model_dir", {"paths", "model_dir"}),
    ("import pipeline", {"__init__"}),
    ("def f():\n    import pipeline.stages.prepare", {"stages"}),
])
def test_the_check_sees_every_kind_of_import(source, expected):
    assert imported_rooms(ast.parse(source)) == expected
