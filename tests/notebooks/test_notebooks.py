"""Every course notebook runs top to bottom, with and without an engine; none keeps outputs.

With the real engine, notebooks execute with nbclient in the namespace ``nbtest`` (so they
never overwrite a learner's images) **while a second build loads the engine**
(:class:`~tests.notebooks.engine_load.EngineLoad`: no-cache Go builds in a loop), and no row
of a notebook's closing self-check may say ``fail``: a lesson asserts only what holds on a
busy machine. The same run serves both purposes, so the notebooks execute once. The checks
notebook 02 ends with run on the learner's starter there (FAILs expected), so the reference
solution goes through the same checks, under the same load, in a test of its own.

Engine-less, ``DOCKER_HOST`` points at a loopback port where nothing listens, as on Binder:
the notebooks must still run to the end, show the recorded-run banner, and never report
``pass`` for a check of an image they could not build. Any error output fails a test and
shows the error's name, value and the cell that raised it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from nbclient import NotebookClient

from helpers.classroom.classreport import read_class_report
from helpers.classroom.records import RESULTS_ENV
from helpers.config import EXERCISE_DIR, REPO_ROOT, SOLUTIONS_DIR
from helpers.engine.cli import buildkit_client
from tests.class_results import INSTRUCTOR_NOTEBOOK, report_rows, seed_class_results
from tests.notebooks.engine_load import EngineLoad
from tests.ports import closed_port

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT = 600
#: The namespace of the engine runs (``KIT_TEST_NAMESPACE`` overrides it when several people
#: run these tests on one engine; ``nbtest`` is what tests/final keeps as build cache).
NAMESPACE = os.environ.get("KIT_TEST_NAMESPACE", "nbtest")
#: Printed by a cell the test adds after each self-check cell: the table's rows as JSON.
SELF_CHECK_MARK = "KIT-SELF-CHECK "
SELF_CHECK_PROBE = ("import json as _kit_json\n"
                    f"print({SELF_CHECK_MARK!r} + _kit_json.dumps(_.astype(str)"
                    ".to_dict('records')))")


def notebook_id(path: Path) -> str:
    return path.stem


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_committed_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    dirty = [i for i, cell in enumerate(book.cells) if cell.cell_type == "code"
             and (cell.get("outputs") or cell.get("execution_count"))]
    assert dirty == [], f"{path.name}: cells {dirty} hold outputs; strip them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_decide_nothing(path):
    """Verdicts live in helpers (Course, lessons), where they are unit-tested: a cell
    defines no function and writes no "pass"/"fail" of its own."""
    book = nbformat.read(path, as_version=4)
    code = [(i, cell.source) for i, cell in enumerate(book.cells) if cell.cell_type == "code"]
    deciding = [i for i, source in code
                if re.search(r"^\s*(async )?def |[\"'](pass|fail|PASS|FAIL)[\"']", source, re.M)]
    assert deciding == [], f"{path.name}: cells {deciding} decide pass/fail themselves"


def error_outputs(book) -> list[str]:
    """'cell N: Name: value' for each error output (and stderr traceback) in ``book``."""
    found = list(book.metadata.get("failed_cells", []))
    for index, cell in enumerate(book.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"cell {index}: {output.ename}: {output.evalue}")
            elif output.get("name") == "stderr" and "Traceback" in output.get("text", ""):
                found.append(f"cell {index}: traceback on stderr")
    return found


def with_self_check_probes(book):
    """``book`` with a probe cell after each cell that shows a lesson's ``self_check(...)``
    table: the probe prints the table (IPython's ``_``) as JSON, read by :func:`self_checks`.
    """
    cells = []
    for cell in book.cells:
        cells.append(cell)
        if cell.cell_type == "code" and "self_check(" in cell.source:
            cells.append(nbformat.v4.new_code_cell(SELF_CHECK_PROBE))
    book.cells = cells
    return book


def self_checks(book) -> list[dict]:
    """Every row of the self-check tables the probes of :func:`with_self_check_probes` saw."""
    rows = []
    for cell in book.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith(SELF_CHECK_MARK):
                    rows += json.loads(line[len(SELF_CHECK_MARK):])
    return rows


def execute(path: Path, tmp_path: Path, probes: bool = False):
    """Run ``path`` with nbclient; the executed copy is kept in tmp_path for inspection.

    A KitError that escapes a cell is shown by the kit's IPython handler as a red box, with
    no error output: the cell's execute reply still says ``error``. Those cells are listed
    in the notebook's metadata (``failed_cells``) so :func:`error_outputs` reports them too.
    With ``probes``, the self-check tables are also printed as JSON (:func:`self_checks`).
    """
    book = nbformat.read(path, as_version=4)
    if probes:
        book = with_self_check_probes(book)
    failed = []

    def on_cell_executed(cell, cell_index, execute_reply):
        content = execute_reply["content"]
        if content.get("status") == "error":
            failed.append(f"cell {cell_index}: {content.get('ename')}: {content.get('evalue')}")

    client = NotebookClient(book, timeout=CELL_TIMEOUT, kernel_name="python3",
                            allow_errors=True, resources={"metadata": {"path": str(path.parent)}},
                            on_cell_executed=on_cell_executed)
    client.execute()
    book.metadata["failed_cells"] = failed
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


@pytest.fixture
def engine_load():
    """A second build loading the engine for the duration of one test (stopped after it,
    whatever happens). How much it built is printed with the test's output."""
    with EngineLoad() as load:
        yield load
    print(load.report.summary() if load.available else load.reason)


def assert_loaded(load: EngineLoad) -> None:
    """The load really ran during the test (unless this machine cannot build with BuildKit)."""
    if load.available:
        assert load.report.started >= 1 and load.report.failed == 0, load.report.summary()


def assert_shows_the_class(book, expected: dict[str, list[str]]) -> None:
    """The instructor's notebook shows a row per seeded learner, with the latest statuses
    its records hold (the view's text), and each learner in the gradebook table."""
    rows = report_rows(all_text(book))
    assert {learner: rows.get(learner) for learner in expected} == expected, all_text(book)
    gradebook = next(o for cell in book.cells if "gradebook()" in cell.source
                     for o in cell.outputs if o.output_type == "execute_result")
    assert all(learner in gradebook.data["text/plain"] for learner in expected)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_runs_top_to_bottom(path, monkeypatch, tmp_path, engine_load):
    """Every notebook runs with a class results folder (KIT_RESULTS_DIR), as in a classroom:
    the instructor's shows the records seeded there, and a check cell leaves its record."""
    monkeypatch.setenv("KIT_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    results = tmp_path / "class-results"
    seeded = seed_class_results(results) if path.stem == INSTRUCTOR_NOTEBOOK else {}
    results.mkdir(exist_ok=True)
    monkeypatch.setenv(RESULTS_ENV, str(results))
    started = time.perf_counter()
    book = execute(path, tmp_path, probes=True)
    print(f"{path.stem}: {time.perf_counter() - started:.0f} s under load")
    assert error_outputs(book) == []
    if seeded:
        assert_shows_the_class(book, seeded)
    elif "check_my_work(" in "".join(cell.source for cell in book.cells):
        checked = read_class_report(results)
        assert checked.learners() == [NAMESPACE] and checked.skipped == []
        assert checked.attempts_of(NAMESPACE)[0].engine.startswith(("docker ", "podman "))
    outputs = [o for cell in book.cells for o in cell.get("outputs", [])]
    assert outputs, "the notebook produced no output at all"
    assert "[Recorded run]" not in all_text(book)
    if "hardened=True" in "".join(cell.source for cell in book.cells):
        assert "-> 200 in" in all_text(book) and "(hardened)" in all_text(book)
    rows = self_checks(book)
    probed = any("self_check(" in cell.source for cell in book.cells if cell.cell_type == "code")
    assert bool(rows) == probed, "a self-check table was shown but not read (or vice versa)"
    failed = [row for row in rows if row["status"] == "fail"]
    assert failed == [], f"{path.stem}: self-check rows fail on the reference material: {failed}"
    assert {row["status"] for row in rows} <= {"pass", "skip"}, rows
    if path.stem == "04_build_cache" and buildkit_client() is not None:
        # Every claim of the cache lab is measurable here: a skip would hide a broken claim.
        assert {row["status"] for row in rows} == {"pass"}, rows
    assert_loaded(engine_load)


def test_the_reference_passes_the_checks_of_notebook_02_under_load(engine_load):
    """Notebook 02 ends with "Check my work" on the learner's starter (FAILs expected): the
    same checks, on the reference solution and under the same load, never say ``fail``."""
    env = {**os.environ, "KIT_NAMESPACE": NAMESPACE}
    done = subprocess.run(
        [sys.executable, "-m", "helpers", "check", "--context", str(EXERCISE_DIR),
         "--dockerfile", str(SOLUTIONS_DIR / "Dockerfile.multistage"), "--json"],
        capture_output=True, text=True, env=env, timeout=CELL_TIMEOUT, cwd=REPO_ROOT)
    report = json.loads(done.stdout)
    statuses = {check["id"]: check["status"] for check in report["checks"]}
    failed = {check["id"]: check["message"] for check in report["checks"]
              if check["status"] == "fail"}
    assert failed == {}, failed
    assert statuses and set(statuses.values()) <= {"pass", "skip"}, statuses
    assert done.returncode == 0, done.stderr[-2000:]
    assert_loaded(engine_load)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_runs_without_an_engine(path, monkeypatch, tmp_path):
    """Engine-less, as on Binder, and with no class results folder: the instructor's
    notebook says KIT_RESULTS_DIR is not set and how to set it, instead of failing."""
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    book = execute(path, tmp_path)
    assert error_outputs(book) == []
    text = all_text(book)
    assert "Traceback" not in text
    if path.stem == INSTRUCTOR_NOTEBOOK:
        assert f"{RESULTS_ENV} is not set" in text and f"{RESULTS_ENV}=" in text
    if "Course.start()" in "".join(cell.source for cell in book.cells):
        assert "[Recorded run]" in text, "engine-less notebooks must say they show a recorded run"
        assert "[Built here, without an engine]" in text, "and that they build here"
    # A check of an image passes without an engine only on an image built here, and says so.
    for line in text.splitlines():
        for check in ("size", "only-binary", "ca-certs", "runs", "static-binary", "dep-cache"):
            if line.startswith(f"PASS  {check} "):
                assert "(measured without an engine" in text, line


def test_an_escaped_kit_error_is_one_box_and_still_counts_as_an_error(tmp_path):
    """In a real kernel: no traceback for a KitError, yet the cell fails and we notice."""
    path = tmp_path / "escaped.ipynb"
    book = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from helpers.ui.widgets import install_error_display\n"
                                  "from helpers.errors import KitError\n"
                                  "install_error_display()"),
        nbformat.v4.new_code_cell("raise KitError('The thing broke.', 'Do the other thing.')"),
    ])
    nbformat.write(book, path)
    (tmp_path / "out").mkdir()
    executed = execute(path, tmp_path / "out")
    assert error_outputs(executed) == [
        "cell 1: KitError: The thing broke.\nHint: Do the other thing."]
    text = all_text(executed)
    assert "error: The thing broke." in text and "hint: Do the other thing." in text
    assert "Traceback" not in text
