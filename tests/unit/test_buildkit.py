"""BuildKit plain-progress parsing on recorded real output, and backend choice (no daemon)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from helpers import build
from helpers.engine import EngineKind
from helpers.errors import KitError

from helpers.build import buildkit
from helpers.build import choose_backend
from helpers.build.buildkit import PlainProgressParser
from helpers.engine import cli
from helpers.engine.cli import BuildKitClient

RECORDED = Path(__file__).resolve().parent.parent / "fixtures" / "progress"


def parse(name: str) -> tuple[PlainProgressParser, list]:
    events = []
    counter = itertools.count()
    parser = PlainProgressParser(events.append, lambda: float(next(counter)))
    for line in (RECORDED / name).read_text().splitlines():
        parser.feed(line)
    return parser, events


def test_successful_build_steps_cache_and_image_id():
    parser, events = parse("buildkit-ok.txt")
    steps = sorted(parser.steps.values(), key=lambda s: s.number)
    assert [s.instruction for s in steps][:3] == [
        "FROM docker.io/library/golang:1.22", "WORKDIR /src", "COPY go.mod go.sum ./"]
    assert [s.stage for s in steps] == ["build"] * 6 + ["stage-1"] * 2
    (download,) = [s for s in steps if s.instruction.endswith("go mod download")]
    (compile_,) = [s for s in steps if "go build" in s.instruction]
    assert steps[1].cached is True and steps[1].duration_s == 0.0
    assert (download.cached, download.duration_s) == (False, 0.2)
    assert (compile_.cached, compile_.duration_s) == (False, 20.4)
    assert parser.image_id.startswith("sha256:17bfa14e")
    assert parser.total == 8  # 6 steps in "build" + 2 in "stage-1"
    assert parser.failed_vertex is None
    kinds = [e.kind for e in events]
    assert kinds.count("step") == 8 and kinds.count("step-done") == 8
    assert all(s.started_s > 0 for s in steps)


@pytest.mark.parametrize("name, instruction, message", [
    ("buildkit-run-fails.txt", "RUN echo about to fail && false", "exit code: 1"),
    ("buildkit-copy-missing.txt", "COPY nope /x", "not found"),
])
def test_failed_build_names_the_step(name, instruction, message):
    parser, _ = parse(name)
    error = parser.failure(1)
    assert error.instruction == instruction
    assert error.step is not None
    assert message in error.engine_message
    assert error.hint


def test_docker_cli_commands():
    assert BuildKitClient("/usr/bin/docker", False).command() == ["/usr/bin/docker", "build"]
    assert BuildKitClient("/x/docker", True).command() == ["/x/docker", "buildx", "build",
                                                         "--load"]


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
