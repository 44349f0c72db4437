"""The shape of ``helpers/``: layers that import only downwards, no cycles, short modules.

Reads the source with :mod:`ast` (nothing is imported), so a violation fails here with the
module and line, before it becomes a cycle at import time. The layers and why they are cut
this way are in ``docs/architecture.md``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers.config import REPO_ROOT

PACKAGE = REPO_ROOT / "helpers"

#: Layer of each top-level module or subpackage of helpers: an import must point to a lower
#: number (or stay inside its own subpackage). Equal numbers are siblings that do not import
#: each other.
LAYERS = {
    "config": 0, "errors": 0,
    "engine": 1, "dockerfile": 1,
    "build": 2, "image": 2,
    "grading": 3,
    "lessons": 4, "learner": 4, "classroom": 4,
    "ui": 5,
    "recorded": 6,
    "course": 7, "demo": 7,
    "__main__": 8,
}
#: Modules that compute from data alone: no engine client, no HTTP (``docker.utils``, the SDK's
#: pure parsing helpers, is allowed).
PURE = ["helpers.dockerfile", "helpers.image.elf", "helpers.image.certs",
        "helpers.image.categories", "helpers.ui.charts", "helpers.ui.class_charts"]
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> list[tuple[str, int]]:
    """``(imported module, line)`` for every import in ``name``, lazy ones included."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # "from . import x" imports the module x when x is one
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.append((candidate if candidate in MODULES else target, node.lineno))
    return found


def kit_imports(name: str) -> list[tuple[str, int]]:
    return [(target, line) for target, line in imports_of(name)
            if target == "helpers" or target.startswith("helpers.")]


def layer_of(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_has_a_layer():
    unknown = sorted({layer_of(name) for name in MODULES} - set(LAYERS) - {"__init__"})
    assert not unknown, f"add these to LAYERS (and docs/architecture.md): {unknown}"


def test_imports_point_downwards():
    wrong = []
    for name in MODULES:
        here = layer_of(name)
        if here == "__init__":
            continue
        for target, line in kit_imports(name):
            there = layer_of(target)
            if there == here or there == "__init__" and target == "helpers":
                continue
            if there == "__init__" or LAYERS[there] >= LAYERS[here]:
                wrong.append(f"{name}:{line} imports {target} ({here} -> {there})")
    assert not wrong, "imports that point up or sideways:\n" + "\n".join(wrong)


def test_no_import_cycle():
    graph = {name: {target for target, _ in kit_imports(name) if target in MODULES}
             for name in MODULES}
    # a package's __init__ re-exporting its own modules is not a cycle with them
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


@pytest.mark.parametrize("pure", PURE)
def test_pure_modules_import_no_engine(pure):
    names = [name for name in MODULES if name == pure or name.startswith(pure + ".")]
    assert names, f"{pure} does not exist"
    for name in names:
        bad = [f"{target} (line {line})" for target, line in imports_of(name)
               if target.split(".")[0] in ("docker", "requests")
               and not target.startswith("docker.utils")
               or target.startswith("helpers.engine")]
        assert not bad, f"{name} imports {bad}"


def test_modules_are_short():
    long = {name: len(path.read_text().splitlines()) for name, path in MODULES.items()}
    assert not {n: c for n, c in long.items() if c > MAX_MODULE_LINES}


def test_functions_are_short():
    long = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = node.end_lineno - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name}: {size} lines")
    assert not long, "\n".join(long)


def test_the_checker_sees_a_violation(tmp_path):
    """The rules above can fail: an upward import is caught by the same resolution."""
    assert ("helpers.errors", 1) in [(t, 1) for t, _ in kit_imports("helpers.engine.connect")]
    assert LAYERS[layer_of("helpers.ui.widgets")] > LAYERS[layer_of("helpers.engine.connect")]
