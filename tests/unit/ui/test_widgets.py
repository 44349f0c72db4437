"""Notebook widgets on synthetic build events (no daemon, no browser), and one nbclient run."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from helpers.ui import widgets as kitw
from helpers.build import BuildEvent, BuildResult, StepResult, build_image
from helpers.errors import BuildError, KitError
from helpers.grading.report import CheckReport, CheckResult, check_report_text, verdict
from tests.unit.fakes import FakeClient

ROOT = Path(__file__).resolve().parents[3]
IMAGE_ID = "sha256:" + "cd" * 32
RUN_HINT = ("The command in this RUN step failed: read the log lines just above the error for "
            "the command's own message.")


class FakeHandle:
    """Stands in for IPython's DisplayHandle: records every bundle it is given."""

    def __init__(self, bundle):
        self.bundles = [bundle]

    def update(self, obj, raw=False):
        assert raw is True
        self.bundles.append(obj)

    @property
    def text(self):
        return self.bundles[-1]["text/plain"]


class FakeDisplay:
    """Replaces ``helpers.ui.widgets.display``; returns a FakeHandle when a display_id is asked."""

    def __init__(self):
        self.calls = []
        self.handles = []

    def __call__(self, obj, raw=False, display_id=None, **kwargs):
        self.calls.append((obj, raw, display_id))
        if display_id:
            handle = FakeHandle(obj)
            self.handles.append(handle)
            return handle
        return None


@pytest.fixture
def shown(monkeypatch):
    fake = FakeDisplay()
    monkeypatch.setattr(kitw, "display", fake)
    return fake


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


STEPS = [("FROM golang:1.22", False, 0.4), ("COPY go.mod go.sum ./", True, 0.1),
         ("RUN go build -o server ./cmd/server", False, 12.0)]


def step_events(steps=STEPS, extra_lines=()):
    """step / line / step-done events as helpers.build.classic's tracker emits them."""
    events, elapsed, results = [], 0.0, []
    total = len(steps)
    for number, (instruction, cached, duration) in enumerate(steps, 1):
        events.append(BuildEvent("line", elapsed, line=f"Step {number}/{total} : {instruction}"))
        events.append(BuildEvent("step", elapsed, step=number, total=total,
                                 instruction=instruction))
        if cached:
            events.append(BuildEvent("line", elapsed, line=" ---> Using cache"))
        for line in extra_lines:
            events.append(BuildEvent("line", elapsed, line=line))
        elapsed += duration
        result = StepResult(number, instruction, duration, cached)
        results.append(result)
        events.append(BuildEvent("step-done", elapsed, step=number, total=total,
                                 instruction=instruction, result=result))
    return events, results, elapsed


def success_events():
    events, results, elapsed = step_events()
    build = BuildResult("exercise2-original", IMAGE_ID, results,
                        [e.line for e in events if e.kind == "line"], 15.9)
    events.append(BuildEvent("line", elapsed, line="Successfully built cdcdcdcdcdcd"))
    events.append(BuildEvent("done", 15.9, total=3, result=build))
    return events


def error_events():
    events, _, elapsed = step_events(STEPS[:2])
    events += [
        BuildEvent("line", elapsed, line="Step 3/3 : RUN go build -o server ./cmd/server"),
        BuildEvent("step", elapsed, step=3, total=3,
                   instruction="RUN go build -o server ./cmd/server"),
        BuildEvent("line", elapsed + 1, line="go: cannot find main module <here>"),
    ]
    error = BuildError("The command '/bin/sh -c go build' returned a non-zero code: 1", step=3,
                       instruction="RUN go build -o server ./cmd/server",
                       log=[e.line for e in events if e.kind == "line"], hint=RUN_HINT)
    events.append(BuildEvent("error", elapsed + 1.5, error=error))
    return events, error


# -- BuildProgress ------------------------------------------------------------------------

def test_outside_a_kernel_there_is_no_ipython():
    assert kitw.in_ipython() is False


def test_success_sequence_drives_bar_label_log_and_final_text(shown):
    progress = kitw.BuildProgress("exercise2-original", frontend="notebook")
    assert len(shown.calls) == 1
    bundle, raw, display_id = shown.calls[0]
    assert raw is True and display_id is True
    assert bundle["application/vnd.jupyter.widget-view+json"] == {
        "model_id": progress.box.model_id, "version_major": 2, "version_minor": 0}
    assert "waiting" in bundle["text/plain"]
    assert progress.accordion.selected_index is None
    assert progress.accordion.titles == ("Full build log",)

    events = success_events()
    styles = []
    for event in events:
        progress(event)
        styles.append(progress.bar.bar_style)
        if event.kind == "step" and event.step == 2:
            assert (progress.bar.max, progress.bar.value) == (3, 1)
            assert progress.label_widget.value == "Step 2/3 · COPY go.mod go.sum ./ · 0.4 s"
            assert progress.text_summary().startswith("[exercise2-original] step 2/3 [####")
        if event.kind == "step-done" and event.step == 2:
            assert progress.bar.value == 2
            assert progress.label_widget.value.endswith("· cached")
    assert set(styles[:-1]) == {"info"} and styles[-1] == "success"
    assert (progress.bar.max, progress.bar.value) == (3, 3)
    assert progress.accordion.selected_index is None            # still collapsed
    assert "Step 3/3 : RUN go build -o server ./cmd/server" in progress.log.value
    assert "Successfully built cdcdcdcdcdcd" in progress.log.value
    assert "Built in 15.9 s · 1 of 3 steps from cache · image cdcdcdcdcdcd" in \
        progress.status.value
    assert progress.result is events[-1].result
    handle = shown.handles[0]
    assert handle.text == ("[exercise2-original] built in 15.9s, 1 of 3 steps cached, "
                           "image cdcdcdcdcdcd")
    # the saved output's text is refreshed at the end, not on every step (see _refresh)
    assert len(handle.bundles) == 2
    assert len(shown.calls) == 1                                # no second display


def test_last_expression_does_not_display_twice(shown):
    progress = kitw.BuildProgress("t", frontend="notebook")
    progress._ipython_display_()        # what IPython does with a cell's last expression
    assert len(shown.calls) == 1
    progress.show()                     # an explicit second view
    for event in success_events():
        progress(event)
    assert len(shown.calls) == 2
    assert all("built in" in handle.text for handle in shown.handles)


def test_error_shows_message_hint_and_log_without_raising(shown):
    progress = kitw.BuildProgress("exercise2-original", frontend="notebook")
    events, error = error_events()
    for event in events:
        progress(event)                 # must not raise: the caller's exception does
    assert progress.bar.bar_style == "danger"
    assert (progress.bar.max, progress.bar.value) == (3, 2)
    assert progress.error is error
    assert progress.label_widget.value.startswith("Failed at step 3/3 · RUN go build")
    assert "Step 3 (RUN go build -o server ./cmd/server) failed: The command" in \
        progress.status.value
    assert "Hint:" in progress.status.value and "command in this RUN step failed" in \
        progress.status.value
    assert "#c0392b" in progress.status.value                   # the red border
    assert progress.accordion.selected_index == 0               # log opened on failure
    assert "go: cannot find main module &lt;here&gt;" in progress.log.value
    text = shown.handles[0].text
    assert "[exercise2-original] FAILED at step 3/3" in text
    assert "error: Step 3 (RUN go build -o server ./cmd/server) failed: The command" in text
    assert f"hint: {RUN_HINT}" in text
    assert "  | go: cannot find main module <here>" in text
    assert "Traceback" not in text


def test_log_updates_are_throttled_but_the_last_lines_arrive(shown):
    clock = FakeClock()
    progress = kitw.BuildProgress("noisy", frontend="notebook", clock=clock, log_lines=50)
    pushes = []
    progress.log.observe(lambda change: pushes.append(change["new"]), names="value")
    progress(BuildEvent("step", 0.0, step=1, total=1, instruction="RUN noisy"))
    pushes.clear()
    for i in range(1000):               # 1000 lines in 0.999 s of fake time
        clock.now = i / 1000
        progress(BuildEvent("line", clock.now, line=f"line {i}"))
    assert 1 <= len(pushes) <= 5
    assert "line 999" not in progress.log.value   # not pushed yet
    result = BuildResult("noisy", IMAGE_ID, [StepResult(1, "RUN noisy", 1.0)], [], 1.0)
    progress(BuildEvent("done", 1.0, total=1, result=result))
    assert "line 999" in progress.log.value      # the final flush
    assert "line 949" not in progress.log.value and "line 950" in progress.log.value
    assert progress.log_text.count("\n") == 49


def test_real_build_stream_through_the_widget(shown, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    chunks = [
        {"stream": "Step 1/2 : FROM golang:1.22\n ---> 1111aaaa2222\n"},
        {"stream": "Step 2/2 : COPY . .\n ---> Using cache\n ---> 3333bbbb4444\n"},
        {"aux": {"ID": IMAGE_ID}},
        {"stream": "Successfully built cdcdcdcdcdcd\n"},
    ]
    progress = kitw.BuildProgress("t:1", frontend="notebook")
    result = build_image(FakeClient(chunks), tmp_path, "t:1", on_event=progress)
    assert progress.result is result
    assert (progress.bar.value, progress.bar.max, progress.bar.bar_style) == (2, 2, "success")
    assert "1 of 2 steps cached, image cdcdcdcdcdcd" in shown.handles[0].text


def test_text_mode_prints_like_the_terminal_and_never_displays(monkeypatch):
    monkeypatch.setattr(kitw, "display", lambda *a, **k: pytest.fail("display called"))
    out = io.StringIO()
    progress = kitw.BuildProgress("exercise2-original", frontend="text", stream=out)
    for event in success_events():
        progress(event)
    printed = out.getvalue()
    assert "[exercise2-original] step 3/3 [############]" in printed
    assert "[exercise2-original] built in 15.9s, 1 of 3 steps from cache, image cdcdcdcdcdcd" \
        in printed
    out = io.StringIO()
    progress = kitw.BuildProgress("broken", stream=out)          # auto: no kernel -> text
    assert progress.frontend == "text"
    for event in error_events()[0]:
        progress(event)
    printed = out.getvalue()
    assert "FAILED after" in printed and "Step 3 (RUN go build" in printed
    assert f"[broken] hint: {RUN_HINT}" in printed
    assert "Traceback" not in printed


# -- show_error -----------------------------------------------------------------------------

def test_show_error_red_box_and_plain_text(shown):
    _, error = error_events()
    kitw.show_error(error, frontend="notebook")
    bundle, raw, display_id = shown.calls[-1]
    assert raw is True and display_id is None
    assert bundle["text/plain"] == f"error: {error.message}\nhint: {RUN_HINT}"
    assert "border:2px solid #c0392b" in bundle["text/html"]
    assert "Full build log" in bundle["text/html"]
    assert "&lt;here&gt;" in bundle["text/html"]
    kitw.show_error(KitError("No engine answered.", ""), frontend="notebook")
    assert shown.calls[-1][0]["text/plain"] == "error: No engine answered."
    out = io.StringIO()
    kitw.show_error(KitError("No engine answered.", "Run make setup."), stream=out)
    assert out.getvalue() == "error: No engine answered.\nhint: Run make setup.\n"


# -- LayerExplorer --------------------------------------------------------------------------

def frame_of(*rows):
    return pd.DataFrame([{"step": i, "instruction": text, "size_mb": size}
                         for i, (text, size) in enumerate(rows, 1)])


ORIGINAL = frame_of(("(imported base filesystem)", 74.8), ("RUN go build ./cmd/server", 620.1))
OPTIMIZED = frame_of(("COPY /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/", 0.21),
                     ("COPY /out/server /server", 4.86))


class CountingChart:
    def __init__(self):
        self.calls = []

    def __call__(self, name, frame):
        self.calls.append(name)
        fig = Figure(figsize=(3, 2))
        fig.add_subplot().barh(frame["instruction"].str[:10], frame["size_mb"])
        return fig


def test_layer_explorer_switches_tables_and_caches_loads_and_charts(shown):
    loads = []

    def load_optimized():
        loads.append("optimized")
        return OPTIMIZED

    chart = CountingChart()
    explorer = kitw.LayerExplorer({"original": ORIGINAL, "optimized": load_optimized},
                                  chart=chart, frontend="notebook")
    assert explorer.dropdown.options == ("original", "optimized")
    assert explorer.selected == "original" and loads == []       # lazy
    assert "RUN go build ./cmd/server" in explorer.table.value
    assert "620.10" in explorer.table.value
    first_png = bytes(explorer.image.value)     # the Bytes trait hands back a memoryview
    assert first_png.startswith(b"\x89PNG")
    handle = shown.handles[0]
    assert "RUN go build ./cmd/server" in handle.text and "original" in handle.text

    explorer.select("optimized")
    assert "COPY /out/server /server" in explorer.table.value
    assert "RUN go build" not in explorer.table.value
    assert bytes(explorer.image.value) != first_png
    assert "COPY /out/server /server" in handle.text and "RUN go build" not in handle.text
    assert explorer.text_summary() == handle.text

    explorer.select("original")
    explorer.dropdown.value = "optimized"        # a choice made in the browser
    assert "COPY /out/server /server" in explorer.table.value
    assert loads == ["optimized"]
    assert sorted(chart.calls) == ["optimized", "original"]
    assert len(shown.calls) == 1

    with pytest.raises(KitError) as info:
        explorer.select("nope")
    assert "original, optimized" in info.value.hint


def test_layer_explorer_without_chart_and_failing_loader(shown):
    attempts = []

    def not_built():
        attempts.append(1)
        raise KitError("There is no image 'exercise2-optimized' on this engine.",
                       "Build it first.")

    explorer = kitw.LayerExplorer({"original": ORIGINAL, "optimized": not_built},
                                  frontend="notebook")
    assert explorer.image.layout.display == "none"
    explorer.select("optimized")
    assert "There is no image" in explorer.table.value and "Build it first." in \
        explorer.table.value
    assert "error: There is no image" in shown.handles[0].text
    assert "hint: Build it first." in shown.handles[0].text
    explorer.select("optimized")                 # asked again, not cached
    assert len(attempts) == 2
    with pytest.raises(KitError):
        kitw.LayerExplorer({}, frontend="notebook")
    with pytest.raises(TypeError):
        kitw.LayerExplorer({"x": 3}, frontend="notebook")


def test_layer_explorer_text_mode_prints_the_table():
    out = io.StringIO()
    explorer = kitw.LayerExplorer({"original": ORIGINAL, "optimized": OPTIMIZED}, stream=out)
    assert explorer.frontend == "text"
    assert "RUN go build ./cmd/server" in out.getvalue()
    explorer.select("optimized")
    assert "COPY /out/server /server" in out.getvalue().split("[layers] optimized")[1]


# -- the check report and "Check my work" ----------------------------------------------------

def check_report():
    return CheckReport([CheckResult("size", "pass", "9.13 MB < 15 MB"),
                        CheckResult("runs", "fail", "GET /health answered 500", "Fix <main>."),
                        CheckResult("lint", "skip", "no hadolint", "pip install",
                                    required=False)], [])


def test_check_report_html_is_the_report_table_with_the_verdict(shown):
    report = check_report()
    kitw.show_check_report(report, frontend="notebook")
    bundle, raw, _ = shown.calls[-1]
    assert raw is True and bundle["text/plain"] == check_report_text(report)
    markup = bundle["text/html"]
    assert markup.startswith("<div class='kit-check-report'")
    assert f"<b style='color:#c0392b'>{verdict(report)}</b>" in markup
    cells = [row.split("</td>")[:2] for row in markup.split("<tr>")[2:]]
    assert [cell[0].rsplit(">", 1)[1] for cell in cells] == ["FAIL", "SKIP", "PASS"]
    assert "Fix &lt;main&gt;." in markup and "pip install" not in markup  # hints: fails only


def test_check_my_work_in_text_mode_prints_the_reports_text():
    out = io.StringIO()
    button = kitw.CheckMyWork(check_report, stream=out)
    assert button.frontend == "text"
    assert "press the button" in out.getvalue()
    button.click()
    assert out.getvalue().endswith(check_report_text(check_report()) + "\n")
    assert button.text_summary() == check_report_text(button.report)
    button = kitw.CheckMyWork(lambda: (_ for _ in ()).throw(KitError("No engine.", "Start it.")),
                              stream=out, show=False)
    button.click()
    assert button.report is None and not button.button.disabled


def test_import_has_no_global_side_effects():
    code = ("import sys, helpers.ui.widgets; "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# -- a real kernel, as CI runs the notebooks -----------------------------------------------

NOTEBOOK_CELLS = [
    f"""
    import sys
    sys.path.insert(0, {str(ROOT)!r})
    import pandas as pd
    from matplotlib.figure import Figure
    from helpers.build import BuildEvent, BuildResult, StepResult
    from helpers.errors import BuildError, KitError
    from helpers.ui.widgets import BuildProgress, LayerExplorer, in_ipython, show_error
    print("kernel:", in_ipython())
    """,
    """
    steps = [StepResult(1, "FROM golang:1.22", 0.4), StepResult(2, "COPY . .", 0.1, True),
             StepResult(3, "RUN go build -o server ./cmd/server", 12.0)]
    progress = BuildProgress("nb-original")
    for s in steps:
        progress(BuildEvent("step", 1.0, step=s.number, total=3, instruction=s.instruction))
        progress(BuildEvent("line", 1.0, line=f"Step {s.number}/3 : {s.instruction}"))
        progress(BuildEvent("step-done", 2.0, step=s.number, total=3, result=s))
    progress(BuildEvent("done", 15.9, total=3, result=BuildResult(
        "nb-original", "sha256:" + "ab" * 32, steps, [], 15.9)))
    """,
    """
    broken = BuildProgress("nb-broken")
    broken(BuildEvent("step", 0.5, step=1, total=2, instruction="RUN go build"))
    error = BuildError("returned a non-zero code: 1", step=1, instruction="RUN go build",
                       hint="Read the log lines above.")
    broken(BuildEvent("error", 0.9, error=error))
    try:
        raise error
    except KitError as exc:
        show_error(exc)
    """,
    """
    def chart(name, frame):
        fig = Figure(figsize=(3, 2))
        fig.add_subplot().bar(frame["step"], frame["size_mb"])
        return fig
    explorer = LayerExplorer({
        "original": pd.DataFrame({"step": [1, 2], "instruction": ["FROM golang:1.22",
                                  "RUN go build ./cmd/server"], "size_mb": [760.1, 3.3]}),
        "optimized": lambda: pd.DataFrame({"step": [1], "instruction": [
                                  "COPY /out/server /server"], "size_mb": [4.9]}),
    }, chart=chart)
    """,
    """
    explorer.select("optimized")
    """,
    """
    LayerExplorer({"solo": pd.DataFrame({"instruction": ["COPY solo /solo"]})})
    """,
]


def test_notebook_execution_degrades_to_text(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(code)) for code in NOTEBOOK_CELLS]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    nbformat.write(nb, tmp_path / "executed.ipynb")

    outputs = [cell.outputs for cell in nb.cells]
    flat = [out for cell_outputs in outputs for out in cell_outputs]
    assert [out for out in flat if out.output_type == "error"] == []
    assert not any("Traceback" in out.get("text", "") for out in flat)

    def texts(cell_outputs):
        return "\n".join(out.get("data", {}).get("text/plain", "") + out.get("text", "")
                         for out in cell_outputs)

    assert "kernel: True" in texts(outputs[0])
    build = texts(outputs[1])
    assert "[nb-original] built in 15.9s, 1 of 3 steps cached, image abababababab" in build
    assert "application/vnd.jupyter.widget-view+json" in outputs[1][0].data
    failed = texts(outputs[2])
    assert "[nb-broken] FAILED at step 1/2" in failed
    assert "error: Step 1 (RUN go build) failed: returned a non-zero code: 1" in failed
    assert "hint: Read the log lines above." in failed
    assert any("text/html" in out.get("data", {}) for out in outputs[2])
    # the explorer's output (cell 4) was updated by select() in cell 5 through its display id
    assert "COPY /out/server /server" in texts(outputs[3])
    assert outputs[4] == []
    # a LayerExplorer as the last expression shows once, without an Out[] repr
    assert [out.output_type for out in outputs[5]] == ["display_data"]
    assert "COPY solo /solo" in texts(outputs[5])
    # nbclient kept the widget state, so a widget-aware viewer can still render them
    assert "application/vnd.jupyter.widget-state+json" in nb.metadata.get("widgets", {})
