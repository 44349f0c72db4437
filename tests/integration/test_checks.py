"""The self-checks in both directions, on the real engine.

The reference solution passes every required check and shows no diagnosis; the shipped
starter fails; differently written correct solutions pass every required check (no check may
depend on our own naming); each classic mistake (a mutation of the solution, under
tests/fixtures/dockerfiles) fails exactly the checks it breaks and gets its diagnosis.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.grading.checks import ADVICE, REQUIRED, run_checks
from helpers.config import EXERCISE_DIR, REPO_ROOT, SOLUTIONS_DIR, image_tag

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "dockerfiles"
NOT_BUILT = {"size", "only-binary", "ca-certs", "runs", "dep-cache", "static-binary",
             "non-root", "healthcheck"}

#: fixture -> (checks that must fail, diagnosis that must be found)
MISTAKES = {
    "toolchain-runtime": ({"size", "only-binary", "multi-stage", "base-images"},
                          "toolchain-runtime"),
    "cgo-dynamic": ({"runs", "static-binary"}, "cgo-dynamic"),
    "no-ca-certs": ({"ca-certs"}, "no-ca-certs"),
    "copy-before-download": ({"dep-cache"}, "copy-before-download"),
    "go-sum-missing": ({"dep-cache"}, "go-sum-missing"),
    "copy-from-missing": (NOT_BUILT | {"multi-stage", "lint"}, "copy-from-missing"),
    "shell-form-scratch": ({"runs", "lint"}, "shell-form-scratch"),
    "relative-cmd-missing": ({"runs", "only-binary", "static-binary"}, "relative-cmd-missing"),
    "not-stripped": ({"static-binary"}, "not-stripped"),
    "goarch-mismatch": ({"runs"}, "goarch-mismatch"),
    "root-user": ({"non-root"}, "root-user"),
    "latest-base": ({"base-images", "lint"}, "latest-base"),
    "no-dockerignore": ({"dockerignore"}, "no-dockerignore"),
    "healthcheck-shell": ({"healthcheck", "lint"}, "healthcheck-shell"),
}
SOLUTIONS = ["solution-builder-numeric", "solution-three-stages", "solution-unnamed-stages",
             "solution-distroless"]


@pytest.fixture
def context(tmp_path):
    """A copy of the exercise folder, so no test touches the learner's files."""
    target = tmp_path / "multistage-go"
    shutil.copytree(EXERCISE_DIR, target)
    return target


@pytest.fixture
def check(client, context):
    """Run the checks on a Dockerfile; the image under test is removed afterwards."""
    tags = []

    def run(dockerfile: Path, name: str, ctx: Path | None = None):
        tag = image_tag(f"check-{name}")
        tags.append(tag)
        return run_checks(client, ctx or context, dockerfile, tag=tag)

    yield run
    for tag in tags:
        try:
            client.images.remove(tag, force=True)
        except Exception:  # noqa: BLE001 - not built (a failing-build fixture)
            pass


def summary(report) -> str:
    return "\n".join(f"{r.id}: {r.status}: {r.message}" for r in report.results)


def test_reference_solution_passes_everything(check):
    report = check(SOLUTIONS_DIR / "Dockerfile.multistage", "reference")
    assert report.passed, summary(report)
    assert report.failing() == [], summary(report)
    assert report.diagnoses == []
    assert [r.id for r in report.results] == list(REQUIRED + ADVICE)


def test_shipped_starter_fails_with_hints(check, context):
    report = check(context / "Dockerfile.multistage", "starter")
    assert not report.passed
    failing = set(report.failing())
    assert {"size", "only-binary", "multi-stage", "dep-cache", "static-binary",
            "base-images"} <= failing, summary(report)
    assert all(report.get(i).hint for i in failing)
    assert "toolchain-runtime" in {d.id for d in report.diagnoses}


@pytest.mark.parametrize("name", SOLUTIONS)
def test_differently_written_solutions_pass(check, name):
    report = check(FIXTURES / f"{name}.Dockerfile", name)
    failing_required = [r.id for r in report.results if r.required and r.status != "pass"]
    assert failing_required == [], summary(report)


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_classic_mistake_fails_exactly_its_checks(check, context, mistake, request):
    expected_failing, diagnosis = MISTAKES[mistake]
    if mistake == "latest-base":
        request.getfixturevalue("golang_latest")
    if mistake == "no-dockerignore":
        (context / ".dockerignore").unlink()
        dockerfile = SOLUTIONS_DIR / "Dockerfile.multistage"
    else:
        dockerfile = FIXTURES / f"mistake-{mistake}.Dockerfile"
    report = check(dockerfile, mistake)
    assert set(report.failing()) == expected_failing, summary(report)
    found = {d.id for d in report.diagnoses}
    assert diagnosis in found, f"diagnoses: {found}\n{summary(report)}"
    linked = [r for r in report.results if r.status == "fail" and diagnosis in r.diagnoses]
    assert linked, f"no failing check links to {diagnosis}\n{summary(report)}"
    assert all(r.hint for r in report.results if r.status == "fail")
    assert report.passed == expected_failing.isdisjoint(REQUIRED)


def test_cli_check_json_passes_for_the_solution_and_fails_for_the_starter():
    env = {**os.environ, "KIT_NAMESPACE": "itest"}
    base = [sys.executable, "-m", "helpers", "check", "--context", str(EXERCISE_DIR), "--json"]
    good = subprocess.run(base + ["--dockerfile", str(SOLUTIONS_DIR / "Dockerfile.multistage")],
                          capture_output=True, text=True, env=env, timeout=900)
    assert good.returncode == 0, good.stdout[-3000:] + good.stderr[-3000:]
    data = json.loads(good.stdout)
    assert data["passed"] is True
    assert {c["id"] for c in data["checks"]} == set(REQUIRED + ADVICE)
    assert all({"id", "status", "message", "hint"} <= set(c) for c in data["checks"])
    bad = subprocess.run(base + ["--dockerfile", "Dockerfile.multistage"],
                         capture_output=True, text=True, env=env, timeout=900)
    assert bad.returncode == 1
    data = json.loads(bad.stdout)
    assert data["passed"] is False
    assert all(c["hint"] for c in data["checks"] if c["status"] == "fail")
