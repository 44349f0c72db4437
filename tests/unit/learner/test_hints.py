"""The hint ladder on real static reports of the shipped starter and reference."""

import pytest

from helpers.config import EXERCISE_DIR, SOLUTIONS_DIR
from helpers.grading.checks import run_static_checks
from helpers.learner.hints import FIX, SOLUTION, WHERE, HintLadder, solution_for

STARTER = EXERCISE_DIR / "Dockerfile.multistage"
REFERENCE = SOLUTIONS_DIR / "Dockerfile.multistage"


@pytest.fixture
def ladder(tmp_path):
    return HintLadder(tmp_path / "hints.json")


def starter_report():
    return run_static_checks(EXERCISE_DIR, STARTER)


def test_first_failure_says_where_then_the_fix_on_a_repeat(ladder):
    first = ladder.update(starter_report())["dep-cache"]
    assert first.level == WHERE and first.line == 14
    assert "line 14" in first.text() and "Fix:" not in first.text()
    second = ladder.update(starter_report())["dep-cache"]
    assert second.level == FIX and second.failures == 2
    assert "Fix:" in second.text() and "go mod download" in second.text()


def test_the_solution_rung_only_on_request_and_it_quotes_the_reference(ladder):
    report = starter_report()
    ladder.update(report)
    ladder.update(report)
    assert ladder.update(report)["dep-cache"].level == FIX  # never climbs there alone
    shown = ladder.reveal(report.get("dep-cache"), report.dockerfile)
    assert shown.level == SOLUTION
    assert "13 | RUN go mod download" in shown.text()
    assert "12 | COPY go.mod go.sum ./" in shown.text()
    assert ladder.update(report)["dep-cache"].level == SOLUTION  # remembered


def test_a_pass_starts_the_ladder_over(ladder, tmp_path):
    report = starter_report()
    ladder.update(report)
    ladder.update(report)
    for result in report.results:
        result.status = "pass"
    assert ladder.update(report) == {}
    for result in report.results:
        result.status = "fail"
    assert ladder.update(report)["dep-cache"].level == WHERE


def test_state_survives_a_new_ladder_and_is_kept_per_file(ladder):
    ladder.update(starter_report())
    again = HintLadder(ladder.path)
    assert again.update(starter_report())["multi-stage"].level == FIX
    other = starter_report()
    other.dockerfile = "/elsewhere/Dockerfile"
    assert again.update(other)["multi-stage"].level == WHERE


def test_a_damaged_state_file_restarts_quietly(ladder):
    ladder.path.write_text("{broken")
    assert ladder.update(starter_report())["dep-cache"].level == WHERE


def test_the_reference_passes_the_static_checks_so_it_gets_no_hints(ladder):
    hints = ladder.update(run_static_checks(EXERCISE_DIR, REFERENCE))
    assert not hints


@pytest.mark.parametrize("check_id, expected", [
    ("static-binary", "CGO_ENABLED=0"),
    ("ca-certs", "/etc/ssl/certs/ca-certificates.crt"),
    ("multi-stage", "FROM scratch"),
    ("base-images", "FROM golang:1.22 AS build"),
    ("non-root", "USER 65534:65534"),
    ("runs", 'ENTRYPOINT ["/server"]'),
])
def test_each_required_part_has_its_reference_lines(check_id, expected):
    assert expected in solution_for(check_id)


def test_no_reference_lines_for_checks_about_other_files():
    assert solution_for("dockerignore") is None and solution_for("lint") is None
