"""The same verdicts on every engine: Docker 20.10, Docker 26 + containerd store, Podman 4.3.

On each engine, through ``DOCKER_HOST`` as a learner's notebook reaches it: the reference
solution passes every required check; the starter fails as on 20.10; every Dockerfile under
``tests/fixtures/dockerfiles`` fails exactly the checks ``tests/integration/test_checks.py``
asserts on 20.10; both images of the brief have the same files and bytes as on 20.10; the
cross-compiling idiom (``FROM --platform=$BUILDPLATFORM``, ``GOARCH=$TARGETARCH``) passes
wherever BuildKit builds. Each engine's figures are written to ``out/engine-matrix.json``,
and the README's table of tested engines must agree with them.
"""

from __future__ import annotations

import json
import re

import pytest

from helpers import engine
from helpers.build import build_image, choose_backend
from helpers.engine import engine_kind, image_store
from helpers.grading.checks import run_checks
from helpers.config import EXERCISE_DIR, REPO_ROOT, SOLUTIONS_DIR, image_tag
from helpers.image import file_breakdown
from helpers.engine.reset import reset
from tests.engine_matrix import MAIN_ENGINE_ID
from tests.integration.test_checks import FIXTURES, MISTAKES, SOLUTIONS
from tests.integration.test_checks import context  # noqa: F401 - a copy of the exercise

#: Figures per engine, for out/engine-matrix.json and the README table.
MATRIX: dict[str, dict] = {}
MATRIX_JSON = REPO_ROOT / "out" / "engine-matrix.json"
#: Fixtures whose verdict depends on the real rebuild; the others skip it (time).
REBUILD_MATTERS = {"copy-before-download", "go-sum-missing"}
#: Fixtures tests/integration/test_checks.py runs in a modified context, not here.
ELSEWHERE = {"no-dockerignore", "latest-base"}
#: The file lists of the brief's images on the main engine (the reference for the others).
BASELINE: dict[str, list] = {}
#: Files a RUN step's container has bind-mounted from the engine. Docker never commits them;
#: Podman (buildah) leaves an empty mount point in the layer where the image lacks one, as
#: Debian's own image lacks /etc/hosts (measured: the original's ``RUN go mod download``
#: layer gains an empty /etc/hosts on Podman 4.3).
RUN_MOUNT_POINTS = {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/run/.containerenv"}


def summary(report) -> str:
    return "\n".join(f"{r.id}: {r.status}: {r.message}" for r in report.results)


@pytest.fixture
def client(engine_target):
    docker_client = engine.connect()
    yield docker_client
    docker_client.close()


@pytest.fixture(scope="package", autouse=True)
def clean_each_engine(engine_backend):
    """What the kit made in this namespace on this engine goes once its tests are done.

    A side engine may already be closed (its whole data root deleted) when pytest gets to
    this teardown: then nothing of it is left to reset.
    """
    yield
    if engine_backend.engine is not None and not engine_backend.engine.running:
        return
    reset(engine_backend.client, all_namespaces=False)


def record(engine_id: str, **figures) -> None:
    MATRIX.setdefault(engine_id, {}).update(figures)
    MATRIX_JSON.parent.mkdir(exist_ok=True)
    MATRIX_JSON.write_text(json.dumps(MATRIX, indent=2, sort_keys=True) + "\n")


def test_engine_identity(engine_target, client):
    version = client.version()
    kind = engine_kind(client)
    backend, _ = choose_backend("auto", SOLUTIONS_DIR / "Dockerfile.multistage", kind)
    record(engine_target.name, version=version.get("Version"), store=image_store(client),
           backend=backend)
    assert (engine_target.name == "podman") == kind.podman


def test_reference_passes_every_required_check(engine_target, client, context):
    report = run_checks(client, context, SOLUTIONS_DIR / "Dockerfile.multistage",
                        tag=image_tag("matrix-reference"))
    assert [r.id for r in report.results if r.required and r.status != "pass"] == [], \
        summary(report)
    size = report.get("size").message
    record(engine_target.name, reference_size=re.search(r"holds ([\d.]+ MB)", size)[1],
           engine_figure=(re.search(r"shows ([\d.]+ MB)", size) or [None, "same"])[1])


def test_starter_fails_as_on_docker_20(engine_target, client, context):
    report = run_checks(client, context, context / "Dockerfile.multistage",
                        tag=image_tag("matrix-starter"))
    assert {"size", "only-binary", "multi-stage", "dep-cache", "static-binary",
            "base-images"} <= set(report.failing()), summary(report)
    assert "toolchain-runtime" in {d.id for d in report.diagnoses}


@pytest.mark.parametrize("mistake", [m for m in MISTAKES if m not in ELSEWHERE])
def test_each_mistake_fails_exactly_its_checks(engine_target, client, context, mistake):
    if engine_target.name == MAIN_ENGINE_ID:
        pytest.skip("asserted on this engine by tests/integration/test_checks.py")
    expected, diagnosis = MISTAKES[mistake]
    rebuild = mistake in REBUILD_MATTERS
    report = run_checks(client, context, FIXTURES / f"mistake-{mistake}.Dockerfile",
                        tag=image_tag(f"matrix-{mistake}"), dep_cache_rebuild=rebuild)
    failing = set(report.failing())
    assert failing == expected, summary(report)
    assert diagnosis in {d.id for d in report.diagnoses}, summary(report)
    # Never a verdict the engine could not measure: skips only where the rebuild was off.
    skipped = {r.id for r in report.results if r.status == "skip"} - {"dep-cache"}
    assert skipped <= {"lint"}, summary(report)


@pytest.mark.parametrize("name", SOLUTIONS + ["solution-cross-platform"])
def test_other_correct_solutions_pass(engine_target, client, context, name):
    if engine_target.name == MAIN_ENGINE_ID and name != "solution-cross-platform":
        pytest.skip("asserted on this engine by tests/integration/test_checks.py")
    report = run_checks(client, context, FIXTURES / f"{name}.Dockerfile",
                        tag=image_tag(f"matrix-{name}"), dep_cache_rebuild=False)
    failing = [r.id for r in report.results
               if r.required and r.status not in ("pass",) and r.id != "dep-cache"]
    assert failing == [], summary(report)
    assert report.get("dep-cache").status in ("pass", "skip")


@pytest.mark.parametrize("which", ["original", "reference"])
def test_breakdown_has_the_same_files_and_bytes_as_on_docker_20(engine_target, client, which):
    dockerfile = (EXERCISE_DIR / "Dockerfile" if which == "original"
                  else SOLUTIONS_DIR / "Dockerfile.multistage")
    tag = image_tag(f"matrix-{which}")
    build_image(client, EXERCISE_DIR, tag, dockerfile, backend="auto")
    breakdown = file_breakdown(client, tag)
    # What a build compiles may differ between builds (the binary's build id, the Go build
    # cache's entries): every other file must have the same path and bytes.
    # An empty mount point an engine left (RUN_MOUNT_POINTS) is not the image's own file.
    files = sorted(zip(breakdown.files["path"], breakdown.files["size_bytes"]))
    comparable = [(path, size) for path, size in files
                  if not path.startswith("/root/.cache/") and not path.endswith("/server")
                  and not (path in RUN_MOUNT_POINTS and size == 0)]
    record(engine_target.name, **{f"{which}_bytes": breakdown.total_bytes,
                                  f"{which}_files": len(files),
                                  "export_layout": breakdown.layout,
                                  "layer_compression": sorted(breakdown.compression)})
    key = which
    if engine_target.name == MAIN_ENGINE_ID:
        BASELINE[key] = comparable
        return
    if key not in BASELINE:
        pytest.skip("the docker20 figures were not measured in this session")
    assert comparable == BASELINE[key]


def test_readme_engine_table_agrees_with_the_measurements(engine_target):
    """The README's table of tested engines names each engine's store and build backend."""
    figures = MATRIX.get(engine_target.name)
    if not figures or "store" not in figures:
        pytest.skip("this engine's identity was not measured in this session")
    readme = (REPO_ROOT / "README.md").read_text()
    rows = [line for line in readme.splitlines()
            if line.startswith("|") and f"`{engine_target.name}`" in line]
    assert len(rows) == 1, f"README needs one table row for `{engine_target.name}`"
    row = rows[0]
    major = figures["version"].split(".")[0]
    assert f" {major}." in row or f" {major} " in row, (row, figures["version"])
    store = figures["store"].replace("graphdriver:", "")
    assert store in row, (row, store)
    assert figures["backend"] in row.lower(), (row, figures["backend"])


def test_the_engineless_archive_loads_and_runs_on_this_engine(engine_target, client, tmp_path):
    """The reference built without an engine: ``docker load`` takes it on every engine
    (docker-archive on the classic store, OCI layout on containerd and Podman), and it
    holds the files the engine-less build wrote and answers /health."""
    from helpers.build.engineless import toolchain
    from helpers.build.engineless.build import build_without_engine
    from helpers.engine.containers import check_health

    if toolchain.go_toolchain() is None:
        pytest.skip("no Go toolchain")
    tag = image_tag("matrix-engineless")
    built = build_without_engine(EXERCISE_DIR, SOLUTIONS_DIR / "Dockerfile.multistage", tag,
                                 output=tmp_path / "image.tar")
    with open(built.archive, "rb") as archive:
        client.images.load(archive)
    breakdown = file_breakdown(client, tag)
    assert sorted(breakdown.files["path"]) == ["/etc/ssl/certs/ca-certificates.crt", "/server"]
    assert breakdown.total_bytes == sum(e.size for layer in built.image.layers for e in layer)
    health = check_health(client, tag)
    assert health.healthy and health.ca_roots > 100
    record(engine_target.name, engineless_loaded_bytes=breakdown.total_bytes,
           engineless_layout=breakdown.layout)
