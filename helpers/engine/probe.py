"""What the engine here is and offers: version, image store, build backends.

Used by the setup check, the CLI's ``probe`` and the build layer's backend choice; never
raises for an engine that does not answer (:class:`EngineInfo` says why instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import docker
from docker.errors import APIError, DockerException

from ..errors import EngineUnavailable
from . import cli
from .connect import CONNECT_ERRORS, ENGINE_LOST_ERRORS, connect, engine_url
from .failures import CONNECT_TIMEOUT, DEFAULT_SOCKET, unavailable


@dataclass
class EngineInfo:
    """What the engine can do, as found by :func:`probe`."""

    reachable: bool
    url: str
    server_version: str = ""
    api_version: str = ""
    os_arch: str = ""
    storage_driver: str = ""
    image_store: str = ""
    backends: list[str] = field(default_factory=list)  # build backends that work here
    error: str = ""
    hint: str = ""


def probe(timeout: float = CONNECT_TIMEOUT) -> EngineInfo:
    """Find out, without raising, whether an engine answers and what it offers.

    Returns:
        EngineInfo with ``reachable`` False (and ``error``/``hint``) when no engine answers.
    """
    url = engine_url() or f"unix://{DEFAULT_SOCKET}"
    try:
        client = connect(timeout)
    except EngineUnavailable as exc:
        return EngineInfo(False, url, error=exc.message, hint=exc.hint)
    try:
        version = client.version()
        info = client.info()
    except CONNECT_ERRORS as exc:  # it answered the ping, then stopped or refused
        failed = unavailable(engine_url(), exc, timeout)
        return EngineInfo(False, url, error=failed.message, hint=failed.hint)
    finally:
        client.close()
    driver_status = dict(info.get("DriverStatus") or [])
    store = ("containerd snapshotter" if "driver-type" in driver_status
             else f"graph driver {info.get('Driver', '?')}")
    return EngineInfo(
        True, url,
        server_version=version.get("Version", ""),
        api_version=version.get("ApiVersion", ""),
        os_arch=f"{version.get('Os', '')}/{version.get('Arch', '')}",
        storage_driver=info.get("Driver", ""),
        image_store=store,
        backends=available_backends(),
    )


def available_backends() -> list[str]:
    """``["classic"]``, plus ``"buildkit"`` when a BuildKit-capable docker CLI exists."""
    return ["classic"] + (["buildkit"] if cli.buildkit_client() is not None else [])


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


def image_store(client: docker.DockerClient) -> str:
    """The engine's image store: ``"podman"``, ``"containerd"`` or ``"graphdriver:<name>"``."""
    components = client.version().get("Components") or []
    if any("podman" in (component.get("Name") or "").lower() for component in components):
        return "podman"
    info = client.info()
    if "driver-type" in dict(info.get("DriverStatus") or []):  # containerd snapshotter
        return "containerd"
    return f"graphdriver:{info.get('Driver') or '?'}"


#: Docker Engine versions from which ``docker build`` uses BuildKit by default (on Linux).
BUILDKIT_DEFAULT_SINCE = 23
