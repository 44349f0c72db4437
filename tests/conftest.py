"""Suite-wide fixtures: when this test session started (for the leftover checks in final/),
and the engine matrix (every engine a learner may have, :mod:`tests.engine_matrix`)."""

from __future__ import annotations

import time

import pytest

# The engine matrix's fixtures, defined once for the whole suite: a session-scoped pool
# imported by two conftests would be two pools (and two plugins closing them).
from tests.engine_matrix import engine_backend, engine_pool, engine_target  # noqa: F401

SESSION_STARTED = pytest.StashKey[float]()


def pytest_sessionstart(session: pytest.Session) -> None:
    # A second of slack: engine timestamps are whole-second precise on some engines.
    session.config.stash[SESSION_STARTED] = time.time() - 1


@pytest.fixture(scope="session")
def session_started(request: pytest.FixtureRequest) -> float:
    """Unix time at which this pytest session started."""
    return request.config.stash[SESSION_STARTED]
