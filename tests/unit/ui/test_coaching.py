"""The coached report: escalating hints, marked lines, solution buttons, the achievement."""

from __future__ import annotations

import io

import pytest

from helpers.config import EXERCISE_DIR, SOLUTIONS_DIR
from helpers.grading.checks import run_static_checks
from helpers.learner.achievement import Achievement
from helpers.learner.hints import HintLadder
from helpers.ui import coaching
from helpers.ui.dockerfile_view import dockerfile_html, dockerfile_text

STARTER = EXERCISE_DIR / "Dockerfile.multistage"


class Shown:
    def __init__(self):
        self.calls = []

    def __call__(self, obj, raw=False, **kwargs):
        self.calls.append(obj)


@pytest.fixture
def shown(monkeypatch):
    fake = Shown()
    monkeypatch.setattr(coaching, "display", fake)
    return fake


@pytest.fixture
def ladder(tmp_path):
    return HintLadder(tmp_path / "hints.json")


def test_dockerfile_text_numbers_lines_and_marks_the_failing_ones():
    text = "FROM golang:1.22\nCOPY . .\nRUN go mod download\n"
    shown = dockerfile_text(text, {2: ["dep-cache: too early"]}).splitlines()
    assert shown == ["  1 | FROM golang:1.22", ">>2 | COPY . .", "    ^ dep-cache: too early",
                     "  3 | RUN go mod download"]


def test_dockerfile_html_has_every_line_numbered_and_the_mark_highlighted():
    text = STARTER.read_text()
    markup = dockerfile_html(text, {14: ["dep-cache: <x>"]}, title="Dockerfile.multistage")
    assert markup.count("class='kit-line'") == len(text.splitlines())
    assert "data-line='14' style='background:" in markup
    assert "data-line='13' style=''" in markup
    assert "dep-cache: &lt;x&gt;" in markup  # notes are escaped
    assert "color:" in markup  # highlighted by Pygments (inline styles)


def test_first_check_marks_lines_and_says_where_second_gives_the_fix(shown, ladder):
    report = run_static_checks(EXERCISE_DIR, STARTER)
    coaching.show_coached_report(report, ladder, frontend="notebook")
    markup = shown.calls[0]["text/html"]
    assert "Look at line 14 of your Dockerfile" in markup
    assert "Fix: `COPY go.mod go.sum ./`" not in markup
    assert "Your Dockerfile.multistage" in markup and "data-line='14' style='background" in markup
    buttons = shown.calls[1]
    labels = [b.description for b in buttons.children[0].children]
    assert "Show the solution for dep-cache" in labels
    coaching.show_coached_report(report, ladder, frontend="notebook")
    assert "Fix: `COPY go.mod go.sum ./`" in shown.calls[2]["text/html"]


def test_the_solution_button_reveals_the_reference_lines_and_remembers(shown, ladder):
    report = run_static_checks(EXERCISE_DIR, STARTER)
    ladder.update(report)
    buttons = coaching.SolutionButtons(report, ladder)
    text = buttons.reveal("multi-stage")
    assert "FROM scratch" in text and "The reference solution does it like this" in text
    again = ladder.update(report)["multi-stage"]
    assert "FROM scratch" in again.text()
    assert "FROM scratch" not in ladder.update(report)["dep-cache"].text()


def test_a_pass_shows_the_achievement_and_no_buttons(shown, ladder):
    report = run_static_checks(EXERCISE_DIR, SOLUTIONS_DIR / "Dockerfile.multistage")
    for result in report.results:  # the image checks as a real engine measured them
        result.status = "pass"
    report.size_bytes = 5_066_407
    coaching.show_coached_report(report, ladder, lambda r: Achievement(759_894_064,
                                                                       r.size_bytes),
                                 frontend="notebook")
    assert len(shown.calls) == 1
    markup = shown.calls[0]["text/html"]
    assert "kit-achievement" in markup and "150 times smaller" in markup


def test_text_mode_prints_report_marked_file_and_achievement(ladder):
    out = io.StringIO()
    report = run_static_checks(EXERCISE_DIR, STARTER)
    coaching.show_coached_report(report, ladder, frontend="text", stream=out)
    printed = out.getvalue()
    assert printed.startswith("NOT YET") and ">>14 | COPY . ." in printed
