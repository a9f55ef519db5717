"""Fail on any call that can run code hidden in a data file: the project loads only plain formats.

Usage: ``python scripts/check_safe_loading.py [PATH ...]`` (default: pipeline/ benchmarks/ scripts/ tests/).
Exits 1 listing ``file:line: call`` for each of:

* ``pickle.load``/``pickle.loads``/``pickle.Unpickler`` (``cPickle`` and ``_pickle`` alike);
* ``torch.load`` without ``weights_only=True``;
* ``yaml.load``/``yaml.load_all`` without ``Loader=yaml.SafeLoader`` (or ``CSafeLoader``),
  and ``yaml.unsafe_load``/``yaml.full_load`` (plus their ``_all`` forms);
* ``joblib.load``;
* ``numpy.load`` with ``allow_pickle`` set to anything but ``False``;
* gensim's native ``Word2Vec.load``/``KeyedVectors.load``/``FastText.load``/``Doc2Vec.load``
  (pickles; ``load_word2vec_format`` is fine).

Names are resolved through the file's imports, so ``from torch import load as tl`` is
still ``torch.load``. A call whose lines carry ``# safe-load: ok <reason>`` is exempt:
use it sparingly, and never for a file a user can hand in. Standard library only, so
it runs before the project is installed.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PATHS = ("pipeline", "benchmarks", "scripts", "tests")
EXEMPT = re.compile(r"#\s*safe-load:\s*ok\s+\S")
PICKLE_MODULES = {"pickle", "cPickle", "_pickle"}
PICKLE_CALLS = {"load", "loads", "Unpickler"}
GENSIM_CLASSES = {"Word2Vec", "KeyedVectors", "FastText", "Doc2Vec"}
YAML_UNSAFE = {"yaml.unsafe_load", "yaml.full_load", "yaml.unsafe_load_all", "yaml.full_load_all"}
YAML_SAFE_LOADERS = {"yaml.SafeLoader", "yaml.CSafeLoader"}


def imported_names(tree: ast.Module) -> dict[str, str]:
    """Local name → qualified name for every absolute import in the file."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                names[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def qualified(node: ast.expr, imports: dict[str, str]) -> str | None:
    """``np.load`` → ``numpy.load`` given ``import numpy as np``; None for anything but a dotted name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(imports.get(node.id, node.id))
    return ".".join(reversed(parts))


def keyword(call: ast.Call, name: str, position: int | None = None) -> ast.expr | None:
    """The argument passed as ``name=`` (or at ``position``), None when absent."""
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    if position is not None and len(call.args) > position:
        return call.args[position]
    return None


def is_constant(node: ast.expr | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def unsafe(call: ast.Call, imports: dict[str, str]) -> str | None:
    """Why ``call`` may unpickle untrusted data, or None when it is safe."""
    name = qualified(call.func, imports)
    if name is None:
        return None
    module, _, function = name.rpartition(".")
    if module in PICKLE_MODULES and function in PICKLE_CALLS:
        return f"{name} (unpickling runs code from the file)"
    if name == "torch.load" and not is_constant(keyword(call, "weights_only"), True):
        return "torch.load without weights_only=True"
    if name in YAML_UNSAFE:
        return f"{name} (use yaml.safe_load)"
    if name in ("yaml.load", "yaml.load_all"):
        loader = keyword(call, "Loader", position=1)
        if loader is None or qualified(loader, imports) not in YAML_SAFE_LOADERS:
            return f"{name} without Loader=yaml.SafeLoader (use yaml.safe_load)"
    if name == "joblib.load":
        return "joblib.load (unpickling runs code from the file)"
    if name == "numpy.load":
        allow = keyword(call, "allow_pickle")
        if allow is not None and not is_constant(allow, False):
            return "numpy.load with allow_pickle enabled"
    if module.rpartition(".")[2] in GENSIM_CLASSES and function == "load":
        return f"{module.rpartition('.')[2]}.load (a gensim pickle; use load_word2vec_format)"
    return None


def check_file(path: Path) -> Iterator[tuple[int, str]]:
    """``(line, reason)`` of every unsafe, non-exempt call in ``path``."""
    source = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as err:
        yield err.lineno or 1, f"cannot be parsed, so cannot be checked ({err.msg})"
        return
    lines = source.splitlines()
    imports = imported_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (reason := unsafe(node, imports)):
            span = lines[node.lineno - 1 : node.end_lineno or node.lineno]
            if not any(EXEMPT.search(line) for line in span):
                yield node.lineno, reason


def python_files(paths: list[Path]) -> Iterator[Path]:
    """The ``.py`` files under ``paths``, sorted, skipping hidden and ``__pycache__`` directories."""
    for path in paths:
        if path.is_file():
            yield path
            continue
        for file in sorted(path.rglob("*.py")):
            parts = file.relative_to(path).parts
            if not any(part.startswith(".") or part == "__pycache__" for part in parts):
                yield file


def shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it, for clickable output."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: list[str]) -> int:
    paths = [Path(arg) for arg in argv] or [ROOT / name for name in DEFAULT_PATHS]
    missing = [path for path in paths if not path.exists()]
    if missing:
        print(f"error: no such file or directory: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    files = list(python_files(paths))
    problems = [f"{shown(file)}:{line}: {reason}" for file in files for line, reason in check_file(file)]
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} unsafe load(s): load plain formats, or see the safe forms in {shown(Path(__file__))}",
              file=sys.stderr)
        return 1
    print(f"safe loading: {len(files)} files checked, no unsafe loads")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
