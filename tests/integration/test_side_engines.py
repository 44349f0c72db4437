"""Smoke test of the side engines the engine matrix runs the integration tests on.

For Docker 26 with the containerd image store and for Podman 4.3 (``tests/side_engines.py``,
started by ``tests/engine_matrix.py``), before any matrix test relies on them:

- the engine answers and is the engine it claims to be (version, image store);
- the kit reaches it from ``DOCKER_HOST`` alone, and only during a test that asks for it;
- ``golang:1.22`` was copied in from the main engine, and a build ``FROM golang:1.22`` with
  a ``RUN`` step works through the docker SDK (the classic builder's API, which Podman
  emulates), after which the image can be removed;
- the main engine's ``docker0`` bridge survives the side engine's start, stop and restart
  (a second dockerd with ``"bridge": "none"`` deletes it: seen here).
"""

from __future__ import annotations

import io
import os
import tarfile
import uuid

import docker
import pytest

from helpers import engine
from tests.engine_matrix import GOLANG, SIDE_ENGINE_IDS
from tests.side_engines import MAIN_BRIDGE, main_bridge_exists

pytestmark = [pytest.mark.engine,
              pytest.mark.parametrize("engine_backend", SIDE_ENGINE_IDS, indirect=True)]

SMOKE_DOCKERFILE = f"FROM {GOLANG}\nRUN go version\n"


def build_context(dockerfile: str) -> io.BytesIO:
    """A build context tarball holding only ``Dockerfile``."""
    data = dockerfile.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def test_it_answers_as_the_expected_engine(engine_target):
    """Version and image store are those of the engine the id names; docker0 is intact."""
    client = engine_target.client
    assert client.ping()
    version = client.version()
    components = {c["Name"]: c["Version"] for c in version.get("Components", [])}
    info = client.info()
    if engine_target.name == "docker26-containerd":
        assert version["Version"].startswith("26."), version
        assert components["containerd"].startswith("1.7"), components
        # The containerd image store, not the classic overlay2 graph driver.
        assert ["driver-type", "io.containerd.snapshotter.v1"] in info["DriverStatus"], info
    else:
        assert components["Podman Engine"].startswith("4.3."), components
    assert info["DockerRootDir"] == str(engine_target.engine.data_root)
    assert main_bridge_exists(), f"the main engine's {MAIN_BRIDGE} is gone"


def test_the_kit_finds_it_through_docker_host(engine_target):
    """During the test DOCKER_HOST names the side engine, and the kit connects to it."""
    assert os.environ["DOCKER_HOST"] == engine_target.host
    assert "DOCKER_CONTEXT" not in os.environ
    client = engine.connect()
    try:
        assert client.info()["DockerRootDir"] == str(engine_target.engine.data_root)
    finally:
        client.close()


def test_only_tests_asking_for_it_are_pointed_at_it(engine_backend):
    """Holding a side engine does not redirect the kit: only ``engine_target`` does."""
    assert os.environ.get("DOCKER_HOST") != engine_backend.host


def test_golang_base_image_was_copied_from_the_main_engine(engine_target, engine_pool):
    """Same image config as on the main engine (Podman names it ``localhost/golang:1.22``)."""
    image = engine_target.client.images.get(GOLANG)
    original = engine_pool.main.client.images.get(GOLANG)
    expected = "localhost/golang:1.22" if engine_target.name == "podman" else GOLANG
    assert expected in image.tags
    assert image.attrs["Config"]["Env"] == original.attrs["Config"]["Env"]


def test_a_build_from_golang_runs_and_its_image_can_be_removed(engine_target):
    """``FROM golang:1.22`` + ``RUN go version`` through the SDK; then the image goes away.

    Podman can report a failed build as a success (podman#12392), so the image is looked up
    afterwards instead of trusting the stream alone.
    """
    client = engine_target.client
    tag = f"kit-smoke-{uuid.uuid4().hex[:8]}:test"
    events = list(client.api.build(fileobj=build_context(SMOKE_DOCKERFILE),
                                   custom_context=True, tag=tag, rm=True, forcerm=True,
                                   decode=True))
    errors = [event for event in events if "error" in event or "errorDetail" in event]
    output = "".join(event.get("stream", "") for event in events)
    assert not errors, output
    assert "go version go1.22" in output, output
    image = client.images.get(tag)
    assert image.id
    client.images.remove(tag)
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(tag)


def test_stop_and_restart_leave_docker0_and_keep_images(engine_target):
    """Stopping and starting the side engine leaves the main bridge alone; images survive."""
    side = engine_target.engine
    side.stop()
    try:
        assert not side.answers()
        assert main_bridge_exists(), f"the main engine's {MAIN_BRIDGE} is gone after stop"
    finally:
        side.start()
    assert main_bridge_exists(), f"the main engine's {MAIN_BRIDGE} is gone after restart"
    assert engine_target.client.images.get(GOLANG)
