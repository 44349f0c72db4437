"""What every build backend reports: live events, per-step results, the finished build.

Shared by the classic (:mod:`helpers.build.classic`) and BuildKit
(:mod:`helpers.build.buildkit`) backends, so progress widgets, checks and recordings read
one shape whichever builder ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..engine.failures import base_image_failure
from ..errors import BuildError


@dataclass
class StepResult:
    """One Dockerfile step as the builder ran it."""

    number: int
    instruction: str
    duration_s: float = 0.0
    cached: bool = False
    stage: str = ""          # BuildKit's stage name ("build", "stage-1"); "" for classic
    started_s: float = 0.0   # seconds from the start of the build (for timelines)


@dataclass
class BuildResult:
    """What a finished build produced."""

    tag: str
    image_id: str
    steps: list[StepResult]
    log: list[str]
    duration_s: float
    backend: str = "classic"
    recorded: bool = False  # True when it comes from a recorded run (no engine here)

    @property
    def cached_steps(self) -> int:
        """How many steps reused the build cache."""
        return sum(step.cached for step in self.steps)


@dataclass
class BuildEvent:
    """A progress event sent to ``on_event`` while a build runs.

    ``kind`` is ``"step"`` (a step started: ``step``, ``total``, ``instruction``),
    ``"line"`` (a log line in ``line``), ``"step-done"`` (``result`` is the StepResult),
    ``"done"`` (``result`` is the BuildResult) or ``"error"`` (``error`` is the BuildError).
    ``elapsed_s`` counts from the start of the build.
    """

    kind: str
    elapsed_s: float
    step: int = 0
    total: int = 0
    instruction: str = ""
    line: str = ""
    result: StepResult | BuildResult | None = None
    error: BuildError | None = None


EventHandler = Callable[[BuildEvent], None]


def build_failure(message: str, step: int | None = None, instruction: str = "",
                  log: list[str] | None = None) -> BuildError:
    """The BuildError every backend raises for an engine's error message.

    A FROM image that no registry gives (``FROM alpine:3.19`` offline, a mistyped tag) is
    said in the learner's words, with the images that work here as the hint
    (:func:`helpers.engine.failures.base_image_failure`); the engine's own words stay in
    ``engine_message`` and the log. Any other error keeps the engine's message verbatim,
    with :func:`hint_for_build_error`'s first hint.
    """
    message = message.strip()
    pulled = base_image_failure(message, instruction)
    if pulled is None:
        return BuildError(message, step=step, instruction=instruction, log=log,
                          hint=hint_for_build_error(message, instruction))
    error = BuildError(pulled.message, step=step, instruction=instruction, log=log,
                       hint=pulled.hint)
    error.engine_message = message
    return error


def hint_for_build_error(message: str, instruction: str = "") -> str:
    """A first hint for a build error; helpers.grading.mistakes refines it for the classic
    mistakes."""
    text = message.lower()
    if "cannot connect to the docker daemon" in text or "error during connect" in text:
        return ("The Docker engine stopped answering during the build: start it again "
                "(Docker Desktop, `sudo systemctl start docker`, or `make engine`), then "
                "rerun the build.")
    if "file not found in build context" in text or "no such file or directory" in text:
        return ("A COPY/ADD source does not exist in the build context (or .dockerignore "
                "excludes it). Paths are relative to the context folder, not the Dockerfile.")
    if "returned a non-zero code" in text:
        return ("The command in this RUN step failed: read the log lines just above the "
                "error for the command's own message.")
    if "requires buildkit" in text:
        return ("This Dockerfile uses RUN --mount, which only BuildKit understands: build it "
                "with backend='buildkit' (or DOCKER_BUILDKIT=1 docker build).")
    if "unknown instruction" in text or "parse error" in text:
        return "The Dockerfile has a syntax error on the line named above."
    if "pull access denied" in text or "not found: manifest unknown" in text or \
            "no such image" in text:
        return ("A FROM image is not on this engine and no registry is reachable: run "
                "`make setup` (scripts/base-images.sh) or check the image name.")
    return "Read the full log above; the last lines before the error say what failed."
