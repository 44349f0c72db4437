"""The instructor's view of the room in a notebook: the class report, refreshed with a button.

:class:`ClassroomView` reads the results folder (``KIT_RESULTS_DIR``, or the folder given)
with :func:`helpers.classroom.classreport.read_class_report` and shows, under a "Refresh"
button, the learners x checks table, the share of learners passing each check and a learners x
checks grid (:mod:`helpers.ui.class_charts`), then the files it skipped and why. With no folder
it says so and how to set it, instead of failing. Like the other widgets, its saved output
also holds the report as text (what nbclient and non-widget frontends show).
"""

from __future__ import annotations

import html
import sys
from pathlib import Path
from typing import TextIO

import ipywidgets as widgets
from IPython.display import display

from ..classroom.classreport import (NO_RECORDS, ClassReport, class_report_text,
                                     read_class_report)
from ..errors import KitError
from .class_charts import class_grid, pass_rate_chart
from .display import show_figure
from .widgets import _Displayable, show_notice


class ClassroomView(_Displayable):
    """The class report with a "Refresh" button (press it as learners check their work).

    Args:
        folder: The results folder; default the one ``KIT_RESULTS_DIR`` names.
        show: Display it now (otherwise call :meth:`show`).
        frontend: ``"auto"``, ``"notebook"`` or ``"text"`` (see :mod:`helpers.ui.widgets`).
        stream: Where text mode prints (stdout by default).

    Attributes:
        report: The :class:`~helpers.classroom.classreport.ClassReport` last read (empty
            when there is no folder, so ``report.gradebook()`` still works).
        problem: Why no folder could be read (None when it was).
    """

    def __init__(self, folder: str | Path | None = None, *, show: bool = True,
                 frontend: str = "auto", stream: TextIO | None = None) -> None:
        self.folder = folder
        self.report = ClassReport(None)
        self.problem: KitError | None = None
        self.button = widgets.Button(description="Refresh", icon="refresh",
                                     tooltip="read the results folder again",
                                     layout=widgets.Layout(width="auto"))
        self.output = widgets.Output()
        self.box = widgets.VBox([self.button, self.output])
        self.box.add_class("kit-class-report")
        self.button.on_click(lambda _button: self.refresh())
        self._init_display(frontend)
        self._stream = stream
        self._load()
        if show:
            self.show()
        self._render()

    def refresh(self) -> None:
        """Read the folder again and redraw (what the button does; callable from code)."""
        self.button.disabled = True
        try:
            self._load()
            self._render()
            if self._mode == "text":
                self._print_text()
        finally:
            self.button.disabled = False

    def _load(self) -> None:
        try:
            self.report, self.problem = read_class_report(self.folder), None
        except KitError as exc:
            self.report, self.problem = ClassReport(None), exc

    def _render(self) -> None:
        """Draw the report into the widget's output area (notebook mode only)."""
        if self._mode != "notebook":
            return
        self.output.clear_output(wait=True)
        with self.output:
            if self.problem is not None:
                show_notice(f"{self.problem.message} {self.problem.hint}",
                            title="No results folder")
                return
            learners = self.report.learners()
            display({"text/html": f"<b>{len(learners)} learner(s), "
                                  f"{len(self.report.attempts)} check record(s)</b> in "
                                  f"<code>{html.escape(str(self.report.folder))}</code>",
                     "text/plain": f"{len(learners)} learner(s)"}, raw=True)
            if learners:
                display(self.report.table())
                show_figure(pass_rate_chart(self.report.pass_rates()))
                show_figure(class_grid(self.report.statuses()))
            else:
                print(NO_RECORDS)
            if self.report.skipped:
                print(f"skipped {len(self.report.skipped)} file(s):\n" + "\n".join(
                    f"  {s.file}: {s.reason}" for s in self.report.skipped))

    def text_summary(self) -> str:
        """The report as ``python -m helpers class-report`` prints it, or why there is none."""
        if self.problem is not None:
            return (f"[class report] {self.problem.message}\n"
                    f"[class report] how to set it: {self.problem.hint}")
        return class_report_text(self.report)

    def _print_text(self) -> None:
        print(self.text_summary(), file=self._stream or sys.stdout, flush=True)
