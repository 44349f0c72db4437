"""Fixtures for classroom tests: learners sharing the main engine, and a second engine.

- The main engine is the one the rest of the suite uses; learners' namespaces
  (``learner1``..``learner4``) are emptied before and after, with the kit's own reset.
- The second engine (:class:`tests.second_engine.SecondEngine`) is started once for these tests,
  gets the ``golang:1.22`` base image copied from the main engine (no registry here), and is
  stopped and deleted at the end. A test reaches it only through ``DOCKER_HOST``
  (:func:`on_engine2`), the way a learner's notebook reaches a remote engine.
"""

from __future__ import annotations

import os
import time

import pytest

from helpers import engine
from helpers.build import build_image
from helpers.config import OPTIMIZED_TAG, SOLUTIONS_DIR, EXERCISE_DIR, image_tag
from helpers.engine.reset import reset
from tests.engine_fixtures import connect_or_fail
from tests.second_engine import SecondEngine, SecondEngineError, copy_image

#: The builder base image the exercise needs on every engine.
GOLANG = "golang:1.22"
#: Namespace of what the kit makes on the second engine.
ENGINE2_NAMESPACE = "engine2"
#: Client-side settings that could send the kit to another engine than DOCKER_HOST.
ENGINE_ENV = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")


@pytest.fixture(scope="package")
def main_client():
    """A client for the main engine (the one the rest of the suite uses)."""
    client = connect_or_fail("classroom tests")
    yield client
    client.close()


@pytest.fixture(scope="package")
def engine2():
    """A second dockerd, running; stopped and deleted (bridge, mounts, folder) afterwards.

    Setup installs docker.io, so failing to start one is a real problem: fail, never skip.
    """
    second = SecondEngine()
    started = time.monotonic()
    try:
        second.setup()
        problem = ""
    except SecondEngineError as exc:
        problem = str(exc)
    if problem:  # outside the except: no "during handling of..." chain in the report
        pytest.fail(f"could not start a second Docker engine: {problem}", pytrace=False)
    print(f"second engine at {second.host} (bridge {second.bridge}, {second.subnet}) "
          f"answered in {time.monotonic() - started:.1f} s")
    yield second
    second.close()


@pytest.fixture(scope="package")
def engine2_client(engine2, main_client):
    """A client for the second engine, which holds the golang:1.22 base image."""
    client = engine2.client()
    if not client.images.list(name=GOLANG):
        started = time.monotonic()
        copy_image(main_client, client, GOLANG)
        print(f"copied {GOLANG} to the second engine in {time.monotonic() - started:.1f} s")
    yield client
    client.close()


def point_at(monkeypatch: pytest.MonkeyPatch, host: str, namespace: str) -> None:
    """Make the kit (in this process and in child processes) use only ``host``."""
    for name in ENGINE_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCKER_HOST", host)
    monkeypatch.setenv("KIT_NAMESPACE", namespace)


@pytest.fixture
def on_engine2(monkeypatch, engine2, engine2_client):
    """For one test: DOCKER_HOST is the second engine's socket, namespace ``engine2``."""
    point_at(monkeypatch, engine2.host, ENGINE2_NAMESPACE)
    return engine2


@pytest.fixture
def engine2_optimized(engine2, engine2_client):
    """The reference multi-stage image, built by the kit on the second engine.

    Built with a client from :func:`helpers.engine.connect` while only DOCKER_HOST names the
    second engine: the kit found it the way a learner's notebook would. Built per test (from
    the cache after the first time, about a second) so no test depends on another having
    left it there: ``reset --all`` on the second engine removes it.
    """
    with pytest.MonkeyPatch.context() as patch:
        point_at(patch, engine2.host, ENGINE2_NAMESPACE)
        client = engine.connect()
        try:
            return build_image(client, EXERCISE_DIR, image_tag(OPTIMIZED_TAG),
                               SOLUTIONS_DIR / "Dockerfile.multistage")
        finally:
            client.close()


def reset_namespace(client, namespace: str):
    """``python -m helpers reset`` for ``namespace``, in process (the kit's own code)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KIT_NAMESPACE", namespace)
        return reset(client)


def child_env(**overrides: str) -> dict[str, str]:
    """The environment for a child process (a learner's kernel or CLI call)."""
    env = {**os.environ, **overrides}
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
