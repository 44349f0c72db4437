"""Connect to the Docker engine and say clearly, and quickly, when none answers.

The connection honours ``DOCKER_HOST`` (and ``DOCKER_TLS_VERIFY``/``DOCKER_CERT_PATH``) like
the docker CLI, then the current docker context, then the platform default socket. Whatever
the reason no engine answers, the caller gets :class:`~helpers.errors.EngineUnavailable`
within ``timeout`` seconds (2 s by default), with a hint, never a raw ``requests`` traceback.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urlparse

import docker
import requests
import urllib3
from docker.errors import DockerException

from ..errors import EngineUnavailable
from .failures import CONNECT_TIMEOUT, root_reason, unavailable

#: Seconds an ordinary API call may take once connected (builds stream without a limit).
API_TIMEOUT = 120

#: What connecting can raise: the SDK wraps most failures in DockerException, but with a
#: pinned API version ``ping`` raises the raw requests/urllib3/OS (or paramiko) error.
CONNECT_ERRORS: tuple[type[BaseException], ...] = (
    DockerException, requests.exceptions.RequestException, urllib3.exceptions.HTTPError,
    OSError)
try:  # the SDK's ssh:// transport, when paramiko is installed
    import paramiko

    CONNECT_ERRORS += (paramiko.SSHException,)
except ImportError:
    pass



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

    Like the docker CLI, ``DOCKER_API_VERSION`` pins the API version instead of negotiating
    it (the way out when engine and SDK disagree on versions).

    Args:
        timeout: Seconds to wait for the first answer (the API version negotiation).

    Returns:
        A ``docker.DockerClient`` whose later calls use a longer timeout.

    Raises:
        EngineUnavailable: No engine answered; the message says why, the hint what to do.
    """
    url = engine_url()
    version = os.environ.get("DOCKER_API_VERSION") or None
    client = None
    try:
        if url and not os.environ.get("DOCKER_HOST"):
            client = docker.DockerClient(base_url=url, timeout=timeout, version=version)
        else:
            client = docker.from_env(timeout=timeout, version=version)
        client.ping()
    except CONNECT_ERRORS as exc:
        if client is not None:
            client.close()
        raise unavailable(url, exc, timeout) from None
    client.api.timeout = API_TIMEOUT
    return client


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
        "Start it again (Docker Desktop, `sudo systemctl start docker`, or `make engine` in "
        "the kit's folder), then rerun this cell: the kit reconnects by itself, no kernel "
        "restart needed.")


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
