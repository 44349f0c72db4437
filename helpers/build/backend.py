"""Build the way the learner's own ``docker build`` would: choose a backend, then run it.

Docker 23 and newer build with BuildKit by default, so ``auto`` does too wherever a
BuildKit-capable CLI exists; older Docker keeps the classic builder unless the Dockerfile
needs BuildKit (``RUN --mount``, automatic platform ARGs, heredocs, ``COPY --link``, a
``# syntax`` line); Podman builds through its compat API with buildah.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Callable

import docker
from docker.errors import APIError, DockerException

from ..config import kit_labels
from ..engine import cli
from ..engine.cli import UNAVAILABLE_HINT
from ..engine.probe import EngineKind, engine_kind
from ..errors import KitError
from .buildkit import build_with_buildkit
from .classic import build_classic, drop_superseded
from .events import BuildEvent, BuildResult, EventHandler

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
    if cli.buildkit_client() is None:
        why = f" (this Dockerfile needs it: {needed})" if needed else ""
        return "classic", (f"BuildKit is not available here{why}; using the classic "
                           f"builder. {UNAVAILABLE_HINT}")
    return "buildkit", ""


def build_image(client: docker.DockerClient, context: str | Path, tag: str,
                dockerfile: str | Path = "Dockerfile", *,
                on_event: EventHandler | None = None, nocache: bool = False,
                buildargs: dict[str, str] | None = None,
                labels: dict[str, str] | None = None, backend: str = "classic",
                clock: Callable[[], float] = time.monotonic) -> BuildResult:
    """Build ``dockerfile`` in ``context`` as ``tag``, streaming progress.

    The classic backend drives the docker SDK; ``backend="buildkit"`` (or ``"auto"`` for a
    Dockerfile with ``RUN --mount``) uses a BuildKit-capable docker CLI
    (:mod:`helpers.build.buildkit`), falling back to the classic builder with a note when there
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
        result = build_with_buildkit(context.resolve(), dockerfile_path.resolve(), tag,
                                     client=cli.buildkit_client(),
                                     labels=kit_labels(**(labels or {})), on_event=on_event,
                                     nocache=nocache, buildargs=buildargs, clock=clock)
    else:
        result = build_classic(client, context, dockerfile_path, tag, on_event=on_event,
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
