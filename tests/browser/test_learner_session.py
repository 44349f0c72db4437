"""A learner's session in JupyterLab, click by click, on the real engine.

Open notebook 02; follow its link to the starter (an editor tab opens on the file); break
the Dockerfile there and save; run the notebook's first cells and press "Check my work":
the report says NOT YET, the failing check names the line of *this* file, and that line is
marked in the numbered Dockerfile below it. Fix the file in the same editor, save, press
the button again: PASSED, with the achievement box. Finally ``kit.restore_starter()`` in a
new cell puts the shipped starter back and keeps the learner's file as a backup.

The learner's file is the real ``exercises/multistage-go/Dockerfile.multistage`` (the
notebook's link and cells name it): the test puts its committed bytes back whatever
happens, and removes the backups and hint state it made (namespace ``browser``).
Screenshots go to ``out/browser/learner-<n>-<step>.png``.
"""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from helpers.config import EXERCISE_DIR, OUT_DIR, REPO_ROOT, SOLUTIONS_DIR
from tests.browser.conftest import NAMESPACE
from tests.browser.test_notebooks_in_jupyterlab import (FIND_PANEL, RUN_FINISHED, SCREENSHOTS,
                                                        open_notebook)

pytestmark = pytest.mark.browser

NOTEBOOK = "notebooks/02_multi_stage.ipynb"
LEARNER_FILE = EXERCISE_DIR / "Dockerfile.multistage"
EDITOR_PATH = LEARNER_FILE.relative_to(REPO_ROOT).as_posix()
CA_LINE = "COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt"
#: Cells run before the button: the imports, then ``kit = Course.start()`` and the build
#: of the learner's file, then the button cell.
SETUP_CELLS = (1, 3)
BUTTON_CELL = 15
CELL_TIMEOUT_S = 900
CHECK_TIMEOUT_S = 900      # build, run, and the dep-cache probe's rebuild, on a busy engine
EDITOR_TIMEOUT_S = 60
#: The kernels' learner folder (``helpers.learner.state.learner_dir`` in namespace browser).
LEARNER_STATE = OUT_DIR / "learners" / NAMESPACE

RUN_CELL = FIND_PANEL + """
([path, index]) => {
  const app = window.jupyterapp, panel = findPanel(path);
  app.shell.activateById(panel.id);
  panel.content.activeCellIndex = index;
  window.__kitRun = {done: false, error: null};
  app.commands.execute('notebook:run-cell').then(
    () => { window.__kitRun.done = true; },
    (error) => { window.__kitRun.done = true; window.__kitRun.error = String(error); });
}
"""

INSERT_AND_RUN = FIND_PANEL + """
([path, source]) => {
  const app = window.jupyterapp, panel = findPanel(path);
  app.shell.activateById(panel.id);
  panel.content.activeCellIndex = panel.content.widgets.length - 1;
  return app.commands.execute('notebook:insert-cell-below').then(() => {
    panel.content.activeCell.model.sharedModel.setSource(source);
    window.__kitRun = {done: false, error: null};
    return app.commands.execute('notebook:run-cell').then(
      () => { window.__kitRun.done = true; },
      (error) => { window.__kitRun.done = true; window.__kitRun.error = String(error); });
  });
}
"""

FIND_EDITOR = """
(path) => {
  for (const widget of window.jupyterapp.shell.widgets('main')) {
    if (widget.context && widget.context.path === path && !widget.sessionContext
        && widget.content && widget.content.editor) return true;
  }
  return false;
}
"""

SET_EDITOR_TEXT = """
([path, text]) => {
  for (const widget of window.jupyterapp.shell.widgets('main')) {
    if (widget.context && widget.context.path === path && widget.content
        && widget.content.editor) {
      window.jupyterapp.shell.activateById(widget.id);
      widget.content.model.sharedModel.setSource(text);
      widget.content.editor.focus();
      return widget.id;
    }
  }
  return null;
}
"""

CELL_OUTPUT = FIND_PANEL + """
([path, index]) => {
  const cell = findPanel(path).content.widgets[index];
  const reports = [...cell.node.querySelectorAll('.kit-check-report')].map((report) => ({
    verdict: report.querySelector('b').innerText.trim(),
    rows: [...report.querySelectorAll('tbody tr')].map(
      (tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText.trim())),
  }));
  return {
    reports,
    marked: [...cell.node.querySelectorAll('.kit-dockerfile .kit-line[style*="background"]')]
      .map((el) => Number(el.dataset.line)),
    achievement: [...cell.node.querySelectorAll('.kit-achievement')].map((el) => el.innerText),
    notices: cell.node.innerText,
    errors: cell.model.outputs.toJSON().filter((o) => o.output_type === 'error')
      .map((o) => `${o.ename}: ${o.evalue}`),
  };
}
"""


@pytest.fixture
def learner_file():
    """The committed starter's bytes go back, and the namespace's learner state goes, after
    the test, whatever it did to them."""
    committed = LEARNER_FILE.read_bytes()
    state = LEARNER_STATE
    had_state = state.exists()
    try:
        yield LEARNER_FILE
    finally:
        LEARNER_FILE.write_bytes(committed)
        if not had_state:
            shutil.rmtree(state, ignore_errors=True)


def run_cell(page, index: int, source: str | None = None) -> None:
    """Run cell ``index`` (or a new cell with ``source`` at the end) and wait for the kernel."""
    if source is None:
        page.evaluate(RUN_CELL, [NOTEBOOK, index])
    else:
        page.evaluate(INSERT_AND_RUN, [NOTEBOOK, source])
    try:
        page.wait_for_function(RUN_FINISHED, arg=NOTEBOOK, timeout=CELL_TIMEOUT_S * 1000,
                               polling=1000)
    except PlaywrightTimeout:
        pytest.fail(f"cell {index if source is None else source!r} did not finish within "
                    f"{CELL_TIMEOUT_S} s", pytrace=False)


def edit_and_save(page, text: str) -> None:
    """Replace the editor tab's text and save it with Ctrl+S, as the learner does."""
    assert page.evaluate(SET_EDITOR_TEXT, [EDITOR_PATH, text]), "no editor tab on the file"
    page.keyboard.press("Control+s")
    deadline_ms = EDITOR_TIMEOUT_S * 1000
    waited = 0
    while LEARNER_FILE.read_text() != text and waited < deadline_ms:
        page.wait_for_timeout(250)
        waited += 250
    assert LEARNER_FILE.read_text() == text, "Ctrl+S in the editor did not save the file"


def click_check(page, attempt: int) -> dict:
    """Press "Check my work" and wait for report number ``attempt`` in the button's cell."""
    page.evaluate(FIND_PANEL + "(path) => window.jupyterapp.shell.activateById("
                  "findPanel(path).id)", NOTEBOOK)
    # A report already on the page is marked as seen: this click's report is a new node.
    page.evaluate(FIND_PANEL + """([path, index]) => {
      const cell = findPanel(path).content.widgets[index];
      cell.node.querySelectorAll('.kit-check-report').forEach((r) => { r.dataset.kitSeen = '1'; });
    }""", [NOTEBOOK, BUTTON_CELL])
    button = page.locator(".widget-button", has_text="Check my work").first
    button.scroll_into_view_if_needed()
    button.click()
    # The button is disabled while the check runs, enabled again when its report is shown.
    try:
        page.wait_for_function(
            FIND_PANEL + """([path, index]) => {
              const cell = findPanel(path).content.widgets[index];
              const button = [...cell.node.querySelectorAll('button')]
                .find((b) => b.innerText.includes('Check my work'));
              const fresh = [...cell.node.querySelectorAll('.kit-check-report')]
                .filter((r) => !r.dataset.kitSeen);
              return button && !button.disabled && fresh.length > 0;
            }""", arg=[NOTEBOOK, BUTTON_CELL], timeout=CHECK_TIMEOUT_S * 1000, polling=1000)
    except PlaywrightTimeout:
        shot(page, attempt, "timeout")
        output = page.evaluate(CELL_OUTPUT, [NOTEBOOK, BUTTON_CELL])
        pytest.fail(f"check {attempt}: no report within {CHECK_TIMEOUT_S} s; the cell shows "
                    f"{output['notices'][-2000:]!r}", pytrace=False)
    return page.evaluate(CELL_OUTPUT, [NOTEBOOK, BUTTON_CELL])


def check_once(page, attempt: int, step: str) -> tuple[dict, dict]:
    """Press the button; the one report it shows and the cell's outputs, photographed, with
    no error output in the cell."""
    output = click_check(page, attempt)
    shot(page, attempt, step)
    assert output["errors"] == []
    (report,) = output["reports"]
    return report, output


def shot(page, attempt: int, step: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"learner-{attempt}-{step}.png"), full_page=True)


def row_of(report: dict, check_id: str) -> list[str]:
    rows = [row for row in report["rows"] if len(row) > 1 and row[1].startswith(check_id)]
    assert rows, f"no {check_id} row in {report['rows']}"
    return rows[0]


def test_a_learner_breaks_checks_fixes_and_restores(lab, page, learner_file):
    reference = (SOLUTIONS_DIR / "Dockerfile.multistage").read_text()
    broken = "".join(line for line in reference.splitlines(keepends=True)
                     if line.strip() != CA_LINE)
    assert broken != reference
    server_copy = next(number for number, line in enumerate(broken.splitlines(), 1)
                       if line.startswith("COPY --from=build /out/server"))

    open_notebook(page, lab, NOTEBOOK)
    # 1. The notebook's link opens the starter in an editor tab.
    page.locator(".jp-RenderedMarkdown a", has_text="in the editor").first.click()
    page.wait_for_function(FIND_EDITOR, arg=EDITOR_PATH, timeout=EDITOR_TIMEOUT_S * 1000)
    shot(page, 1, "editor")

    # 2. Break it there (no CA bundle in the final stage), save, check: NOT YET, with the line.
    edit_and_save(page, broken)
    for index in SETUP_CELLS + (BUTTON_CELL,):
        run_cell(page, index)
    report, failing = check_once(page, 1, "fail")
    assert report["verdict"].startswith("NOT YET"), report
    ca = row_of(report, "ca-certs")
    assert ca[0] == "FAIL" and ca[2] == f"line {server_copy}", ca
    assert server_copy in failing["marked"], \
        f"line {server_copy} is not marked in the numbered Dockerfile: {failing['marked']}"

    # 3. Fix it in the same editor tab, save, check again: PASSED and what was achieved.
    edit_and_save(page, reference)
    report, passing = check_once(page, 2, "pass")
    assert report["verdict"].startswith("PASSED"), report
    assert row_of(report, "ca-certs")[0] == "PASS"
    assert passing["achievement"], "no achievement box after the last required check passed"

    # 4. Back to the starter from a cell; the learner's version is kept as a backup.
    run_cell(page, -1, source="kit.restore_starter()")
    shot(page, 3, "restored")
    pristine = (REPO_ROOT / "exercises" / "pristine" / "Dockerfile.multistage").read_bytes()
    assert LEARNER_FILE.read_bytes() == pristine
    backups = sorted((LEARNER_STATE / "backups").glob("Dockerfile.multistage.*"))
    assert backups and backups[-1].read_text() == reference
