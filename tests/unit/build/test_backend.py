"""BuildKit plain-progress parsing on recorded real output, and backend choice (no daemon)."""

from __future__ import annotations

import pytest

from helpers import build
from helpers.build import choose_backend
from helpers.engine import EngineKind, cli
from helpers.engine.cli import BuildKitClient
from helpers.errors import KitError


@pytest.mark.parametrize("line", [
    "RUN --mount=type=cache,target=/go/pkg/mod go mod download",
    "RUN --network=none go build ./...",
    "COPY --link --from=build /server /server",
    "FROM --platform=$BUILDPLATFORM golang:1.22 AS build",
    "RUN GOOS=$TARGETOS GOARCH=${TARGETARCH} go build ./cmd/server",
    "# syntax=docker/dockerfile:1",
    "RUN <<EOF\ngo build\nEOF",
])
def test_buildkit_only_lines_are_found(tmp_path, line):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM golang:1.22\n{line}\n")
    assert build.needs_buildkit(dockerfile)


def test_plain_dockerfiles_need_no_buildkit(tmp_path):
    plain = tmp_path / "b"
    plain.write_text("FROM x\nRUN go mod download  # --mount is only mentioned here\n"
                     "ARG TARGET=server\nRUN echo $TARGET_DIR <not a heredoc\n")
    assert build.needs_buildkit(plain) == ""


DOCKER_20 = EngineKind(version="20.10.24")


DOCKER_26 = EngineKind(version="26.1.5")


PODMAN = EngineKind(podman=True, version="4.3.1")


def test_auto_builds_like_docker_build_on_each_engine(tmp_path, monkeypatch):
    plain, mounts = tmp_path / "plain", tmp_path / "mounts"
    plain.write_text("FROM x\nRUN true\n")
    mounts.write_text("FROM x\nRUN --mount=type=cache,target=/c true\n")
    monkeypatch.setattr(cli, "buildkit_client", lambda: BuildKitClient("/d", False))
    assert choose_backend("auto", plain, DOCKER_26) == ("buildkit", "")    # its default
    assert choose_backend("auto", plain, DOCKER_20) == ("classic", "")     # its default
    assert choose_backend("auto", mounts, DOCKER_20) == ("buildkit", "")   # needs it
    assert choose_backend("auto", mounts, PODMAN) == ("classic", "")       # buildah
    chosen, note = choose_backend("buildkit", plain, PODMAN)
    assert chosen == "classic" and "buildah" in note
    assert choose_backend("classic", mounts, DOCKER_26) == ("classic", "")


def test_backend_fallback_without_a_buildkit_client(tmp_path, monkeypatch):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM x\nRUN --mount=type=cache,target=/c true\n")
    monkeypatch.setattr(cli, "buildkit_client", lambda: None)
    chosen, note = choose_backend("buildkit", dockerfile, DOCKER_26)
    assert chosen == "classic" and "BuildKit is not available" in note
    chosen, note = choose_backend("auto", dockerfile, DOCKER_20)
    assert chosen == "classic" and "needs it: RUN --mount=type=cache" in note
    with pytest.raises(KitError, match="Unknown build backend"):
        choose_backend("kaniko", dockerfile)


def test_classic_mount_error_hint_names_buildkit():
    hint = build.hint_for_build_error("the --mount option requires BuildKit. Refer to ...")
    assert "BuildKit" in hint and "RUN --mount" in hint
