"""Notebook widgets: live build progress, a layer explorer, and readable errors.

Each widget is displayed through a *display handle* whose MIME bundle carries both the widget
view (``application/vnd.jupyter.widget-view+json``) and a ``text/plain`` summary of its state.
JupyterLab renders the widget (the richer MIME type wins); where no widget frontend exists
(nbclient/nbconvert in CI, a notebook viewed on a website) the saved output is the text.
Outside an IPython kernel (plain ``python``) everything degrades to printed lines, with the
same formatting as :class:`helpers.ui.progress.TerminalProgress`.

Importing this module touches nothing global: no pyplot (charts are rendered from
``matplotlib.figure.Figure`` objects to PNG bytes), nothing displayed. The check report's
text and table come from :mod:`helpers.grading.report` (the CLI prints the same text); here
it is only displayed, as HTML or as that text.
"""

from __future__ import annotations

import html
import sys
import time
from collections import deque
from typing import Any, Callable, Mapping, TextIO, Union

import ipywidgets as widgets
import pandas as pd
from IPython import get_ipython
from IPython.display import display

from ..build import BuildEvent, BuildResult, StepResult
from ..errors import BuildError, KitError
from ..grading.report import ENGINE_LESS_NOTE, CheckReport, check_report_text, verdict
from .display import figure_png
from .progress import TerminalProgress, bar, shorten

__all__ = ["BuildProgress", "LayerExplorer", "in_ipython", "show_error"]

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
ERROR_COLOR = "#c0392b"
SUCCESS_COLOR = "#1e7e34"
LOG_TAIL_LINES = 10

FrameSource = Union[pd.DataFrame, Callable[[], pd.DataFrame]]
ChartFunction = Callable[[str, pd.DataFrame], Any]  # (name, frame) -> matplotlib Figure


def in_ipython() -> bool:
    """True when an IPython *kernel* runs this code (a notebook, nbclient), not a terminal."""
    return getattr(get_ipython(), "kernel", None) is not None


def _execution_count() -> int | None:
    return getattr(get_ipython(), "execution_count", None)


def _resolve_frontend(frontend: str) -> str:
    if frontend == "auto":
        return "notebook" if in_ipython() else "text"
    if frontend not in ("notebook", "text"):
        raise ValueError(f"frontend must be 'auto', 'notebook' or 'text', not {frontend!r}")
    return frontend


def _short_id(image_id: str) -> str:
    """``sha256:abcdef…`` -> the 12 hex digits ``docker images`` shows."""
    return image_id.split(":")[-1][:12]


def _error_text(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    hint = getattr(exc, "hint", "")
    return f"error: {message}" + (f"\nhint: {hint}" if hint else "")


def _error_html(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    hint = getattr(exc, "hint", "")
    parts = [f"<div style='font-weight:bold'>{html.escape(message)}</div>"]
    if hint:
        parts.append(f"<div style='margin-top:4px'><b>Hint:</b> {html.escape(hint)}</div>")
    return (f"<div style='border:2px solid {ERROR_COLOR}; border-radius:4px; padding:6px 10px;"
            f" background:#fdecea; color:#611a15'>{''.join(parts)}</div>")


def _pre_html(text: str, max_height: str = "24em") -> str:
    """Scrollable monospace block; ``column-reverse`` keeps it scrolled to the newest line."""
    return (f"<div style='max-height:{max_height}; overflow:auto; display:flex;"
            f" flex-direction:column-reverse'><pre style='margin:0; font-size:12px;"
            f" line-height:1.3'>{html.escape(text)}</pre></div>")


class _Displayable:
    """Shared display logic: one MIME bundle (widget view + text/plain) behind display handles.

    Subclasses provide ``box`` (the root widget), ``text_summary()`` and ``_print_text()``.
    """

    box: widgets.Widget
    _mode: str

    def _init_display(self, frontend: str) -> None:
        self._mode = _resolve_frontend(frontend)
        self._handles: list = []
        self._shown_in: int | None = None

    @property
    def frontend(self) -> str:
        """``"notebook"`` (display handles) or ``"text"`` (printed lines)."""
        return self._mode

    def mime_bundle(self) -> dict:
        """The bundle this object is displayed as: the widget view plus the text summary."""
        return {
            WIDGET_VIEW_MIME: {"model_id": self.box.model_id, "version_major": 2,
                               "version_minor": 0},
            "text/plain": self.text_summary(),
        }

    def text_summary(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _print_text(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def show(self) -> None:
        """Display a (new) view: a widget in JupyterLab, the text summary elsewhere."""
        self._shown_in = _execution_count()
        if self._mode == "text":
            self._print_text()
            self._handles.append(None)
            return
        # Outside IPython ``display`` prints and returns None: kept, and skipped by _refresh.
        self._handles.append(display(self.mime_bundle(), raw=True, display_id=True))

    def _refresh(self) -> None:
        """Re-send the bundle to every view so saved outputs end with the current text.

        Each update makes JupyterLab build a fresh view of the widget, so callers only
        refresh at meaningful moments (end of a build, a programmatic selection).
        """
        if self._mode != "notebook":
            return
        bundle = self.mime_bundle()
        for handle in self._handles:
            if handle is not None:
                handle.update(bundle, raw=True)

    def _ipython_display_(self) -> None:
        # ``BuildProgress(...)`` / ``LayerExplorer(...)`` as the last line of a cell already
        # displayed itself in the constructor: do not show it twice (nor its repr).
        if self._handles and self._shown_in == _execution_count():
            return
        self.show()


class BuildProgress(_Displayable):
    """A build progress display, used as ``build_image(..., on_event=BuildProgress(tag))``.

    Shows a step-N-of-M bar, the current step and elapsed time, a collapsible full log (the
    last ``log_lines`` lines) and, on failure, the error with its hint in a red box (the log
    opens too). Widget state changes on step/step-done/done/error events only; log text is
    pushed at most every ``log_interval_s`` seconds, and always at those events.

    Args:
        label: What is being built (the tag); titles the widget and prefixes the text.
        show: Display it now (otherwise call :meth:`show`).
        frontend: ``"auto"`` (widget in a kernel, else printed lines), ``"notebook"`` or
            ``"text"``.
        stream: Where text mode prints (stderr by default, like TerminalProgress).
        verbose: In text mode, also print every builder log line.
        log_lines: How many log lines the widget keeps.
        log_interval_s: Minimum seconds between two log-text updates.
        clock: Time source for the log throttle (tests pass a fake one).
    """

    def __init__(self, label: str, *, show: bool = True, frontend: str = "auto",
                 stream: TextIO | None = None, verbose: bool = False, log_lines: int = 2000,
                 log_interval_s: float = 0.3, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.label = label
        self.log_interval_s = log_interval_s
        self.clock = clock
        self.result: BuildResult | None = None
        self.error: BuildError | None = None
        self._lines: deque[str] = deque(maxlen=log_lines)
        self._log_dirty = False
        self._last_log_push = float("-inf")
        self._step = 0
        self._total = 0
        self._completed = 0
        self._instruction = ""
        self._elapsed = 0.0
        self._init_display(frontend)
        self._stream = stream or sys.stderr
        self._terminal = TerminalProgress(label, stream=self._stream, verbose=verbose)

        self.title = widgets.HTML(f"<b>Build</b> <code>{html.escape(label)}</code>")
        self.bar = widgets.IntProgress(value=0, min=0, max=1, bar_style="info",
                                       layout=widgets.Layout(width="100%"))
        self.label_widget = widgets.Label("Waiting for the first build step…")
        self.log = widgets.HTML(_pre_html(""))
        self.accordion = widgets.Accordion(children=[self.log], titles=("Full build log",),
                                           selected_index=None)
        self.status = widgets.HTML("", layout=widgets.Layout(display="none"))
        self.box = widgets.VBox([self.title, self.bar, self.label_widget, self.status,
                                 self.accordion])
        # CSS hooks (browser tests, custom styling): kit-build-done/-failed mark the end.
        self.box.add_class("kit-build-progress")
        self.label_widget.add_class("kit-build-label")
        self.status.add_class("kit-build-status")
        if show:
            self.show()

    # -- events ---------------------------------------------------------------------------
    def __call__(self, event: BuildEvent) -> None:
        self.on_event(event)

    def on_event(self, event: BuildEvent) -> None:
        """Consume one :class:`~helpers.build.BuildEvent`."""
        if self._mode == "text":
            self._terminal(event)
        if event.kind == "line":
            self._lines.append(event.line)
            self._log_dirty = True
            if self.clock() - self._last_log_push >= self.log_interval_s:
                self._push_log()
            return
        self._elapsed = event.elapsed_s
        if event.kind == "step":
            self._step, self._total = event.step, event.total
            self._instruction = event.instruction
            self._completed = max(self._completed, event.step - 1)
            self._update_widgets()
        elif event.kind == "step-done":
            self._step, self._total = event.step, event.total or self._total
            self._instruction = event.instruction or self._instruction
            self._completed = max(self._completed, event.step)
            cached = isinstance(event.result, StepResult) and event.result.cached
            self._update_widgets(suffix=" · cached" if cached else "")
        elif event.kind == "done":
            self._on_done(event)
        elif event.kind == "error":
            self._on_error(event)
        self._push_log()

    def _update_widgets(self, suffix: str = "") -> None:
        self.bar.max = max(self._total, 1)
        self.bar.value = min(self._completed, self.bar.max)
        self.label_widget.value = (f"Step {self._step}/{self._total} · "
                                   f"{shorten(self._instruction, 60)} · "
                                   f"{self._elapsed:.1f} s{suffix}")

    def _on_done(self, event: BuildEvent) -> None:
        result = event.result
        self.result = result if isinstance(result, BuildResult) else None
        steps = len(self.result.steps) if self.result else event.total
        self._total = max(steps, event.total, self._total)
        self._completed = self._total
        self.bar.max = max(self._total, 1)
        self.bar.value = self.bar.max
        self.bar.bar_style = "success"
        self.label_widget.value = f"Done: {self._total}/{self._total} steps · " \
                                  f"{self._elapsed:.1f} s"
        self.status.value = (f"<div style='color:{SUCCESS_COLOR}; font-weight:bold'>✔ "
                             f"{html.escape(self._done_sentence())}</div>")
        self.status.layout.display = None
        self.box.add_class("kit-build-done")
        self._push_log()
        self._refresh()

    def _on_error(self, event: BuildEvent) -> None:
        self.error = event.error
        if self.error is not None and getattr(self.error, "step", None):
            self._step = self.error.step
            self._instruction = getattr(self.error, "instruction", "") or self._instruction
        self.bar.bar_style = "danger"
        where = f"step {self._step}/{self._total}" if self._step else "before the first step"
        self.label_widget.value = (f"Failed at {where}"
                                   + (f" · {shorten(self._instruction, 60)}"
                                      if self._step else "")
                                   + f" · {self._elapsed:.1f} s")
        shown = self.error if self.error is not None else KitError("The build failed.")
        self.status.value = _error_html(shown)
        self.status.layout.display = None
        self.accordion.selected_index = 0     # the hint says to read the log: open it
        self.box.add_class("kit-build-failed")
        self._push_log()
        self._refresh()
        if self._mode == "text" and shown.hint:
            print(f"[{self.label}] hint: {shown.hint}", file=self._stream, flush=True)

    def _push_log(self) -> None:
        if self._log_dirty:
            self.log.value = _pre_html(self.log_text)
            self._log_dirty = False
            self._last_log_push = self.clock()

    # -- text -----------------------------------------------------------------------------
    @property
    def log_text(self) -> str:
        """The kept log lines (the last ``log_lines``), newline-joined."""
        return "\n".join(self._lines)

    def _done_sentence(self) -> str:
        result = self.result
        if result is None:
            return f"Built in {self._elapsed:.1f} s"
        return (f"Built in {result.duration_s:.1f} s · {result.cached_steps} of "
                f"{len(result.steps)} steps from cache · image {_short_id(result.image_id)}")

    def text_summary(self) -> str:
        """One plain-text view of the current state (what non-widget frontends show)."""
        prefix = f"[{self.label}]"
        if self.result is not None:
            result = self.result
            return (f"{prefix} built in {result.duration_s:.1f}s, {result.cached_steps} of "
                    f"{len(result.steps)} steps cached, image {_short_id(result.image_id)}")
        if self.bar.bar_style == "danger":
            where = f"at step {self._step}/{self._total} " if self._step else ""
            shown = self.error if self.error is not None else KitError("The build failed.")
            text = f"{prefix} FAILED {where}after {self._elapsed:.1f}s\n{_error_text(shown)}"
            tail = list(self._lines)[-LOG_TAIL_LINES:]
            if tail:
                text += "\nlast log lines:\n" + "\n".join(f"  | {line}" for line in tail)
            return text
        if self.bar.bar_style == "success":
            return f"{prefix} built in {self._elapsed:.1f}s"
        if not self._step:
            return f"{prefix} waiting for the first build step"
        return (f"{prefix} step {self._step}/{self._total} "
                f"{bar(self._completed, self._total)} {self._elapsed:.1f}s "
                f"{shorten(self._instruction)}")

    def _print_text(self) -> None:
        pass    # text mode prints each event as it comes (TerminalProgress)


class LayerExplorer(_Displayable):
    """Choose an image, see its layer table and a chart of it.

    Args:
        images: Image name -> its DataFrame, or a no-argument function returning it (called
            the first time the image is chosen, then cached), e.g.
            ``{tag: (lambda tag=tag: history_frame(client, tag)) for tag in tags}``.
        chart: ``chart(name, frame) -> matplotlib.figure.Figure``, drawn once per image; None
            for tables only.
        title: Heading above the dropdown.
        show: Display it now (otherwise call :meth:`show`).
        frontend: ``"auto"``, ``"notebook"`` or ``"text"`` (see :class:`BuildProgress`).
        stream: Where text mode prints (stdout by default).

    A loader raising :class:`~helpers.errors.KitError` (image not built yet) shows the error
    and hint instead of a table; it is asked again the next time that image is chosen.
    """

    def __init__(self, images: Mapping[str, FrameSource], chart: ChartFunction | None = None,
                 *, title: str = "Layers", show: bool = True, frontend: str = "auto",
                 stream: TextIO | None = None) -> None:
        if not images:
            raise KitError("LayerExplorer needs at least one image.",
                           "Pass {name: DataFrame or loader} for the images to compare.")
        for name, source in images.items():
            if not isinstance(source, pd.DataFrame) and not callable(source):
                raise TypeError(f"images[{name!r}] must be a DataFrame or a function "
                                f"returning one, not {type(source).__name__}")
        self.images = dict(images)
        self.chart = chart
        self._frames: dict[str, pd.DataFrame] = {}
        self._pngs: dict[str, bytes] = {}
        self._error: KitError | None = None
        self._init_display(frontend)
        self._stream = stream

        self.title = widgets.HTML(f"<b>{html.escape(title)}</b>")
        self.dropdown = widgets.Dropdown(options=list(self.images), description="Image")
        self.table = widgets.HTML()
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        if chart is None:
            self.image.layout.display = "none"
        self.box = widgets.VBox([self.title, self.dropdown, self.table, self.image])
        self.dropdown.observe(self._on_change, names="value")
        self._render(self.dropdown.value)
        if show:
            self.show()

    @property
    def selected(self) -> str:
        """The image currently shown."""
        return self.dropdown.value

    def select(self, name: str) -> None:
        """Show image ``name`` (what choosing it in the dropdown does), and refresh the text."""
        if name not in self.images:
            raise KitError(f"No image {name!r} in this explorer.",
                           "Choose one of: " + ", ".join(self.images))
        if name != self.dropdown.value:
            self.dropdown.value = name       # the observer renders it
        elif self._error is not None:
            self._render(name)               # ask a failed loader again
        self._refresh()

    def frame(self, name: str) -> pd.DataFrame:
        """The DataFrame of image ``name`` (a loader is called once, then cached)."""
        if name not in self._frames:
            source = self.images[name]
            self._frames[name] = source if isinstance(source, pd.DataFrame) else source()
        return self._frames[name]

    def _on_change(self, change: dict) -> None:
        # A choice made in the browser re-renders the widget only: updating the display
        # handle here would make JupyterLab rebuild the view under the learner's pointer.
        self._render(change["new"])
        if self._mode == "text" and self._handles:
            self._print_text()

    def _render(self, name: str) -> None:
        try:
            frame = self.frame(name)
        except KitError as exc:
            self._error = exc
            self.table.value = _error_html(exc)
            self.image.layout.display = "none"
            return
        self._error = None
        self.table.value = (
            "<div style='max-height:28em; overflow:auto'>"
            + frame.to_html(index=False, border=0, float_format=_format_float, na_rep="")
            + "</div>")
        if self.chart is not None:
            self.image.value = self._png(name, frame)
            self.image.layout.display = None

    def _png(self, name: str, frame: pd.DataFrame) -> bytes:
        if name not in self._pngs:
            self._pngs[name] = figure_png(self.chart(name, frame))
        return self._pngs[name]

    def text_summary(self) -> str:
        """The selected image's table as text (what non-widget frontends show)."""
        name = self.dropdown.value
        head = f"[layers] {name}  (images: {', '.join(self.images)})"
        if self._error is not None:
            return f"{head}\n{_error_text(self._error)}"
        frame = self._frames[name]
        return f"{head}\n{frame.to_string(index=False, float_format=_format_float)}"

    def _print_text(self) -> None:
        print(self.text_summary(), file=self._stream or sys.stdout, flush=True)


def _format_float(value: float) -> str:
    return f"{value:,.2f}"


def show_error(exc: KitError, *, frontend: str = "auto", stream: TextIO | None = None) -> None:
    """Show a kit error as a red box with its hint (text ``error: …`` / ``hint: …`` elsewhere).

    No traceback: notebooks catch :class:`~helpers.errors.KitError` and call this. A
    :class:`~helpers.errors.BuildError` also gets its full log in a collapsed section.
    """
    text = _error_text(exc)
    if _resolve_frontend(frontend) == "text":
        print(text, file=stream or sys.stderr, flush=True)
        return
    markup = _error_html(exc)
    log = getattr(exc, "log", None)
    if isinstance(exc, BuildError) and log:
        markup += ("<details style='margin-top:4px'><summary>Full build log</summary>"
                   + _pre_html("\n".join(log[-2000:])) + "</details>")
    display({"text/html": markup, "text/plain": text}, raw=True)


# ---------------------------------------------------------------------------------------------
# Check my work
# ---------------------------------------------------------------------------------------------
STATUS_COLORS = {"pass": SUCCESS_COLOR, "fail": ERROR_COLOR, "skip": "#7f8c8d"}


def check_report_html(report: CheckReport, hints: Mapping[str, str] | None = None) -> str:
    """A CheckReport as an HTML table: status, check, line, message and hint, failures
    first (``hints`` replaces a failure's hint); an engine-less report says so."""
    color = SUCCESS_COLOR if report.passed else ERROR_COLOR
    rows = []
    for row in report.table().itertuples(index=False):
        status = row.status.lower()
        check_id = row.check.removesuffix(" (advice)")
        hint = (hints or {}).get(check_id, row.hint) if status == "fail" else ""
        rows.append(
            f"<tr><td style='{CELL};color:{STATUS_COLORS[status]};font-weight:bold'>"
            f"{row.status}</td><td style='{CELL};white-space:nowrap'>"
            f"<code>{html.escape(row.check)}</code></td>"
            f"<td style='{CELL};white-space:nowrap'>{html.escape(row.line)}</td>"
            f"<td style='{CELL}'>{html.escape(row.message)}</td>"
            f"<td style='{CELL};white-space:pre-wrap'>{html.escape(hint)}</td></tr>")
    header = "".join(f"<th style='{CELL}'>{name}</th>"
                     for name in ("status", "check", "where", "what we measured", "hint"))
    return ("<div class='kit-check-report'"
            f" style='border-left:4px solid {color};padding:4px 8px'>"
            f"<b style='color:{color}'>{verdict(report)}</b>"
            + (f"<div class='kit-engine-less'><i>{html.escape(ENGINE_LESS_NOTE)}</i></div>"
               if report.engine_less else "")
            + f"<table><thead><tr>{header}</tr></thead><tbody>" + "".join(rows)
            + "</tbody></table></div>")


#: Table cells read left to right, top aligned (JupyterLab right-aligns output table cells).
CELL = "text-align:left;vertical-align:top"


def show_check_report(report: CheckReport, *, frontend: str = "auto",
                      stream: TextIO | None = None) -> None:
    """Display the pass/fail table (HTML in notebooks, text elsewhere)."""
    text = check_report_text(report)
    if _resolve_frontend(frontend) == "text":
        print(text, file=stream or sys.stdout, flush=True)
        return
    display({"text/html": check_report_html(report), "text/plain": text}, raw=True)


class CheckMyWork(_Displayable):
    """A "Check my work" button: each click builds and checks, then shows the table.

    Args:
        run: Called on click; returns a :class:`helpers.grading.report.CheckReport` (it may raise
            KitError, which is shown with its hint).
        label: The button's text.
        present: Displays the report (default :func:`show_check_report`).
    """

    def __init__(self, run: Callable[[], Any], label: str = "Check my work", *,
                 show: bool = True, frontend: str = "auto", stream: TextIO | None = None,
                 present: Callable[..., None] | None = None):
        self._run = run
        self._present = present or show_check_report  # (report, frontend=, stream=)
        self._stream = stream
        self.report = None
        self.button = widgets.Button(description=label, button_style="primary",
                                     icon="check", layout=widgets.Layout(width="auto"))
        self.output = widgets.Output()
        self.box = widgets.VBox([self.button, self.output])
        self.button.on_click(lambda _button: self.click())
        self._init_display(frontend)
        if show:
            self.show()

    def click(self) -> None:
        """What a click does (also callable from code and tests)."""
        self.button.disabled = True
        self.output.clear_output()
        try:
            with self.output:
                try:
                    self.report = self._run()
                    self._present(self.report, frontend=self._mode, stream=self._stream)
                except KitError as exc:
                    show_error(exc, frontend=self._mode, stream=self._stream)
        finally:
            self.button.disabled = False

    def text_summary(self) -> str:
        if self.report is None:
            return "[check my work] press the button (in JupyterLab) to build and check"
        return check_report_text(self.report)

    def _print_text(self) -> None:
        print(self.text_summary(), file=self._stream or sys.stdout, flush=True)


NOTICE_COLOR = "#b9770e"


def show_notice(text: str, *, title: str = "Note", frontend: str = "auto",
                stream: TextIO | None = None) -> None:
    """A highlighted banner (e.g. "Recorded run: ..."): amber box, or ``[title] text``."""
    plain = f"[{title}] {text}"
    if _resolve_frontend(frontend) == "text":
        print(plain, file=stream or sys.stdout, flush=True)
        return
    markup = (f"<div style='border-left:6px solid {NOTICE_COLOR}; background:#fef5e7;"
              f" padding:6px 10px'><b>{html.escape(title)}:</b> {html.escape(text)}</div>")
    display({"text/html": markup, "text/plain": plain}, raw=True)


def install_error_display() -> bool:
    """In IPython, show an uncaught :class:`KitError` as its red box instead of a traceback.

    The cell still ends with status ``error`` (IPython's custom exception path), so a
    "Run All" stops there, which is what a learner who pressed Stop wants. Returns whether
    a kernel was there to install it in. Safe to call more than once.
    """
    shell = get_ipython()
    if shell is None:
        return False

    def handler(shell, etype, value, tb, tb_offset=None):
        show_error(value)
        return []  # no traceback lines: the box says it all

    shell.set_custom_exc((KitError,), handler)
    return True
