"""Image references in FROM: repository and tag, Docker Hub spellings, pinning, toolchains.

``golang``, ``golang:latest`` and ``docker.io/library/golang:latest`` are the same image, and a
registry port (``localhost:5000/golang``) is not a tag; the checks must see that however the
learner spelled the reference. The tag split is docker-py's own
(:func:`docker.utils.parse_repository_tag`, pure string parsing, no engine), so the kit reads
references the way the SDK that pulls them does.
"""

from __future__ import annotations

from docker.utils import parse_repository_tag

from .model import DockerfileModel, Stage

_HUB_PREFIXES = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")
#: Image names (last path component) that are build toolchains.
_TOOLCHAIN_NAMES = frozenset({"go", "tinygo", "go-toolset", "gcc", "rust", "buildpack-deps",
                              "maven", "gradle", "openjdk", "sdk"})


def split_ref(image: str) -> tuple[str, str | None]:
    """(repository, tag or None) of an image reference; a digest is dropped."""
    repository, tag = parse_repository_tag(image.split("@", 1)[0])
    return repository, tag


def normalize_ref(image: str) -> str:
    """``image`` lower-cased, without Docker Hub prefixes, with ``latest`` for a missing tag.

    A reference with a digest is returned as it is after the prefixes are removed.
    """
    image = image.strip().lower()
    for prefix in _HUB_PREFIXES:
        if image.startswith(prefix):
            image = image[len(prefix):]
    if image.startswith("library/"):
        image = image[len("library/"):]
    if "@" in image:
        return image
    repo, tag = split_ref(image)
    return f"{repo}:{tag or 'latest'}"


def is_official_golang(image: str) -> bool:
    """Whether ``image`` is Docker Hub's ``golang`` (which sets ``WORKDIR /go``, ``GOPATH``)."""
    return split_ref(normalize_ref(image))[0] == "golang"


def is_toolchain_image(image: str) -> bool:
    """Whether ``image`` is a build toolchain image, not a runtime base.

    True for ``golang:*`` (any registry, any variant such as ``golang:1.22-alpine``), names
    containing ``golang`` or ``sdk``, ``buildpack-deps``, ``cgr.dev/chainguard/go``,
    ``tinygo``, ``go-toolset``, ``gcc``, ``rust``... False for ``scratch``, ``alpine``,
    ``busybox``, ``debian``, ``gcr.io/distroless/*`` and other runtime bases.
    """
    repo = split_ref(image.strip().lower())[0]
    if not repo or repo == "scratch":
        return False
    parts = repo.split("/")
    if "distroless" in parts:
        return False
    if any("golang" in p or "sdk" in p or "buildpack-deps" in p for p in parts):
        return True
    return parts[-1] in _TOOLCHAIN_NAMES


def uses_latest_or_unpinned(model: DockerfileModel) -> list[tuple[Stage, str]]:
    """Stages FROM an image with no tag or the ``latest`` tag.

    ``scratch`` and stage references are excluded; a digest (``@sha256:...``) counts as
    pinned; a base still holding an unresolved variable (``golang:$GO_VERSION`` with no
    value) is not judged.
    """
    found = []
    for stage in model.stages:
        base = stage.base
        if stage.base_stage is not None or base.lower() == "scratch" or "@" in base \
                or "$" in base:
            continue
        tag = split_ref(base)[1]
        if tag is None or tag == "latest":
            found.append((stage, base))
    return found
