"""Pytest fixtures that run a test on every engine: the main one and the two side engines.

The kit must give the same verdicts on Docker 20.10 (the main engine, classic store),
Docker 26 with the containerd image store and Podman 4.3 (``tests/side_engines.py``). A test
that takes ``engine_target`` runs once per engine, with ids ``docker20``,
``docker26-containerd`` and ``podman``, and, for its duration only, ``DOCKER_HOST`` names
that engine (``DOCKER_CONTEXT``, ``DOCKER_TLS_VERIFY`` and ``DOCKER_CERT_PATH`` cleared):
``helpers.engine.connect()`` and the docker CLI (BuildKit builds) find it the way a learner's
notebook finds a remote engine.

Life cycle, and why:

- A side engine starts lazily, for the first test that needs it, gets ``golang:1.22`` copied
  from the main engine (no registry here; about 40 s each) and then serves every later test
  of the session: starting and filling it again per package would cost a minute each time.
- It is closed after the last test that uses the matrix, and in any case before
  ``tests/final`` runs: those check that nothing is left behind, side-engine processes
  included, and session-scoped fixtures are only torn down after the last test. So the
  session-scoped pool registers a small plugin that closes the engines after that test's
  teardown (the package-scoped fixtures of the other engine tests end before tests/final
  for the same reason).
- A side engine that cannot start is a test failure with its log tail, never a skip: ``make
  test`` installs them (``make engines``). The failure is remembered, so later tests on that
  engine fail at once with the same message instead of waiting out the start timeout again.

The fixtures are registered once, in ``tests/conftest.py`` (a session-scoped fixture imported
by two conftests would be two fixtures, each with its own pool). Use::

    def test_size_check(engine_target):          # runs 3 times: [docker20] [docker26-...] ...
        client = helpers.engine.connect()        # the engine under test, via DOCKER_HOST

    @pytest.mark.parametrize("engine_backend", SIDE_ENGINE_IDS, indirect=True)
    def test_only_on_side_engines(engine_target): ...
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import docker
import pytest

from tests.engine_fixtures import connect_or_fail
from tests.second_engine import SecondEngine, SecondEngineError
from tests.side_engines import SIDE_ENGINES, copy_image

#: The builder base image every engine needs.
GOLANG = "golang:1.22"
#: Id of the main engine (Debian's docker.io 20.10 on our machines).
MAIN_ENGINE_ID = "docker20"
#: Ids of the side engines, and of every engine, in the order the tests run on them.
SIDE_ENGINE_IDS = tuple(SIDE_ENGINES)
ENGINE_IDS = (MAIN_ENGINE_ID, *SIDE_ENGINE_IDS)
#: Client-side settings that could send the kit to another engine than DOCKER_HOST.
ENGINE_ENV = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")
#: Where the leftover checks live: side engines are closed before the first of them.
FINAL_DIR = Path(__file__).resolve().parent / "final"


@dataclass
class EngineTarget:
    """One engine a test runs on.

    Attributes:
        name: The test id (``docker20``, ``docker26-containerd``, ``podman``).
        host: Its ``DOCKER_HOST`` URL; None for the main engine (whatever the session uses).
        client: A docker client for it (shared: do not close it).
        engine: The side engine object (socket, bridge, log, stop/start); None for the main.
    """

    name: str
    host: str | None
    client: docker.DockerClient
    engine: SecondEngine | None = field(default=None, repr=False)


class EnginePool:
    """The session's engines: the main one at once, side engines on first use.

    Args:
        main_client: A client for the main engine (the source of ``golang:1.22``).
    """

    def __init__(self, main_client: docker.DockerClient) -> None:
        self.main = EngineTarget(MAIN_ENGINE_ID, None, main_client)
        self._started: dict[str, EngineTarget] = {}
        self._failed: dict[str, str] = {}

    def get(self, name: str) -> EngineTarget:
        """The engine ``name``, started and holding ``golang:1.22``.

        Raises:
            SecondEngineError: It could not start (this time or an earlier one), or the
                image could not be copied; the message has the engine's log tail.
        """
        if name == MAIN_ENGINE_ID:
            return self.main
        if name in self._failed:
            raise SecondEngineError(f"{self._failed[name]}\n(failed earlier in this session)")
        if name not in self._started:
            try:
                self._started[name] = self._start(name)
            except SecondEngineError as exc:
                self._failed[name] = str(exc)
                raise
        return self._started[name]

    def _start(self, name: str) -> EngineTarget:
        engine = SIDE_ENGINES[name]()
        started = time.monotonic()
        engine.setup()
        try:
            ready = time.monotonic()
            client = engine.client()
            copy_image(self.main.client, client, GOLANG)
        except Exception as exc:
            engine.close()
            raise SecondEngineError(f"{name}: copying {GOLANG} from the main engine failed: "
                                    f"{exc}\n{engine.log_tail()}") from None
        print(f"\n[engines] {name} at {engine.host} answered in {ready - started:.1f} s, "
              f"{GOLANG} copied in {time.monotonic() - ready:.1f} s")
        return EngineTarget(name, engine.host, client, engine)

    def close(self) -> None:
        """Close every side engine started (idempotent; a later get() starts afresh)."""
        started, self._started = self._started, {}
        for target in started.values():
            try:
                target.client.close()
            finally:
                target.engine.close()
        self._failed.clear()


class _CloseBeforeFinal:
    """Plugin: close the pool at the end of the package of the last test that uses the
    matrix (its package-scoped fixtures may still talk to the engines until then), and in
    any case before ``tests/final`` (or after the last test of all)."""

    def __init__(self, pool: EnginePool) -> None:
        self.pool = pool
        self._last_user: str | None = None
        self._past_last_user = False

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None):
        try:
            return (yield)  # first the item's own teardown (package fixtures using engines)
        finally:
            self._past_last_user |= item.nodeid == self._last_matrix_test(item.session)
            leaving_package = nextitem is None or (nextitem.getparent(pytest.Package)
                                                   is not item.getparent(pytest.Package))
            if (self._past_last_user and leaving_package) or nextitem is None \
                    or FINAL_DIR in Path(nextitem.path).resolve().parents:
                self.pool.close()

    def _last_matrix_test(self, session: pytest.Session) -> str | None:
        """Node id of the last test of the run (in run order) that uses ``engine_backend``."""
        if self._last_user is None:
            users = [test.nodeid for test in session.items
                     if "engine_backend" in getattr(test, "fixturenames", ())]
            self._last_user = users[-1] if users else ""
        return self._last_user


@pytest.fixture(scope="session")
def engine_pool(request: pytest.FixtureRequest) -> Iterator[EnginePool]:
    """The session's :class:`EnginePool` (side engines closed before ``tests/final``)."""
    main_client = connect_or_fail("engine-matrix tests")
    pool = EnginePool(main_client)
    plugin = _CloseBeforeFinal(pool)
    request.config.pluginmanager.register(plugin, "kit-engine-matrix-close")
    yield pool
    request.config.pluginmanager.unregister(plugin)
    try:
        pool.close()
    finally:
        main_client.close()


@pytest.fixture(scope="package", params=ENGINE_IDS)
def engine_backend(request: pytest.FixtureRequest, engine_pool: EnginePool) -> EngineTarget:
    """The engine of this parametrisation, running (package scope: tests are grouped by
    engine). A side engine that cannot start fails the test, with its log tail."""
    try:
        return engine_pool.get(request.param)
    except SecondEngineError as exc:
        problem = str(exc)
    pytest.fail(f"engine {request.param} is not available: {problem}", pytrace=False)


@pytest.fixture
def engine_target(engine_backend: EngineTarget,
                  monkeypatch: pytest.MonkeyPatch) -> EngineTarget:
    """For one test: the engine under test, and ``DOCKER_HOST`` naming it (restored after).

    For the main engine, ``DOCKER_HOST`` stays as the session has it (usually unset).
    """
    if engine_backend.host is not None:
        for name in ENGINE_ENV:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("DOCKER_HOST", engine_backend.host)
    return engine_backend
