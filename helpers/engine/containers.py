"""Run a container on a free host port, wait until it answers, and always clean up.

:func:`running` is a context manager: the container is stopped and removed on every path out
of the ``with`` block, exceptions and KeyboardInterrupt (Ctrl-C in a notebook) included. The
engine picks a free host port (publishing to port 0), so two runs never race for a port.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import docker
from docker.errors import APIError, ImageNotFound, NotFound

from ..config import image_tag, kit_labels
from ..errors import KitError, RunError, missing_image
from .connect import ENGINE_LOST_ERRORS, engine_host, publish_address

#: Seconds a container gets to answer its health endpoint.
HEALTH_TIMEOUT = 20.0


@dataclass
class RunningContainer:
    """A started container and where to reach it."""

    container: object
    url: str

    def logs(self) -> str:
        """Everything the container printed so far (stdout and stderr)."""
        return self.container.logs().decode(errors="replace")


@dataclass
class HealthReport:
    """What ``GET /health`` said."""

    status_code: int
    body: dict
    elapsed_s: float
    recorded: bool = False  # True when it comes from a recorded run (no engine here)

    @property
    def healthy(self) -> bool:
        return self.status_code == 200

    @property
    def ca_roots(self) -> int | None:
        value = self.body.get("ca_roots")
        return int(value) if isinstance(value, (int, float)) else None


@contextmanager
def running(client: docker.DockerClient, image: str, *, container_port: int = 8080,
            host_port: int | None = None, name: str | None = None, stop_timeout: int = 2,
            **run_kwargs) -> Iterator[RunningContainer]:
    """Start ``image`` detached, publish ``container_port`` (see ``publish_address``), yield it.

    Args:
        client: A connected client.
        image: Tag or id to run.
        container_port: The port the server listens on inside the container.
        host_port: Host port to publish on; None (the default) lets the engine pick a free
            one, so two runs never race for a port.
        name: Container name (gets the namespace prefix and a random suffix).
        stop_timeout: Seconds ``docker stop`` waits before SIGKILL.
        **run_kwargs: Passed to ``client.containers.create`` (e.g. ``read_only=True``).

    Yields:
        RunningContainer with the base URL of the published port.

    Raises:
        KitError: The image does not exist, ``host_port`` is taken, or the engine refused
            to start the container.
    """
    base = name or "run"
    container_name = image_tag(f"kit-{base}-{uuid.uuid4().hex[:8]}")
    labels = {**kit_labels(), **run_kwargs.pop("labels", {})}
    container = None
    try:
        try:
            # create, then start: if start fails (no /bin/sh, exec format error, port taken),
            # the container already exists and the finally block below still removes it.
            container = client.containers.create(
                image, name=container_name, labels=labels,
                ports={f"{container_port}/tcp": (publish_address(client), host_port)},
                **run_kwargs)
            container.start()
        except ImageNotFound:
            raise missing_image(image) from None
        except APIError as exc:
            raise start_error(image, host_port, exc) from None
        container.reload()
        bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get(
            f"{container_port}/tcp") or []
        port = bindings[0]["HostPort"] if bindings else None
        url = f"http://{engine_host(client)}:{port}" if port else ""
        yield RunningContainer(container, url)
    finally:
        # Ctrl-C can land while create() is on the wire: the engine may have made the
        # container without us getting its id, so look it up by its (unique) name.
        _remove_quietly(client, container, container_name, stop_timeout)


PORT_TAKEN = ("port is already allocated", "address already in use")


def start_error(image: str, host_port: int | None, exc: APIError) -> KitError:
    """A learner-facing error for a container the engine would not start."""
    text = str(exc.explanation or exc)
    if host_port is not None and any(marker in text.lower() for marker in PORT_TAKEN):
        return KitError(f"Port {host_port} on this machine is already in use, so {image} "
                        "cannot publish its server there.",
                        "Stop whatever holds it (another container: `docker ps`), or leave "
                        "host_port unset so Docker picks a free port.")
    return KitError(f"The engine could not start {image}: {text}",
                    "Check ENTRYPOINT/CMD: in scratch they must be exec form "
                    "and name a file that exists in the image.")


def _remove_quietly(client, container, name: str, stop_timeout: int) -> None:
    """Remove ``container`` (or the one called ``name``), even across a second Ctrl-C."""
    try:
        if container is None:
            try:
                container = client.containers.get(name)
            except (NotFound, APIError, *ENGINE_LOST_ERRORS):
                return  # never created, or the engine is gone (and the container with it)
        remove_container(container, stop_timeout)
    except KeyboardInterrupt:
        # Pressed again while stopping: skip the graceful stop, remove at once, re-raise.
        remove_container(container, stop_timeout=0)
        raise


def remove_container(container, stop_timeout: int = 2) -> None:
    """Stop and remove ``container``, ignoring 'already gone' and a vanished engine."""
    try:
        container.stop(timeout=stop_timeout)
    except (NotFound, APIError, *ENGINE_LOST_ERRORS):
        pass
    try:
        container.remove(force=True)
    except (NotFound, *ENGINE_LOST_ERRORS):
        pass
    except APIError as exc:  # e.g. removal already in progress
        if "in progress" not in str(exc):
            raise


def wait_healthy(running_container: RunningContainer, path: str = "/health",
                 timeout: float = HEALTH_TIMEOUT) -> HealthReport:
    """Poll ``path`` until it answers 200, the container exits, or ``timeout`` passes.

    Raises:
        RunError: The container exited (exit code and logs attached) or never answered.
    """
    start = time.monotonic()
    container = running_container.container
    last_error = "no answer yet"
    while time.monotonic() - start < timeout:
        container.reload()
        if container.status in ("exited", "dead"):
            code = container.attrs["State"].get("ExitCode")
            raise RunError(f"The container stopped with exit code {code} before answering "
                           f"{path}.", exit_code=code, logs=running_container.logs(),
                           hint=exit_hint(code, running_container.logs()))
        if running_container.url:
            try:
                with urllib.request.urlopen(running_container.url + path, timeout=2) as resp:
                    body = json.loads(resp.read() or b"{}")
                    return HealthReport(resp.status, body, time.monotonic() - start)
            except urllib.error.HTTPError as exc:
                last_error = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last_error = str(getattr(exc, "reason", exc))
        time.sleep(0.2)
    raise RunError(f"{path} did not answer 200 within {timeout:.0f} s ({last_error}).",
                   logs=running_container.logs(),
                   hint="Does the server listen on 0.0.0.0:8080 inside the container? "
                        "Read its logs below.")


def exit_hint(exit_code: int | None, logs: str) -> str:
    """A first hint for a container that exited; helpers.grading.mistakes refines it."""
    text = logs.lower()
    if "exec format error" in text:
        return "The binary was built for another CPU/OS: check GOOS/GOARCH."
    if "no such file or directory" in text:
        return ("The entrypoint cannot be started: either the path does not exist in the "
                "final image, or the binary is dynamically linked (build with CGO_ENABLED=0).")
    if exit_code == 127:
        return "The command was not found in the image (no shell in scratch?)."
    return "Read the container's logs: the server prints why it stopped."


#: How the hardened run locks the container down: a read-only root filesystem, no Linux
#: capabilities, no privilege gain, an unprivileged user (nobody).
HARDENED_RUN = {"read_only": True, "cap_drop": ["ALL"],
                "security_opt": ["no-new-privileges"], "user": "65534:65534"}


def check_health(client: docker.DockerClient, image: str, *, hardened: bool = False,
                 timeout: float = HEALTH_TIMEOUT, **run_kwargs) -> HealthReport:
    """Run ``image``, wait for ``/health``, stop and remove it; the health answer.

    Args:
        hardened: Run with :data:`HARDENED_RUN` (``--read-only --cap-drop ALL
            --security-opt no-new-privileges --user 65534:65534``), as a production
            platform would; the reference solution must stay healthy that way.
        timeout: Seconds to wait for the answer (a server that loops forever fails then).
    """
    if hardened:
        run_kwargs = {**HARDENED_RUN, **run_kwargs}
    with running(client, image, **run_kwargs) as started:
        return wait_healthy(started, timeout=timeout)
