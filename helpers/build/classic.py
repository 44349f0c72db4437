"""Build an image with live progress, and describe what each step did.

The classic-builder backend drives the docker SDK's low-level streaming API
(``client.api.build(decode=True)``), because ``client.images.build()`` returns the log only
when the build is over. Each line is parsed as it arrives (``Step N/M : INSTRUCTION``,
``---> Using cache``, errors), reported to an ``on_event`` callback (terminal printer, notebook
widget) and collected into a :class:`BuildResult`: image id, per-step duration and cache use,
and the full log. A failing build raises :class:`~helpers.errors.BuildError` naming the step.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import IO, Callable

import docker
from docker.errors import APIError, DockerException

from ..config import MANAGED_LABEL, kit_labels
from ..engine import ENGINE_LOST_ERRORS, engine_lost
from ..errors import BuildError
from .events import (
    BuildEvent,
    BuildResult,
    EventHandler,
    StepResult,
    build_failure,
)

#: A step starts: Docker's classic builder writes ``Step 3/9 : COPY . .``, Podman's (buildah)
#: ``STEP 3/9: COPY . .``, prefixed ``[1/2] `` (stage 1 of 2, steps counted per stage) in a
#: multi-stage build.
STEP_RE = re.compile(r"^(?:\[(\d+)/\d+\] )?(?:Step|STEP) (\d+)/(\d+) ?: (.*)$")
#: The step came from the cache: `` ---> Using cache`` (Docker), ``--> Using cache <id>``
#: (buildah).
CACHE_RE = re.compile(r"^\s*-{2,3}> Using cache\b")


class _StepTracker:
    """Turns builder output lines into steps, events and a log (no I/O, unit-tested)."""

    def __init__(self, on_event: EventHandler | None, clock: Callable[[], float]) -> None:
        self.on_event = on_event or (lambda event: None)
        self.clock = clock
        self.start = clock()
        self.steps: list[StepResult] = []
        self.log: list[str] = []
        self.total = 0
        self.image_id = ""
        self._step_started = self.start
        self._stage_offset = 0  # steps of the earlier stages (buildah's per-stage numbers)

    def elapsed(self) -> float:
        return self.clock() - self.start

    def feed(self, line: str) -> None:
        """Consume one complete output line."""
        self.log.append(line)
        self.on_event(BuildEvent("line", self.elapsed(), line=line))
        match = STEP_RE.match(line)
        if match:
            self.finish_step()
            stage, index, total, instruction = match.groups()
            if stage is None:
                number, self.total = int(index), int(total)
            else:  # buildah counts per stage: number the steps across the whole build
                if int(index) == 1:
                    self._stage_offset = self.total
                number = self._stage_offset + int(index)
                self.total = max(self.total, self._stage_offset + int(total))
            self._step_started = self.clock()
            self.steps.append(StepResult(number, instruction, stage=stage or "",
                                         started_s=self._step_started - self.start))
            self.on_event(BuildEvent("step", self.elapsed(), step=number, total=self.total,
                                     instruction=instruction))
        elif CACHE_RE.match(line) and self.steps:
            self.steps[-1].cached = True
        elif line.startswith("Successfully built "):
            self.finish_step()

    def finish_step(self) -> None:
        """Close the running step (if any) and report it."""
        if self.steps and not self.steps[-1].duration_s:
            current = self.steps[-1]
            current.duration_s = max(self.clock() - self._step_started, 1e-6)
            self.on_event(BuildEvent("step-done", self.elapsed(), step=current.number,
                                     total=self.total, instruction=current.instruction,
                                     result=current))

    def failure(self, message: str) -> BuildError:
        """The BuildError for an engine error message, naming the running step."""
        current = self.steps[-1] if self.steps else None
        return build_failure(message, step=current.number if current else None,
                             instruction=current.instruction if current else "",
                             log=list(self.log))


def _build_stream(client: docker.DockerClient, responses: list, **build_kwargs):
    """``client.api.build(**build_kwargs)``, appending its HTTP response to ``responses``.

    The SDK's build generator does not expose the response; a requests response hook on
    the client's session catches it, so the caller can close it on the way out.
    """
    def keep(response, *args, **kwargs):
        if "/build" in response.request.path_url:
            responses.append(response)

    hooks = getattr(client.api, "hooks", {}).get("response")  # a requests.Session's hooks
    if hooks is None:  # not a requests session (the unit tests' fake client)
        return client.api.build(**build_kwargs)
    hooks.append(keep)
    try:
        return client.api.build(**build_kwargs)
    finally:
        hooks.remove(keep)


def drop_superseded(client: docker.DockerClient, old_id: str | None, new_id: str) -> None:
    """Remove the image a rebuild replaced, if nothing else uses it and the kit made it.

    Rebuilding a tag leaves the previous image untagged (``<none>`` in ``docker images``);
    a class of learners rebuilding all afternoon would fill the engine's disk. Its untagged
    parents go too (they were its private build cache); layers other images use stay.
    """
    old_hex, new_hex = old_id.split(":")[-1] if old_id else "", new_id.split(":")[-1]
    if not old_hex or old_hex.startswith(new_hex) or new_hex.startswith(old_hex):
        return  # nothing was there, or the rebuild gave the same image
    try:
        old = client.images.get(old_id)
        if old.tags or old.labels.get(MANAGED_LABEL) != "true":
            return  # still tagged elsewhere, or not the kit's
        client.images.remove(old_id, noprune=False)
    except (APIError, DockerException):  # in use by a container, already gone...
        pass


def dockerignore_patterns(context: Path) -> list[str]:
    """The context's ``.dockerignore`` patterns, read as docker-py's own build reads them."""
    ignore = context / ".dockerignore"
    if not ignore.is_file():
        return []
    return [line.strip() for line in ignore.read_text().splitlines()
            if line.strip() and not line.strip().startswith("#")]


def context_archive(context: Path, dockerfile: Path) -> tuple[IO[bytes], str]:
    """The build context as a tar (``.dockerignore`` honoured) holding the Dockerfile, and the
    Dockerfile's name inside it.

    A Dockerfile outside the context (``exercises/solutions/...``) goes into the tar under a
    private name, as the docker CLI does. docker-py would send it as a second value of the
    ``dockerfile`` query parameter, which Docker ignores and Podman takes for the file name
    (``stat .../build/<the whole Dockerfile text>: no such file``).
    """
    context, dockerfile = context.resolve(), dockerfile.resolve()
    exclude = dockerignore_patterns(context) or None
    try:
        name, text = dockerfile.relative_to(context).as_posix(), None
    except ValueError:
        name, text = f".dockerfile.{uuid.uuid4().hex}", dockerfile.read_text()
    return docker.utils.tar(str(context), exclude=exclude, dockerfile=(name, text)), name


def build_classic(client: docker.DockerClient, context: Path, dockerfile_path: Path, tag: str,
                   *, on_event: EventHandler | None, nocache: bool,
                   buildargs: dict[str, str] | None, labels: dict[str, str] | None,
                   clock: Callable[[], float]) -> BuildResult:
    """The classic builder through the SDK's streamed ``/build`` call."""
    tracker = _StepTracker(on_event, clock)
    pending = ""
    responses: list = []
    archive, dockerfile_name = context_archive(context, dockerfile_path)
    try:
        stream = _build_stream(
            client, responses, fileobj=archive, custom_context=True,
            dockerfile=dockerfile_name, tag=tag, rm=True, forcerm=True,
            nocache=nocache, decode=True, buildargs=buildargs or {},
            labels=kit_labels(**(labels or {})))
        for chunk in stream:
            if "error" in chunk or "errorDetail" in chunk:
                message = chunk.get("error") or chunk["errorDetail"].get("message", "")
                if pending:
                    tracker.feed(pending)
                raise tracker.failure(message)
            if "aux" in chunk and "ID" in chunk["aux"]:
                tracker.image_id = chunk["aux"]["ID"]
            text = pending + chunk.get("stream", "")
            *lines, pending = text.split("\n")
            for line in lines:
                tracker.feed(line.rstrip("\r"))
        if pending:
            tracker.feed(pending)
    except BuildError as exc:
        tracker.on_event(BuildEvent("error", tracker.elapsed(), error=exc))
        raise
    except (APIError, DockerException) as exc:
        message = getattr(exc, "explanation", None) or str(exc)
        error = tracker.failure(str(message))
        tracker.on_event(BuildEvent("error", tracker.elapsed(), error=error))
        raise error from None
    except ENGINE_LOST_ERRORS as exc:
        lost = engine_lost(exc)
        tracker.on_event(BuildEvent("error", tracker.elapsed(), error=lost))
        raise lost from None
    finally:
        # Closing the streamed response is how a client cancels a classic build: the engine
        # stops the running step and removes its container. urllib3 already closes it when
        # Ctrl-C lands inside a read; this covers Ctrl-C (or an error) between two reads,
        # where the notebook's traceback would otherwise keep the stream, and the build, alive.
        for response in responses:
            response.close()
        archive.close()
    tracker.finish_step()
    image_id = tracker.image_id or client.images.get(tag).id
    result = BuildResult(tag, image_id, tracker.steps, tracker.log, tracker.elapsed())
    tracker.on_event(BuildEvent("done", result.duration_s, total=tracker.total, result=result))
    return result
