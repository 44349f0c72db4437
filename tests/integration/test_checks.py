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


# ---------------------------------------------------------------------------------------------
# The dep-cache probe: rebuilt up to `go mod download` only, and the same verdict as rebuilding
# the whole Dockerfile (helpers.grading.depprobe)
# ---------------------------------------------------------------------------------------------
#: A correct order for the static check, but the edited source is copied before the download:
#: only the engine can tell (the download re-runs after every code edit).
SOURCE_BEFORE_DOWNLOAD = """\
FROM golang:1.22 AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY cmd/ cmd/
RUN go mod download
RUN CGO_ENABLED=0 go build -ldflags="-s -w" -o /out/server ./cmd/server
FROM scratch
COPY --from=build /out/server /server
ENTRYPOINT ["/server"]
"""
#: The same, with BuildKit: the whole context bind-mounted into the download step.
BIND_CONTEXT_DOWNLOAD = """\
FROM golang:1.22 AS build
WORKDIR /src
RUN --mount=type=bind,target=. go mod download
RUN --mount=type=bind,target=. CGO_ENABLED=0 go build -o /out/server ./cmd/server
FROM scratch
COPY --from=build /out/server /server
ENTRYPOINT ["/server"]
"""
PROBED = {
    "reference": SOLUTIONS_DIR / "Dockerfile.multistage",
    "cache-mounts": SOLUTIONS_DIR / "Dockerfile.cache-mounts",
    "wrong-order": SOLUTIONS_DIR / "Dockerfile.wrong-order",
    "copy-before-download": FIXTURES / "mistake-copy-before-download.Dockerfile",
    "go-sum-missing": FIXTURES / "mistake-go-sum-missing.Dockerfile",
    "three-stages": FIXTURES / "solution-three-stages.Dockerfile",
    "builder-numeric": FIXTURES / "solution-builder-numeric.Dockerfile",
    "unnamed-stages": FIXTURES / "solution-unnamed-stages.Dockerfile",
    "cross-platform": FIXTURES / "solution-cross-platform.Dockerfile",
    "source-before-download": SOURCE_BEFORE_DOWNLOAD,
    "bind-context-download": BIND_CONTEXT_DOWNLOAD,
}
#: What the probe must say, measured (the static check may fail some of these first).
PROBE_VERDICT = {"copy-before-download": "fail", "wrong-order": "fail",
                 "source-before-download": "fail", "bind-context-download": "fail"}


def probed_dockerfile(name: str, tmp_path: Path) -> Path:
    spec = PROBED[name]
    if isinstance(spec, Path):
        return spec
    path = tmp_path / f"{name}.Dockerfile"
    path.write_text(spec)
    return path


def backend_for(dockerfile: Path) -> str:
    from helpers.build import needs_buildkit
    from helpers.engine.cli import buildkit_client

    if not needs_buildkit(dockerfile):
        return "classic"
    if buildkit_client() is None:
        pytest.skip("needs BuildKit, and no BuildKit-capable docker CLI is here")
    return "buildkit"


@pytest.mark.parametrize("name", list(PROBED))
def test_the_probe_rebuilds_only_up_to_the_download_and_agrees_with_a_full_rebuild(
        client, context, tmp_path, name):
    from helpers.build import build_image
    from helpers.grading.depprobe import FULL_NOTE, probe_dep_cache, rebuild_after_edit

    dockerfile = probed_dockerfile(name, tmp_path)
    backend = backend_for(dockerfile)
    tag = image_tag(f"probe-{name}")
    try:
        build_image(client, context, tag, dockerfile, backend=backend)
        probed = probe_dep_cache(client, context, dockerfile, tag, backend, use_cache=False)
        full = rebuild_after_edit(client, context, dockerfile, tag, backend)
    finally:
        client.images.remove(tag, force=True)
    assert probed[0] == PROBE_VERDICT.get(name, "pass"), (probed, full)
    assert probed[0] == full[0], (probed, full)
    # measured on the truncated Dockerfile, never by falling back to the whole build
    assert FULL_NOTE.split("{")[0] not in probed[1], probed
    assert "(in a temporary copy)" in probed[1] and "reused" not in probed[1]


def test_a_kept_verdict_is_reused_and_a_copied_file_edit_measures_again(client, context):
    from helpers.build import build_image
    from helpers.grading.depprobe import probe_dep_cache

    dockerfile = SOLUTIONS_DIR / "Dockerfile.multistage"
    tag = image_tag("probe-kept")
    try:
        build_image(client, context, tag, dockerfile)
        first = probe_dep_cache(client, context, dockerfile, tag, use_cache=False)
        again = probe_dep_cache(client, context, dockerfile, tag)
        with open(context / "go.mod", "a") as gomod:
            gomod.write("// a go.mod edit: the download's input changed\n")
        build_image(client, context, tag, dockerfile)
        after_edit = probe_dep_cache(client, context, dockerfile, tag)
    finally:
        client.images.remove(tag, force=True)
    assert first[0] == again[0] == after_edit[0] == "pass"
    assert "reused" not in first[1]
    assert again[1].startswith(first[1]) and "reused" in again[1]
    assert "reused" not in after_edit[1]


def test_an_unchanged_image_reuses_its_facts_but_runs_the_container(check):
    first = check(SOLUTIONS_DIR / "Dockerfile.multistage", "kept-facts")
    second = check(SOLUTIONS_DIR / "Dockerfile.multistage", "kept-facts")
    assert first.passed and second.passed, summary(second)
    for check_id in ("size", "only-binary", "ca-certs", "static-binary", "dep-cache"):
        assert "reused" in second.get(check_id).message, summary(second)
        assert second.get(check_id).message.startswith(
            first.get(check_id).message.split(" (Measured")[0])
    assert "reused" not in second.get("runs").message  # the container started again


def test_reset_forgets_the_kept_facts(client, check):
    from helpers.engine.reset import fact_cache_dir, reset

    check(SOLUTIONS_DIR / "Dockerfile.multistage", "reset-facts")
    assert any(fact_cache_dir().rglob("*.json"))
    report = reset(client, images=False)
    assert report.files == [str(fact_cache_dir())]
    assert not fact_cache_dir().exists()
    again = check(SOLUTIONS_DIR / "Dockerfile.multistage", "reset-facts")
    assert not any("reused" in r.message for r in again.results), summary(again)
