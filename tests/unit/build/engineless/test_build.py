"""``docker build`` without an engine, end to end: the exercise's Dockerfiles built with the
local Go toolchain into image archives (or, on a recorded base, measured descriptions)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from helpers.build.engineless import toolchain
from helpers.build.engineless.build import build_without_engine
from helpers.build.engineless.entries import NeedsEngine
from helpers.config import EXERCISE_DIR, SOLUTIONS_DIR
from helpers.errors import BuildError
from helpers.image import breakdown_of, read_export

pytestmark = pytest.mark.skipif(toolchain.go_toolchain() is None, reason="no Go toolchain")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """One engine-less folder (and so one Go cache) for the module's builds."""
    return tmp_path_factory.mktemp("engineless")


def build(root: Path, dockerfile: Path, tag: str, output: Path | None = None):
    return build_without_engine(EXERCISE_DIR, dockerfile, tag, output=output, root=root)


def dockerfile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Dockerfile"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def read_archive(path: Path):
    with open(path, "rb") as archive:
        return breakdown_of("t", read_export(iter(lambda: archive.read(1 << 20), b"")))


def test_the_reference_builds_to_a_loadable_reproducible_archive(root, tmp_path):
    first = build(root, SOLUTIONS_DIR / "Dockerfile.multistage", "ref", tmp_path / "a.tar")
    again = build(root, SOLUTIONS_DIR / "Dockerfile.multistage", "ref", tmp_path / "b.tar")
    assert first.image.complete and first.archive == tmp_path / "a.tar"
    assert first.image_id == again.image_id  # same inputs, same bytes
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    breakdown = read_archive(first.archive)
    assert sorted(breakdown.files["path"]) == ["/etc/ssl/certs/ca-certificates.crt", "/server"]
    assert 3_000_000 < breakdown.total_bytes < 15_000_000
    assert list(breakdown.layers["instruction"]) == [
        "COPY --from=build /etc/ssl/certs/ca-certificates.crt "
        "/etc/ssl/certs/ca-certificates.crt", "COPY --from=build /out/server /server"]
    assert first.image.config["User"] == "65534:65534"
    assert first.image.read("/etc/ssl/certs/ca-certificates.crt").startswith(b"-----BEGIN")


def test_the_starter_is_measured_on_the_recorded_golang_base(root):
    built = build(root, EXERCISE_DIR / "Dockerfile.multistage", "starter")
    assert not built.image.complete and built.archive is None
    assert built.image.base.ref.startswith("golang:1.22")
    server = built.image.lookup("/server")
    assert server is not None and server.size > 1_000_000
    assert built.image.lookup("/usr/local/go/bin/go") is not None  # from the manifest
    assert built.image.config["Entrypoint"] == ["/server"]


def test_a_final_stage_on_another_image_needs_an_engine(root, tmp_path):
    path = dockerfile(tmp_path, """
        FROM golang:1.22 AS build
        WORKDIR /src
        COPY . .
        RUN CGO_ENABLED=0 go build -o /server ./cmd/server
        FROM alpine:3.19
        COPY --from=build /server /server
        """)
    with pytest.raises(NeedsEngine, match="needs a Docker engine: FROM alpine:3.19"):
        build(root, path, "alpine")


def test_an_unsupported_builder_command_needs_an_engine(root, tmp_path):
    path = dockerfile(tmp_path, """
        FROM golang:1.22 AS build
        RUN apt-get update && apt-get install -y upx
        FROM scratch
        COPY --from=build /usr/bin/upx /upx
        """)
    with pytest.raises(NeedsEngine, match="apt-get"):
        build(root, path, "upx")


def test_a_missing_copy_source_fails_as_the_engine_build_would(root, tmp_path):
    path = dockerfile(tmp_path, """
        FROM golang:1.22 AS build
        COPY missing.txt /x
        FROM scratch
        COPY --from=build /x /x
        """)
    with pytest.raises(BuildError, match="not found"):
        build(root, path, "missing")


def test_a_context_copy_and_workdir_in_scratch_make_their_layers(root, tmp_path):
    path = dockerfile(tmp_path, """
        FROM scratch
        WORKDIR /app
        COPY go.mod ./
        COPY --chown=65534:65534 --chmod=600 go.sum /app/
        """)
    built = build(root, path, "ctx", tmp_path / "ctx.tar")
    assert built.image.created_by == ["WORKDIR /app", "COPY go.mod ./",
                                      "COPY --chown=65534:65534 --chmod=600 go.sum /app/"]
    gosum = built.image.lookup("/app/go.sum")
    assert (gosum.uid, gosum.gid, gosum.mode) == (65534, 65534, 0o600)
    assert built.image.read("/app/go.mod") == (EXERCISE_DIR / "go.mod").read_bytes()
    assert set(read_archive(built.archive).files["path"]) == {"/app/go.mod", "/app/go.sum"}
