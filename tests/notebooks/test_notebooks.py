"""Every course notebook runs top to bottom on the real engine, and none is committed with outputs.

Notebooks execute with nbclient in the namespace ``nbtest`` (so they never overwrite a
learner's images), with a per-cell timeout; any error output fails the test and shows the
error's name, value and the cell that raised it.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.config import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT = 600


def notebook_id(path: Path) -> str:
    return path.stem


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_committed_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    dirty = [i for i, cell in enumerate(book.cells) if cell.cell_type == "code"
             and (cell.get("outputs") or cell.get("execution_count"))]
    assert dirty == [], f"{path.name}: cells {dirty} hold outputs; strip them before committing"


def error_outputs(book) -> list[str]:
    """'cell N: Name: value' for each error output (and stderr traceback) in ``book``."""
    found = []
    for index, cell in enumerate(book.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"cell {index}: {output.ename}: {output.evalue}")
            elif output.get("name") == "stderr" and "Traceback" in output.get("text", ""):
                found.append(f"cell {index}: traceback on stderr")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_runs_top_to_bottom(path, monkeypatch, tmp_path):
    monkeypatch.setenv("KIT_NAMESPACE", "nbtest")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(book, timeout=CELL_TIMEOUT, kernel_name="python3",
                            allow_errors=True, resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nbformat.write(book, tmp_path / path.name)  # kept for inspection when a test fails
    assert error_outputs(book) == []
    outputs = [o for cell in book.cells for o in cell.get("outputs", [])]
    assert outputs, "the notebook produced no output at all"
