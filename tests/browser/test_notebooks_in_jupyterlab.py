"""Every course notebook, run as a learner runs it: JupyterLab in Chromium, "Run All Cells".

nbclient (tests/notebooks) proves the code runs; only a browser proves what the learner *sees*:
that the ipywidgets views render (not "Loading widget…"), that each build progress widget
reaches its done state, that charts arrive as PNG images and that the check tables render.
Each notebook is opened in a fresh page, run against the real engine in namespace
``browser``, inspected through the DOM and JupyterLab's own models, and photographed to
``out/browser/<notebook>.png`` for a human look.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from helpers.config import REPO_ROOT
from tests.class_results import LEARNERS

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
SCREENSHOTS = REPO_ROOT / "out" / "browser"
KERNEL_READY_TIMEOUT_S = 120
RUN_TIMEOUT_S = 1800          # real docker builds: the cache lab alone can take minutes
WIDGETS_SETTLE_TIMEOUT_S = 30
MAX_SCREENSHOT_HEIGHT = 16000  # Chromium's largest capture


@dataclass(frozen=True)
class Expect:
    """What a notebook must show after Run All (minimum counts: each one can fail)."""

    builds: int = 0                  # BuildProgress widgets, every one ending "Done"
    charts: int = 0                  # PNG charts drawn by show_figure
    check_report: bool = False       # the check-my-work table (kit-check-report)
    table: tuple[str, ...] = ()      # header of a DataFrame table (the self-check cells)
    widgets: tuple[str, ...] = ()    # CSS selectors of further widget views
    texts: tuple[str, ...] = ()      # text that must appear in the outputs


SELF_CHECK = ("claim", "measured", "status")
EXPECTED = {
    "00_setup_check": Expect(table=("check", "status", "detail"), texts=("[OK]",)),
    "01_single_stage": Expect(builds=1, charts=2, table=SELF_CHECK,
                              texts=("GET /health -> 200",)),
    # yours, the reference, the check's build (the original exists after 01, or is built)
    "02_multi_stage": Expect(builds=3, charts=1, check_report=True,
                             widgets=(".widget-button",), texts=("(hardened)",)),
    # both images, then the no-change rebuild; the layer explorer with its chart
    "03_layers_and_cache": Expect(builds=3, charts=2, table=SELF_CHECK,
                                  widgets=(".widget-dropdown", ".widget-image")),
    # three Dockerfile variants x four scenarios, one widget per build
    "04_build_cache": Expect(builds=12, charts=2, table=SELF_CHECK),
    "05_build_flags": Expect(charts=1, table=SELF_CHECK, texts=("all three saves",)),
    # the class report over the seeded records (tests/class_results.py): pass rates and grid
    "instructor_class_report": Expect(charts=2, table=("learner", "passed", "total"),
                                      widgets=(".widget-button",),
                                      texts=tuple(LEARNERS) + ("check record(s)",)),
}

# -- JavaScript run in the page (JupyterLab exposes window.jupyterapp, see conftest) ---------
FIND_PANEL = """
const findPanel = (path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const widget of app.shell.widgets('main')) {
    if (widget.context && widget.context.path === path && widget.sessionContext) return widget;
  }
  return null;
};
"""

KERNEL_IDLE = FIND_PANEL + """
(path) => {
  const panel = findPanel(path);
  const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && panel.sessionContext.isReady && kernel.status === 'idle';
}
"""

START_RUN_ALL = FIND_PANEL + """
(path) => {
  const app = window.jupyterapp, panel = findPanel(path);
  app.shell.activateById(panel.id);          // the command acts on the current notebook
  window.__kitRun = {done: false, error: null};
  app.commands.execute('notebook:run-all-cells').then(
    () => { window.__kitRun.done = true; },
    (error) => { window.__kitRun.done = true; window.__kitRun.error = String(error); });
}
"""

RUN_FINISHED = FIND_PANEL + """
(path) => {
  const panel = findPanel(path);
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const busy = [...panel.content.node.querySelectorAll('.jp-InputPrompt')]
    .some((prompt) => prompt.innerText.includes('[*]'));
  return window.__kitRun.done && !busy && !!kernel && kernel.status === 'idle';
}
"""

BUSY_CELLS = FIND_PANEL + """
(path) => findPanel(path).content.widgets
  .map((cell, index) => [cell.node.querySelector('.jp-InputPrompt'), index])
  .filter(([prompt]) => prompt && prompt.innerText.includes('[*]'))
  .map(([, index]) => index)
"""

WIDGETS_SETTLED = FIND_PANEL + """
(path) => !findPanel(path).content.node.innerText.includes('Loading widget')
"""

COLLECT = FIND_PANEL + """
(path) => {
  const panel = findPanel(path), node = panel.content.node;
  const cells = panel.content.widgets;
  const text = (el) => (el ? el.innerText.trim() : '');
  const outputs = [...node.querySelectorAll('.jp-OutputArea-output')];
  const errors = [];
  cells.forEach((cell, index) => {
    if (cell.model.type !== 'code') return;
    for (const output of cell.model.outputs.toJSON()) {
      if (output.output_type === 'error') {
        errors.push(`cell ${index}: ${output.ename}: ${output.evalue}`);
      }
    }
  });
  const tables = [...node.querySelectorAll('.jp-OutputArea-output table')].map((table) => ({
    header: [...table.querySelectorAll('thead th')].map(text),
    rows: table.querySelectorAll('tbody tr').length,
  }));
  return {
    runError: window.__kitRun ? window.__kitRun.error : null,
    unexecuted: cells.map((cell, index) => [cell, index])
      .filter(([cell]) => cell.model.type === 'code' && cell.model.sharedModel.getSource().trim()
              && cell.model.executionCount === null)
      .map(([, index]) => index),
    errors,
    stderrTracebacks: [...node.querySelectorAll(
      '[data-mime-type="application/vnd.jupyter.stderr"]')]
      .map(text).filter((t) => t.includes('Traceback')),
    outputText: outputs.map(text).join('\\n'),
    widgetViews: node.querySelectorAll('.jp-OutputArea-output .jupyter-widgets').length,
    builds: [...node.querySelectorAll('.kit-build-progress')].map((box) => ({
      done: box.classList.contains('kit-build-done'),
      failed: box.classList.contains('kit-build-failed'),
      label: text(box.querySelector('.kit-build-label')),
      status: text(box.querySelector('.kit-build-status')),
    })),
    charts: outputs.flatMap((o) => [...o.querySelectorAll('img')])
      .filter((img) => img.src.startsWith('data:image/png') && img.naturalWidth > 0).length,
    checkReports: [...node.querySelectorAll('.kit-check-report')].map((report) => ({
      verdict: text(report.querySelector('b')),
      rows: report.querySelectorAll('tbody tr').length,
    })),
    errorBoxes: [...node.querySelectorAll('.jp-OutputArea-output [style*="fdecea"]')].map(text),
    tables,
  };
}
"""

HIDE_SIDEBARS = """
() => { window.jupyterapp.shell.collapseLeft(); window.jupyterapp.shell.collapseRight(); }
"""

CONTENT_HEIGHT = FIND_PANEL + """
(path) => {
  const panel = findPanel(path);
  const scroller = panel.content.node.querySelector('.jp-WindowedPanel-outer')
    || panel.content.node;
  scroller.scrollTop = 0;
  const cells = panel.content.widgets;
  const bottom = cells.length ? cells[cells.length - 1].node.getBoundingClientRect().bottom : 0;
  return Math.ceil(bottom + 80);   // + padding and the status bar
}
"""


def notebook_id(path: Path) -> str:
    return path.stem


def open_notebook(page, lab_server, path: str) -> None:
    """Open ``path`` in JupyterLab and wait until its kernel is started and idle."""
    page.goto(lab_server.page_url(f"lab/tree/{path}"), wait_until="domcontentloaded")
    try:
        page.wait_for_function(KERNEL_IDLE, arg=path, timeout=KERNEL_READY_TIMEOUT_S * 1000,
                               polling=500)
    except PlaywrightTimeout as exc:
        pytest.fail(f"{path}: no idle kernel after {KERNEL_READY_TIMEOUT_S} s ({exc}).\n"
                    f"Server log:\n{lab_server.log_tail()}", pytrace=False)


def run_all_cells(page, path: str) -> None:
    """Run > Run All Cells (the same command), then wait for the last cell and an idle kernel."""
    page.evaluate(START_RUN_ALL, path)
    try:
        page.wait_for_function(RUN_FINISHED, arg=path, timeout=RUN_TIMEOUT_S * 1000,
                               polling=1000)
    except PlaywrightTimeout as exc:
        busy = page.evaluate(BUSY_CELLS, path)
        pytest.fail(f"{path}: Run All did not finish within {RUN_TIMEOUT_S} s; cells still "
                    f"running or queued: {busy} ({exc})", pytrace=False)
    try:    # widget views render asynchronously after their output arrives
        page.wait_for_function(WIDGETS_SETTLED, arg=path,
                               timeout=WIDGETS_SETTLE_TIMEOUT_S * 1000, polling=500)
    except PlaywrightTimeout:
        pass    # the assertions below say which widget did not render


def screenshot(page, path: str, dest: Path) -> None:
    """The whole notebook in one PNG: the viewport is stretched to the notebook's height.

    Layout follows a resize asynchronously (outputs re-wrap), so the height is measured
    again until it no longer grows.
    """
    page.evaluate(HIDE_SIDEBARS)
    height = 0
    for _ in range(5):
        page.wait_for_timeout(500)    # let JupyterLab lay out at the current size
        needed = min(max(1000, page.evaluate(CONTENT_HEIGHT, path)), MAX_SCREENSHOT_HEIGHT)
        if needed <= height:
            break
        height = needed
        page.set_viewport_size({"width": 1400, "height": height})
    page.wait_for_timeout(500)
    dest.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(dest), full_page=True)


def assert_shows(facts: dict, expect: Expect) -> None:
    """The features ``expect`` lists are on the page; each assertion names what is missing."""
    text = facts["outputText"]
    builds = facts["builds"]
    assert len(builds) >= expect.builds, \
        f"expected >= {expect.builds} build progress widgets, the page shows {len(builds)}"
    not_done = [b for b in builds if not b["done"] or not b["label"].startswith("Done:")
                or "Built in" not in b["status"]]
    assert not_done == [], f"build widgets that did not reach 'Done … Built in': {not_done}"
    assert facts["charts"] >= expect.charts, \
        f"expected >= {expect.charts} PNG charts, the page shows {facts['charts']}"
    if expect.check_report:
        reports = facts["checkReports"]
        assert reports and all(r["rows"] > 0 and r["verdict"] for r in reports), \
            f"no rendered check-my-work table (verdict and rows): {reports}"
    if expect.table:
        headers = [t["header"] for t in facts["tables"] if t["rows"] > 0]
        assert any(set(expect.table) <= set(header) for header in headers), \
            f"no table with columns {expect.table}; tables on the page: {headers}"
    for selector in expect.widgets:
        assert selector in facts["presentSelectors"], f"no widget view matching {selector}"
    for snippet in expect.texts:
        assert snippet in text, f"{snippet!r} is not in the outputs"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=notebook_id)
def test_notebook_runs_and_renders_in_jupyterlab(notebook, lab, page):
    """Open, Run All Cells, wait for the end; no errors, every expected feature rendered."""
    assert notebook.stem in EXPECTED, f"add {notebook.stem} to EXPECTED in {__file__}"
    expect = EXPECTED[notebook.stem]
    committed = notebook.read_bytes()
    checkpoint = notebook.parent / ".ipynb_checkpoints" / f"{notebook.stem}-checkpoint.ipynb"
    had_checkpoint = checkpoint.exists()
    path = notebook.relative_to(REPO_ROOT).as_posix()

    open_notebook(page, lab, path)
    run_all_cells(page, path)
    facts = page.evaluate(COLLECT, path)
    facts["presentSelectors"] = [s for s in expect.widgets
                                 if page.locator(f".jp-OutputArea-output {s}").count()]
    screenshot(page, path, SCREENSHOTS / f"{notebook.stem}.png")

    # It ran to the end without an error, as a learner would see it.
    assert facts["runError"] is None, f"Run All Cells failed: {facts['runError']}"
    assert facts["unexecuted"] == [], \
        f"cells {facts['unexecuted']} never ran (Run All stops at a failing cell)"
    assert facts["errors"] == []
    assert facts["stderrTracebacks"] == []
    assert "Traceback" not in facts["outputText"]
    assert facts["errorBoxes"] == [], "a kit error (red box) is shown"
    # Widgets rendered as widgets, not as a placeholder or an error.
    for broken in ("Loading widget", "Error displaying widget", "Model not found"):
        assert broken not in facts["outputText"], f"a widget view shows {broken!r}"
    if expect.builds or expect.widgets:
        assert facts["widgetViews"] > 0, "no ipywidgets view in the DOM"
    assert_shows(facts, expect)
    # Autosave is off and checkpoints go to a temporary folder: the course stays untouched.
    assert notebook.read_bytes() == committed, f"{path} was modified on disk"
    assert checkpoint.exists() == had_checkpoint, f"the server wrote {checkpoint}"
