"""BuildKit plain-progress parsing on recorded real output, and backend choice (no daemon)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from helpers.build.buildkit import PlainProgressParser
from helpers.engine.cli import BuildKitClient

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "progress"


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


def test_an_offline_from_image_is_said_in_the_learners_words():
    """``FROM alpine:3.19`` with no registry (recorded on Docker 20.10 with BuildKit): the
    error names the image and the hint what works offline; the engine's words stay kept."""
    parser, _ = parse("buildkit-from-offline.txt")
    error = parser.failure(1)
    assert "alpine:3.19 is not on this engine" in str(error)
    assert "no such host" in error.engine_message
    assert "FROM scratch" in error.hint and "make base-images" in error.hint
