"""Fixtures for fault tests on a real engine: namespace ``faults``, and container snapshots.

Everything the fault tests make lives in the ``faults`` namespace and is removed at the end
of the session with ``helpers.engine.reset`` (the same code as ``python -m helpers reset``).

A fault test proves the kit leaves nothing behind, so it compares the engine's containers
before and after (all of them, labelled or not: a cancelled build's step container carries
no kit label) rather than trusting the kit's own bookkeeping.
"""

from __future__ import annotations

import time

import pytest

from helpers.engine.reset import reset
from tests.engine_fixtures import connect_or_fail, kit_namespace

NAMESPACE = "faults"


# Package scope: the reset below must run when the fault tests end, not at the end of the
# whole session (after tests/final has looked for leftovers).
@pytest.fixture(scope="package", autouse=True)
def faults_namespace():
    with kit_namespace(NAMESPACE) as name:
        yield name


@pytest.fixture(scope="package")
def client(faults_namespace):
    docker_client = connect_or_fail("fault tests")
    yield docker_client
    reset(docker_client)  # the namespace's images and containers: nothing here is cache
    docker_client.close()


class ContainerWatch:
    """Which containers appeared on the engine since it was made."""

    def __init__(self, client) -> None:
        self.client = client
        self.before = {c.id for c in client.containers.list(all=True)}

    def new(self) -> list[str]:
        """Names of containers that exist now and did not before."""
        return [c.name for c in self.client.containers.list(all=True)
                if c.id not in self.before]

    def wait_for_new(self, timeout: float = 60) -> list[str]:
        """Wait until at least one new container exists (a build step or run started)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := self.new():
                return found
            time.sleep(0.2)
        raise AssertionError(f"no new container within {timeout} s")

    def settle(self, timeout: float = 15) -> list[str]:
        """The new containers still there after up to ``timeout`` s of engine cleanup."""
        deadline = time.monotonic() + timeout
        while (left := self.new()) and time.monotonic() < deadline:
            time.sleep(0.3)
        return left


@pytest.fixture
def watch(client):
    return ContainerWatch(client)
