"""Notebooks 01-03 run top to bottom through ``Course`` on the side engines.

The main engine runs every notebook in ``tests/notebooks``; here the first three (build,
compare, layers) run again with ``DOCKER_HOST`` naming Docker 26 with the containerd image
store, then Podman: what the notebooks show comes from the same helpers on each engine.
"""

from __future__ import annotations

import pytest

from helpers.config import REPO_ROOT
from tests.engine_matrix import MAIN_ENGINE_ID
from tests.notebooks.test_notebooks import all_text, error_outputs, execute

NOTEBOOKS = [REPO_ROOT / "notebooks" / name for name in
             ("01_single_stage.ipynb", "02_multi_stage.ipynb", "03_layers_and_cache.ipynb")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_on_this_engine(engine_target, path, monkeypatch, tmp_path):
    if engine_target.name == MAIN_ENGINE_ID:
        pytest.skip("tests/notebooks runs every notebook on the main engine")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    book = execute(path, tmp_path)  # the kernel inherits DOCKER_HOST and KIT_NAMESPACE
    assert error_outputs(book) == []
    text = all_text(book)
    assert "[Recorded run]" not in text, "the notebook did not reach the engine under test"
    assert "Traceback" not in text
