"""The check report as a coach shows it: escalating hints, the learner's own lines marked,
"show the solution for this" buttons, and a summary once everything passes.

:func:`show_coached_report` is what "Check my work" displays in a notebook: the pass/fail
table with each failure's hint at its rung (:mod:`helpers.learner.hints`), the learner's
Dockerfile highlighted with the failing lines marked (:mod:`.dockerfile_view`), a button per
failing check that reveals the reference's lines for that part, and, when every required
check passes, what they achieved (:mod:`helpers.learner.achievement`). In text mode (CI, a
terminal) the same facts are printed.
"""

from __future__ import annotations

import html
import sys
from pathlib import Path
from typing import Callable, TextIO

import ipywidgets as widgets
from IPython.display import display

from ..grading.report import CheckReport, check_report_text
from ..learner.achievement import NEXT_STEPS, Achievement
from ..learner.hints import HintLadder
from .dockerfile_view import dockerfile_html, dockerfile_text
from .widgets import SUCCESS_COLOR, _resolve_frontend, check_report_html

AchievementSource = Callable[[CheckReport], "Achievement | None"]


def failure_marks(report: CheckReport) -> dict[int, list[str]]:
    """Line -> ``"<check>: <message>"`` for every failing check that names a line."""
    marks: dict[int, list[str]] = {}
    for result in report.results:
        if result.status == "fail" and result.line:
            marks.setdefault(result.line, []).append(f"{result.id}: {result.message}")
    return marks


def achievement_html(achievement: Achievement) -> str:
    steps = "".join(f"<li>{html.escape(step)}</li>" for step in NEXT_STEPS)
    return (f"<div class='kit-achievement' style='border-left:6px solid {SUCCESS_COLOR};"
            f"background:#eafaf1;padding:6px 10px;margin-top:6px'>"
            f"<b>{html.escape(achievement.headline())}</b>"
            f"<div>What to try next:</div><ul>{steps}</ul></div>")


def show_coached_report(report: CheckReport, ladder: HintLadder,
                        achievement: AchievementSource | None = None, *,
                        frontend: str = "auto", stream: TextIO | None = None) -> None:
    """Display ``report`` with escalated hints, the marked Dockerfile, solution buttons and
    (after a pass) the achievement; counts this attempt in ``ladder``."""
    hints = ladder.update(report)
    texts = {check_id: hint.text() for check_id, hint in hints.items()}
    path = Path(report.dockerfile) if report.dockerfile else None
    source = path.read_text() if path is not None and path.is_file() else None
    marks = failure_marks(report)
    won = achievement(report) if achievement is not None and report.passed else None
    if _resolve_frontend(frontend) == "text":
        parts = [check_report_text(report)]
        if source is not None and marks:
            parts.append(f"{path.name}\n{dockerfile_text(source, marks)}")
        if won is not None:
            parts.append(won.text())
        print("\n\n".join(parts), file=stream or sys.stdout, flush=True)
        return
    markup = check_report_html(report, texts)
    if source is not None and marks:
        markup += dockerfile_html(source, marks, title=f"Your {path.name}")
    if won is not None:
        markup += achievement_html(won)
    display({"text/html": markup, "text/plain": check_report_text(report)}, raw=True)
    if hints:
        display(SolutionButtons(report, ladder).box)


class SolutionButtons:
    """One "show the solution for <check>" button per failing check, and where it answers."""

    def __init__(self, report: CheckReport, ladder: HintLadder) -> None:
        self.report, self.ladder = report, ladder
        failing = [r for r in report.results if r.status == "fail"]
        self.buttons = []
        for result in failing:
            button = widgets.Button(description=f"Show the solution for {result.id}",
                                    layout=widgets.Layout(width="auto"), icon="eye")
            button.on_click(lambda _b, result=result: self.reveal(result.id))
            self.buttons.append(button)
        self.output = widgets.Output()
        self.box = widgets.VBox([widgets.HBox(self.buttons,
                                              layout=widgets.Layout(flex_flow="row wrap")),
                                 self.output])

    def reveal(self, check_id: str) -> str:
        """Show (and remember) the reference's lines for ``check_id``; return the text."""
        result = self.report.get(check_id)
        text = self.ladder.reveal(result, self.report.dockerfile).revealed_text()
        with self.output:
            self.output.clear_output()
            display({"text/html": f"<div class='kit-solution'><b>{html.escape(check_id)}"
                     f"</b><pre>{html.escape(text)}</pre></div>", "text/plain": text},
                    raw=True)
        return text
