"""Every course notebook runs top to bottom, with and without an engine; none keeps outputs.

With the real engine, notebooks execute with nbclient in the namespace ``nbtest`` (so they
never overwrite a learner's images). Engine-less, ``DOCKER_HOST`` points at a loopback port
where nothing listens, as on Binder: the notebooks must still run to the end, show the
recorded-run banner, and never report ``pass`` for a check of an image they could not build.
Any error output fails a test and shows the error's name, value and the cell that raised it.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from nbclient import NotebookClient

from helpers.config import REPO_ROOT
from tests.ports import closed_port

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


def execute(path: Path, tmp_path: Path):
    """Run ``path`` with nbclient; the executed copy is kept in tmp_path for inspection."""
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(book, timeout=CELL_TIMEOUT, kernel_name="python3",
                            allow_errors=True, resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nbformat.write(book, tmp_path / path.name)
    return book


def all_text(book) -> str:
    """Every text/plain and stream output of ``book``, joined."""
    parts = []
    for cell in book.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_runs_top_to_bottom(path, monkeypatch, tmp_path):
    monkeypatch.setenv("KIT_NAMESPACE", "nbtest")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    book = execute(path, tmp_path)
    assert error_outputs(book) == []
    outputs = [o for cell in book.cells for o in cell.get("outputs", [])]
    assert outputs, "the notebook produced no output at all"
    assert "[Recorded run]" not in all_text(book)



@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_runs_without_an_engine(path, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    book = execute(path, tmp_path)
    assert error_outputs(book) == []
    text = all_text(book)
    assert "Traceback" not in text
    if "Course.start()" in "".join(cell.source for cell in book.cells):
        assert "[Recorded run]" in text, "engine-less notebooks must say they show a recorded run"
    # A check of an image cannot pass without an engine: only static checks may.
    for line in text.splitlines():
        for check in ("size", "only-binary", "ca-certs", "runs", "static-binary", "dep-cache"):
            assert not line.startswith(f"PASS  {check} "), line
