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
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable

import docker
from docker.errors import APIError, DockerException

from .config import MANAGED_LABEL, kit_labels
from .engine import ENGINE_LOST_ERRORS, engine_lost
from .errors import BuildError, KitError

#: A step starts: Docker's classic builder writes ``Step 3/9 : COPY . .``, Podman's (buildah)
#: ``STEP 3/9: COPY . .``, prefixed ``[1/2] `` (stage 1 of 2, steps counted per stage) in a
#: multi-stage build.
STEP_RE = re.compile(r"^(?:\[(\d+)/\d+\] )?(?:Step|STEP) (\d+)/(\d+) ?: (.*)$")
#: The step came from the cache: `` ---> Using cache`` (Docker), ``--> Using cache <id>``
#: (buildah).
CACHE_RE = re.compile(r"^\s*-{2,3}> Using cache\b")


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
        return BuildError(
            message.strip(),
            step=current.number if current else None,
            instruction=current.instruction if current else "",
            log=list(self.log),
            hint=hint_for_build_error(message, current.instruction if current else ""),
        )


def hint_for_build_error(message: str, instruction: str = "") -> str:
    """A first hint for a build error; helpers.diagnose refines it for the classic mistakes."""
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


BACKENDS = ("classic", "buildkit", "auto")
#: What only BuildKit builds: RUN --mount/--network/--security, COPY --link/--chmod/--parents,
#: heredocs, a ``# syntax=`` frontend, and the automatic platform ARGs (``FROM
#: --platform=$BUILDPLATFORM``, ``GOARCH=$TARGETARCH``), which the classic builder leaves empty.
BUILDKIT_ONLY_RE = re.compile(
    r"^\s*RUN\s+(?:--\S+\s+)*--(?:mount|network|security)[= ]"
    r"|^\s*(?:COPY|ADD)\s+(?:--\S+\s+)*--(?:link|chmod|parents|exclude)\b"
    r"|^\s*(?:RUN|COPY)\b.*<<-?\s*[\"']?[A-Za-z_][A-Za-z0-9_]*"
    r"|^\s*#\s*syntax\s*="
    r"|\$\{?(?:BUILD|TARGET)(?:PLATFORM|OS|ARCH|VARIANT)\b",
    re.IGNORECASE | re.MULTILINE)
#: Docker Engine versions from which ``docker build`` uses BuildKit by default (on Linux).
BUILDKIT_DEFAULT_SINCE = 23


def needs_buildkit(dockerfile: Path) -> str:
    """The first line that only BuildKit builds as intended, or ``""``."""
    try:
        text = dockerfile.read_text(errors="replace")
    except OSError:
        return ""
    match = BUILDKIT_ONLY_RE.search(text)
    if match is None:
        return ""
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    return text[start:end if end >= 0 else len(text)].strip()


@dataclass(frozen=True)
class EngineKind:
    """What decides how ``docker build`` builds on an engine."""

    podman: bool = False
    version: str = ""

    @property
    def buildkit_default(self) -> bool:
        """Docker >= 23 builds with BuildKit by default; Podman and older Docker do not."""
        major = self.version.split(".")[0]
        return not self.podman and major.isdigit() and int(major) >= BUILDKIT_DEFAULT_SINCE


def engine_kind(client: docker.DockerClient) -> EngineKind:
    """Podman or Docker, and which version, from the engine's ``/version``."""
    try:
        version = client.version()
    except (APIError, DockerException, *ENGINE_LOST_ERRORS):
        return EngineKind()
    names = [(c.get("Name") or "").lower() for c in version.get("Components") or []]
    return EngineKind(podman=any("podman" in name for name in names),
                      version=str(version.get("Version") or ""))


def choose_backend(requested: str, dockerfile: Path,
                   kind: EngineKind | None = None) -> tuple[str, str]:
    """The backend to use and a note for the learner (empty when nothing needs saying).

    ``auto`` builds the way the learner's own ``docker build`` would on this engine:
    BuildKit on Docker >= 23 (its default), and on older Docker for a Dockerfile that only
    BuildKit builds as intended (``RUN --mount``, ``$TARGETARCH``...); the classic builder
    elsewhere. Podman builds through its Docker-compatible API (buildah), never BuildKit.
    Where BuildKit is wanted but no BuildKit-capable docker CLI exists here, the classic
    builder is used, with a one-line note.
    """
    from .buildkit import UNAVAILABLE_HINT, buildkit_client

    if requested not in BACKENDS:
        raise KitError(f"Unknown build backend {requested!r}.",
                       f"Choose one of {', '.join(BACKENDS)}.")
    kind = kind or EngineKind()
    if kind.podman:
        note = ("Podman builds with buildah through its Docker-compatible API; BuildKit is "
                "not available there." if requested == "buildkit" else "")
        return "classic", note
    needed = needs_buildkit(dockerfile)
    wants_buildkit = requested == "buildkit" or (
        requested == "auto" and (kind.buildkit_default or bool(needed)))
    if not wants_buildkit:
        return "classic", ""
    if buildkit_client() is None:
        why = f" (this Dockerfile needs it: {needed})" if needed else ""
        return "classic", (f"BuildKit is not available here{why}; using the classic "
                           f"builder. {UNAVAILABLE_HINT}")
    return "buildkit", ""


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


def build_image(client: docker.DockerClient, context: str | Path, tag: str,
                dockerfile: str | Path = "Dockerfile", *,
                on_event: EventHandler | None = None, nocache: bool = False,
                buildargs: dict[str, str] | None = None,
                labels: dict[str, str] | None = None, backend: str = "classic",
                clock: Callable[[], float] = time.monotonic) -> BuildResult:
    """Build ``dockerfile`` in ``context`` as ``tag``, streaming progress.

    The classic backend drives the docker SDK; ``backend="buildkit"`` (or ``"auto"`` for a
    Dockerfile with ``RUN --mount``) uses a BuildKit-capable docker CLI
    (:mod:`helpers.buildkit`), falling back to the classic builder with a note when there
    is none.

    Args:
        client: A connected client (see :func:`helpers.engine.connect`).
        context: The build context folder (honours its ``.dockerignore``).
        tag: Tag for the image; it also gets the kit's labels.
        dockerfile: Path relative to ``context``, or an absolute path anywhere
            (the SDK then ships it inside the context under a private name).
        on_event: Called with each :class:`BuildEvent` as the build runs.
        nocache: Ignore the build cache.
        buildargs: ``--build-arg`` values.
        labels: Extra labels on top of the kit's.
        backend: ``"classic"``, ``"buildkit"`` or ``"auto"``.
        clock: Time source (tests pass a fake one).

    Returns:
        The BuildResult.

    Raises:
        BuildError: A step failed, or the engine refused the build; names the step.
        KitError: The context folder or Dockerfile does not exist.
    """
    context = Path(context)
    dockerfile_path = Path(dockerfile) if Path(dockerfile).is_absolute() else context / dockerfile
    if not context.is_dir():
        raise KitError(f"The build context {context} is not a folder.",
                       "Pass the folder that holds go.mod and cmd/.")
    if not dockerfile_path.is_file():
        raise KitError(f"No Dockerfile at {dockerfile_path}.",
                       "Check the file name (Dockerfile.multistage?) and the folder.")
    chosen, note = choose_backend(backend, dockerfile_path, engine_kind(client))
    if note and on_event:
        on_event(BuildEvent("line", 0.0, line=note))
    superseded = _image_id(client, tag)
    if chosen == "buildkit":
        from .buildkit import build_with_buildkit, buildkit_client

        result = build_with_buildkit(context.resolve(), dockerfile_path.resolve(), tag,
                                     client=buildkit_client(),
                                     labels=kit_labels(**(labels or {})), on_event=on_event,
                                     nocache=nocache, buildargs=buildargs, clock=clock)
    else:
        result = _build_classic(client, context, dockerfile_path, tag, on_event=on_event,
                                nocache=nocache, buildargs=buildargs, labels=labels,
                                clock=clock)
    if not result.image_id:  # the containerd store's BuildKit log names no "writing image"
        result.image_id = _image_id(client, tag) or ""
    drop_superseded(client, superseded, result.image_id)
    return result


def _image_id(client: docker.DockerClient, tag: str) -> str | None:
    """The id ``tag`` names now, or None."""
    try:
        return client.images.get(tag).id
    except (APIError, DockerException):  # ImageNotFound included
        return None


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


def context_archive(context: Path, dockerfile: Path) -> tuple[IO[bytes], str]:
    """The build context as a tar (``.dockerignore`` honoured) holding the Dockerfile, and the
    Dockerfile's name inside it.

    A Dockerfile outside the context (``exercises/solutions/...``) goes into the tar under a
    private name, as the docker CLI does. docker-py would send it as a second value of the
    ``dockerfile`` query parameter, which Docker ignores and Podman takes for the file name
    (``stat .../build/<the whole Dockerfile text>: no such file``).
    """
    context, dockerfile = context.resolve(), dockerfile.resolve()
    ignore = context / ".dockerignore"
    exclude = None
    if ignore.is_file():  # the patterns, as docker-py's own build reads them
        exclude = [line.strip() for line in ignore.read_text().splitlines()
                   if line.strip() and not line.strip().startswith("#")]
    try:
        name, text = dockerfile.relative_to(context).as_posix(), None
    except ValueError:
        name, text = f".dockerfile.{uuid.uuid4().hex}", dockerfile.read_text()
    return docker.utils.tar(str(context), exclude=exclude, dockerfile=(name, text)), name


def _build_classic(client: docker.DockerClient, context: Path, dockerfile_path: Path, tag: str,
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
