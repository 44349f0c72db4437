"""Checks of an image built here without an engine: real Go builds of the exercise's
Dockerfiles, measured through the same readers as an engine's image."""

from __future__ import annotations

import textwrap

import pytest

from helpers.build.engineless import toolchain
from helpers.config import EXERCISE_DIR, SOLUTIONS_DIR
from helpers.course import Course
from helpers.grading.checks import REQUIRED, run_engineless_checks
from helpers.grading import engineless

pytestmark = pytest.mark.skipif(toolchain.go_toolchain() is None, reason="no Go toolchain")
IMAGE_CHECKS = ("size", "only-binary", "ca-certs", "runs", "static-binary")


@pytest.fixture(autouse=True)
def namespace(monkeypatch):
    """A namespace of its own: out/engineless/utest (its Go cache is kept between runs)."""
    monkeypatch.setenv("KIT_NAMESPACE", "utest")


def statuses(report) -> dict[str, str]:
    return {r.id: r.status for r in report.results}


def test_the_reference_passes_every_required_check_without_an_engine():
    report = run_engineless_checks(EXERCISE_DIR, SOLUTIONS_DIR / "Dockerfile.multistage")
    assert report.passed, [(r.id, r.status, r.message) for r in report.results]
    assert report.engine_less and all(r.engine_less for r in report.results)
    assert "local process" in report.get("runs").message
    assert "Derived from Docker's cache rules" in report.get("dep-cache").message
    assert report.to_json()["checks"][0]["engine_less"] is True
    assert "measured" in report.table().columns


def test_the_starter_fails_what_it_fails_on_the_engine():
    report = run_engineless_checks(EXERCISE_DIR, "Dockerfile.multistage")
    failing = set(report.failing())
    assert {"size", "only-binary", "static-binary", "multi-stage", "dep-cache"} <= failing
    assert statuses(report)["runs"] == "pass"  # it does run: a working server on golang


def test_what_only_an_engine_builds_is_skipped_never_passed(tmp_path):
    context = tmp_path / "ctx"
    context.mkdir()
    for name in ("go.mod", "go.sum"):
        (context / name).write_bytes((EXERCISE_DIR / name).read_bytes())
    dockerfile = context / "Dockerfile"
    dockerfile.write_text(textwrap.dedent("""\
        FROM golang:1.22 AS build
        RUN apk add --no-cache upx
        FROM scratch
        COPY --from=build /usr/bin/upx /upx
        ENTRYPOINT ["/upx"]
        """))
    report = run_engineless_checks(context, dockerfile)
    for check_id in IMAGE_CHECKS:
        result = report.get(check_id)
        assert result.status == "skip", (check_id, result.message)
        assert "needs a Docker engine: RUN apk add --no-cache upx" in result.message


def test_a_build_error_fails_the_image_checks_as_on_the_engine(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM golang:1.22 AS build\nCOPY nope.go /src/\n"
                          "FROM scratch\nCOPY --from=build /src /src\n")
    report = run_engineless_checks(EXERCISE_DIR, dockerfile)
    for check_id in IMAGE_CHECKS:
        assert report.get(check_id).status == "fail"
        assert "did not build" in report.get(check_id).message
    assert set(REQUIRED) - set(report.failing()) <= {"base-images", "multi-stage"}


def test_course_builds_measures_runs_and_checks_here(capsys):
    kit = Course(None, None, engineless=True)
    tag = "utest-course-ref"
    result = kit.build(SOLUTIONS_DIR / "Dockerfile.multistage", tag)
    assert result is not None and result.backend == "engine-less" and result.steps
    assert kit.image_exists(tag) and kit.source == "built here without an engine"
    summary, breakdown = kit.summary(tag), kit.breakdown(tag)
    assert summary.size_bytes == breakdown.total_bytes < 15_000_000
    assert sorted(breakdown.files["path"]) == ["/etc/ssl/certs/ca-certificates.crt",
                                               "/server"]
    history = kit.history(tag)
    assert list(history.columns) == ["step", "instruction", "size_bytes", "size_mb",
                                     "empty_layer"]
    health = kit.health(tag)
    assert health is not None and health.healthy and health.ca_roots > 100
    assert "(local process, no engine)" in capsys.readouterr().out
    assert kit.health(tag, hardened=True) is None  # a local process cannot be locked down
    report = kit.check_my_work(SOLUTIONS_DIR / "Dockerfile.multistage")
    assert report.passed and report.engine_less
    assert engineless.archive_path(tag).is_file()
