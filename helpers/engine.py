"""Connect to the Docker engine and say clearly, and quickly, when none answers.

The connection honours ``DOCKER_HOST`` (and ``DOCKER_TLS_VERIFY``/``DOCKER_CERT_PATH``) like
the docker CLI, then the current docker context, then the platform default socket. Whatever
the reason no engine answers, the caller gets :class:`~helpers.errors.EngineUnavailable`
within ``timeout`` seconds (2 s by default), with a hint, never a raw ``requests`` traceback.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator
from urllib.parse import urlparse

import docker
import requests
import urllib3
from docker.errors import DockerException

from .errors import EngineUnavailable

#: Seconds to wait for the engine to answer a ping before giving up.
CONNECT_TIMEOUT = 2.0
#: Seconds an ordinary API call may take once connected (builds stream without a limit).
API_TIMEOUT = 120


def engine_url() -> str | None:
    """The engine address the kit will use: DOCKER_HOST, else a non-default context, else None.

    None means the SDK's platform default (``unix:///var/run/docker.sock`` on Linux).
    """
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    try:
        context = docker.ContextAPI.get_current_context()
    except DockerException:
        return None
    if context is not None and context.name != "default":
        return context.Host
    return None


def connect(timeout: float = CONNECT_TIMEOUT) -> docker.DockerClient:
    """Return a client for the engine, or raise EngineUnavailable within about ``timeout`` s.

    Args:
        timeout: Seconds to wait for the first answer (the API version negotiation).

    Returns:
        A ``docker.DockerClient`` whose later calls use a longer timeout.

    Raises:
        EngineUnavailable: No engine answered; the message names the address tried.
    """
    url = engine_url()
    try:
        if url and not os.environ.get("DOCKER_HOST"):
            client = docker.DockerClient(base_url=url, timeout=timeout)
        else:
            client = docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as exc:
        raise unavailable(url, exc) from None
    client.api.timeout = API_TIMEOUT
    return client


def unavailable(url: str | None, cause: BaseException | str) -> EngineUnavailable:
    """Build the EngineUnavailable error for ``url`` (None = default socket) with a hint."""
    where = url or "the default socket (unix:///var/run/docker.sock)"
    reason = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
    if os.environ.get("DOCKER_HOST"):
        hint = ("DOCKER_HOST is set: start the engine it names, or unset DOCKER_HOST to use "
                "the local one.")
    else:
        hint = ("Start Docker (Docker Desktop, `sudo systemctl start docker`, or Podman's "
                "socket). On our Debian machines `make setup` installs and starts one.")
    return EngineUnavailable(f"No Docker engine answers at {where} ({reason[:160]}).", hint)


#: What the SDK raises when an engine that answered before stops answering mid-session:
#: refused or dropped connections, a stream cut mid-build, or no answer within API_TIMEOUT.
#: None of them derives from docker's DockerException.
ENGINE_LOST_ERRORS = (requests.exceptions.ConnectionError,
                      requests.exceptions.ChunkedEncodingError,
                      requests.exceptions.Timeout,
                      urllib3.exceptions.ProtocolError)


def engine_lost(cause: BaseException) -> EngineUnavailable:
    """The EngineUnavailable error for an engine that stopped answering mid-session."""
    where = engine_url() or "unix:///var/run/docker.sock"
    if isinstance(cause, requests.exceptions.Timeout):
        what = f"did not answer within {API_TIMEOUT} s"
    else:
        what = "stopped answering"
    return EngineUnavailable(
        f"The Docker engine at {where} {what} ({root_reason(cause)[:120]}).",
        "Start it again (on our machines: `make engine`), then rerun this cell: the kit "
        "reconnects by itself, no kernel restart needed.")


def root_reason(error: BaseException) -> str:
    """The innermost OS-level reason inside a requests/urllib3 error, for one short line.

    ``ConnectionError(ProtocolError('Connection aborted.', FileNotFoundError(2, ...)))``
    becomes ``No such file or directory``; without one, the error's first line.
    """
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for linked in (current.__cause__, current.__context__,
                       getattr(current, "reason", None)):
            if isinstance(linked, BaseException):
                pending.append(linked)
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__


@contextmanager
def engine_errors() -> Iterator[None]:
    """Turn the SDK's connection failures inside the block into :func:`engine_lost` errors.

    The docker client keeps working once the engine is back (each call opens a new
    connection), so callers only need to show the message and carry on.
    """
    try:
        yield
    except ENGINE_LOST_ERRORS as exc:
        raise engine_lost(exc) from None


def engine_host(client: docker.DockerClient) -> str:
    """Host name where published container ports are reachable from here.

    ``127.0.0.1`` for a local socket; the remote host for ``tcp://host:port`` engines.
    """
    parsed = urlparse(client.api.base_url)
    if parsed.scheme in ("http", "https", "tcp") and parsed.hostname not in (None, "localhost"):
        return parsed.hostname
    return "127.0.0.1"


def publish_address(client: docker.DockerClient) -> str:
    """Host IP the kit publishes container ports on.

    Loopback for a local engine (nothing is exposed to the network); all interfaces for a
    remote one, or the notebook could not reach the server it started there. Set
    ``KIT_PUBLISH_IP`` to choose (e.g. one interface of a remote build box).
    """
    if os.environ.get("KIT_PUBLISH_IP"):
        return os.environ["KIT_PUBLISH_IP"]
    return "127.0.0.1" if engine_host(client) in ("127.0.0.1", "::1") else "0.0.0.0"


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
    url = engine_url() or "unix:///var/run/docker.sock"
    try:
        client = connect(timeout)
    except EngineUnavailable as exc:
        return EngineInfo(False, url, error=exc.message, hint=exc.hint)
    try:
        version = client.version()
        info = client.info()
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
    from .buildkit import buildkit_client  # the CLI probe runs only when asked

    return ["classic"] + (["buildkit"] if buildkit_client() is not None else [])
