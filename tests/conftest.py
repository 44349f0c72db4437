"""Suite-wide fixtures: when this test session started (for the leftover checks in final/)."""

from __future__ import annotations

import time

import pytest

SESSION_STARTED = pytest.StashKey[float]()


def pytest_sessionstart(session: pytest.Session) -> None:
    # A second of slack: engine timestamps are whole-second precise on some engines.
    session.config.stash[SESSION_STARTED] = time.time() - 1


@pytest.fixture(scope="session")
def session_started(request: pytest.FixtureRequest) -> float:
    """Unix time at which this pytest session started."""
    return request.config.stash[SESSION_STARTED]
