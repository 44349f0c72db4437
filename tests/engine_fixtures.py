"""Building blocks shared by the conftests of tests that use a real engine."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import docker
import pytest

from helpers import engine
from helpers.errors import EngineUnavailable


@contextmanager
def kit_namespace(name: str) -> Iterator[str]:
    """``KIT_NAMESPACE=name`` for the block (a whole test session, in the conftests)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KIT_NAMESPACE", name)
        yield name


def connect_or_fail(who: str) -> docker.DockerClient:
    """A client for the engine, or a failed test saying ``who`` needs one (never a skip:
    ``make test`` starts an engine, so a missing one is a real failure)."""
    try:
        return engine.connect()
    except EngineUnavailable as exc:
        pytest.fail(f"{who} need a Docker engine: {exc}", pytrace=False)
