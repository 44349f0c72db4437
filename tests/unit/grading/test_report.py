"""helpers.grading.report: the check report as JSON, as a table and as the CLI's text.

Reports come from :func:`~helpers.grading.checks.evaluate` on the synthetic facts of
test_checks.py, or are written by hand as a few :class:`CheckResult`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.grading.checks import ADVICE, REQUIRED, evaluate
from helpers.grading.mistakes import MISTAKES_BY_ID
from helpers.grading.report import CheckReport, CheckResult, check_report_text, verdict
from tests.unit.grading.test_checks import reference_facts, toolchain_runtime_facts


def report_of(*results: tuple) -> CheckReport:
    """A report from ``(id, status, message, hint, required)`` tuples, no diagnoses."""
    return CheckReport([CheckResult(i, status, message, hint, required)
                        for i, status, message, hint, required in results], [])


def test_to_json_shape():
    report = evaluate(toolchain_runtime_facts())
    data = report.to_json()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {"passed", "checks", "diagnoses", "engine_less", "size_bytes",
                         "dockerfile"}
    assert data["engine_less"] is False  # measured on an engine
    assert data["passed"] is False
    assert [c["id"] for c in data["checks"]] == list(REQUIRED + ADVICE)
    for check, res in zip(data["checks"], report.results):
        assert check == {"id": res.id, "status": res.status, "message": res.message,
                         "hint": res.hint, "required": res.required,
                         "diagnoses": res.diagnoses, "engine_less": False,
                         "line": res.line}
        assert (res.line is None) == (res.status != "fail" or res.id == "dockerignore")
    size = data["checks"][0]
    assert (size["id"], size["status"], size["required"], size["diagnoses"]) == (
        "size", "fail", True, ["toolchain-runtime"])
    mistake = MISTAKES_BY_ID["toolchain-runtime"]
    assert data["diagnoses"] == [{
        "id": "toolchain-runtime", "title": mistake.title,
        "what": "The final stage starts FROM golang:1.22, so the whole Go toolchain ships.",
        "why": mistake.why, "fix": mistake.fix}]
    assert evaluate(reference_facts()).to_json()["passed"] is True


def test_table_orders_failures_first_then_skips_then_passes():
    facts = toolchain_runtime_facts()
    facts.dep_cache, facts.lint, facts.evidence.dockerignore = None, None, False
    table = evaluate(facts).table()
    assert list(table.columns) == ["check", "status", "line", "message", "hint"]
    assert list(zip(table["check"], table["status"])) == [
        ("size", "FAIL"), ("only-binary", "FAIL"), ("multi-stage", "FAIL"),
        ("base-images", "FAIL"), ("dockerignore (advice)", "FAIL"),
        ("dep-cache", "SKIP"), ("lint (advice)", "SKIP"),
        ("ca-certs", "PASS"), ("runs", "PASS"), ("static-binary", "PASS"),
        ("non-root (advice)", "PASS"), ("healthcheck (advice)", "PASS")]
    assert table["hint"][4] == "The build context has no .dockerignore. Fix: " + \
        MISTAKES_BY_ID["no-dockerignore"].fix


def test_report_get_and_failing():
    report = CheckReport([CheckResult("a", "pass", "m"), CheckResult("b", "fail", "m", "h"),
                          CheckResult("c", "skip", "m", required=False)], [])
    assert report.get("b").hint == "h"
    assert report.failing() == ["b"]
    assert report.passed is False
    with pytest.raises(StopIteration):
        report.get("nope")
    assert CheckReport([CheckResult("c", "skip", "m", required=False)], []).passed is True


# ---------------------------------------------------------------------------------------------
# The verdict line and the text the CLI prints
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("results, line", [
    ([("size", "pass", "m", "", True), ("lint", "fail", "m", "h", False)],
     "PASSED: every required check passes"),
    ([("size", "fail", "m", "h", True), ("runs", "fail", "m", "h", True)],
     "NOT YET: 2 check(s) fail"),
    ([("size", "fail", "m", "h", True), ("runs", "skip", "m", "h", True),
      ("lint", "skip", "m", "", False)],
     "NOT YET: 1 check(s) fail, 1 required check(s) not measured here"),
    ([("size", "skip", "m", "h", True), ("runs", "skip", "m", "h", True),
      ("multi-stage", "pass", "m", "", True)],
     "NOT MEASURED: 2 required check(s) need a Docker engine"),
], ids=["passed", "failing", "failing-and-skipped", "not-measured"])
def test_verdict(results, line):
    assert verdict(report_of(*results)) == line


def test_text_is_the_verdict_then_the_table_with_hints_for_failures_only():
    report = report_of(("size", "pass", "The image holds 9.13 MB.", "", True),
                       ("runs", "skip", "Not measured: no engine.", "Run it elsewhere.", True),
                       ("lint", "fail", "hadolint: 1 warning(s).", "See the rules.", False),
                       ("ca-certs", "fail", "No CA bundle.", "COPY the bundle.", True))
    assert check_report_text(report).splitlines() == [
        "NOT YET: 2 check(s) fail, 1 required check(s) not measured here",
        "FAIL  ca-certs               No CA bundle.",
        "                             hint: COPY the bundle.",
        "FAIL  lint (advice)          hadolint: 1 warning(s).",
        "                             hint: See the rules.",
        "SKIP  runs                   Not measured: no engine.",
        "PASS  size                   The image holds 9.13 MB."]


def test_text_of_the_reference_lists_every_check_as_passing():
    lines = check_report_text(evaluate(reference_facts())).splitlines()
    assert lines[0] == "PASSED: every required check passes"
    assert [line.split()[:2] for line in lines[1:]] == (
        [["PASS", i] for i in REQUIRED] + [["PASS", i] for i in ADVICE])


def test_a_failure_without_a_hint_gets_no_hint_line():
    text = check_report_text(report_of(("size", "fail", "Too big.", "", True)))
    assert text == "NOT YET: 1 check(s) fail\nFAIL  size                   Too big."


def test_the_report_needs_no_drawing_library_nor_the_engine():
    """The CLI prints this text: importing it loads neither ipywidgets, matplotlib nor docker."""
    code = ("import sys, helpers.grading.report; "
            "print(sorted({'ipywidgets', 'matplotlib', 'docker'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[3])
    assert done.stdout.strip() == "[]"
