"""The BuildKit build backend: the docker CLI with ``--progress=plain``, parsed live.

The docker SDK for Python only drives the classic builder (docker-py issue 2230), which has no
``RUN --mount``. BuildKit is reached through a docker CLI instead: ``docker buildx build
--load`` where the buildx plugin exists, else a client whose ``docker build`` still builds
with ``DOCKER_BUILDKIT=1`` (Debian's 20.10 client does; newer clients without buildx refuse).
The plain progress output is parsed line by line into the same
:class:`~helpers.build.BuildEvent` stream and :class:`~helpers.build.BuildResult` as the
classic backend, so progress widgets and checks work with both.

Plain progress, one vertex per Dockerfile step::

    #8 [build 4/6] RUN go mod download      <- a step starts (stage "build", 4 of 6)
    #8 0.157 go: no module dependencies     <- its output
    #8 DONE 0.2s                            <- finished (or "#8 CACHED", "#8 ERROR: ...")
    #13 writing image sha256:17bf... done   <- the image id
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Callable

from ..engine.cli import BuildKitClient
from ..errors import BuildError
from .events import (
    BuildEvent,
    BuildResult,
    EventHandler,
    StepResult,
    build_failure,
)

VERTEX_RE = re.compile(r"^#(\d+) \[(?:(\S+) )?(\d+)/(\d+)\] (.*)$")
STATUS_RE = re.compile(r"^#(\d+) (DONE ([\d.]+)s|CACHED|ERROR: (.*))$")
IMAGE_RE = re.compile(r"writing image (sha256:[0-9a-f]{64})")
FAILURE_PREFIXES = ("failed to solve", "error:", "ERROR:", "executor failed",
                    "failed to compute cache key")


class PlainProgressParser:
    """Turns ``--progress=plain`` lines into steps, events and a log (no I/O, unit-tested)."""

    def __init__(self, on_event: EventHandler | None, clock: Callable[[], float]) -> None:
        self.on_event = on_event or (lambda event: None)
        self.clock = clock
        self.start = clock()
        self.log: list[str] = []
        self.steps: dict[str, StepResult] = {}   # vertex number -> step
        self.stage_totals: dict[str, int] = {}
        self.image_id = ""
        self.failed_vertex: str | None = None
        self.error_lines: list[str] = []

    @property
    def total(self) -> int:
        return sum(self.stage_totals.values())

    def elapsed(self) -> float:
        return self.clock() - self.start

    def feed(self, line: str) -> None:
        """Consume one output line."""
        self.log.append(line)
        self.on_event(BuildEvent("line", self.elapsed(), line=line))
        if (match := VERTEX_RE.match(line)):
            vertex, stage, _index, total, instruction = match.groups()
            self.stage_totals[stage or ""] = int(total)
            if vertex not in self.steps:
                step = StepResult(len(self.steps) + 1, instruction, stage=stage or "",
                                  started_s=self.elapsed())
                self.steps[vertex] = step
                self.on_event(BuildEvent("step", self.elapsed(), step=step.number,
                                         total=self.total, instruction=instruction))
        elif (match := STATUS_RE.match(line)):
            vertex, _status, seconds, error = match.groups()
            step = self.steps.get(vertex)
            if error is not None:
                self.failed_vertex = self.failed_vertex or vertex
                self.error_lines.append(error)
            elif step is not None:
                step.cached = seconds is None
                step.duration_s = float(seconds) if seconds else 0.0
                self.on_event(BuildEvent("step-done", self.elapsed(), step=step.number,
                                         total=self.total, instruction=step.instruction,
                                         result=step))
        elif (match := IMAGE_RE.search(line)):
            self.image_id = match[1]
        elif line.startswith(FAILURE_PREFIXES):
            self.error_lines.append(line)

    def failure(self, returncode: int) -> BuildError:
        """The BuildError for a failed build, naming the failing step."""
        step = self.steps.get(self.failed_vertex or "")
        message = (self.error_lines[-1] if self.error_lines
                   else f"docker build exited with code {returncode}")
        return build_failure(message, step=step.number if step else None,
                             instruction=step.instruction if step else "", log=list(self.log))


def build_with_buildkit(context: Path, dockerfile: Path, tag: str, *,
                        client: BuildKitClient, labels: dict[str, str],
                        on_event: EventHandler | None = None, nocache: bool = False,
                        buildargs: dict[str, str] | None = None,
                        clock: Callable[[], float] = time.monotonic) -> BuildResult:
    """Build with BuildKit through ``client``; same result and events as the classic backend.

    Raises:
        BuildError: The build failed; names the step whose vertex reported ERROR.
    """
    command = client.command() + ["--progress=plain", "-f", str(dockerfile), "-t", tag]
    command += [f"--label={key}={value}" for key, value in labels.items()]
    command += [f"--build-arg={key}={value}" for key, value in (buildargs or {}).items()]
    if nocache:
        command.append("--no-cache")
    command.append(str(context))
    env = {**os.environ, "DOCKER_BUILDKIT": "1", "BUILDKIT_PROGRESS": "plain"}
    parser = PlainProgressParser(on_event, clock)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env, bufsize=1)
    try:
        for line in process.stdout:
            parser.feed(line.rstrip("\n"))
        returncode = process.wait()
    finally:
        if process.poll() is None:  # Ctrl-C or an error while reading: stop the client
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
    if returncode != 0 or parser.failed_vertex is not None:
        error = parser.failure(returncode)
        parser.on_event(BuildEvent("error", parser.elapsed(), error=error))
        raise error
    steps = sorted(parser.steps.values(), key=lambda step: step.number)
    result = BuildResult(tag, parser.image_id, steps, parser.log, parser.elapsed(),
                         backend="buildkit")
    parser.on_event(BuildEvent("done", result.duration_s, total=parser.total, result=result))
    return result
