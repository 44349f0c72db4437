"""Connecting to an engine that is not there: fast, clear, no traceback (no daemon needed)."""

from __future__ import annotations

import time

import pytest
import requests
import urllib3

from helpers import engine
from helpers.errors import EngineUnavailable
from tests.ports import closed_port


def test_refused_connection_raises_engine_unavailable(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{closed_port()}")
    with pytest.raises(EngineUnavailable) as info:
        engine.connect()
    assert "No Docker engine answers at tcp://127.0.0.1:" in info.value.message
    assert "DOCKER_HOST" in info.value.hint


def test_hung_engine_gives_up_within_the_timeout(monkeypatch, silent_server):
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{silent_server}")
    start = time.monotonic()
    with pytest.raises(EngineUnavailable):
        engine.connect(timeout=1.0)
    # generous bound: the point is "about the timeout", not the 60 s SDK default
    assert time.monotonic() - start < 5


def test_engine_host_for_remote_and_local_urls():
    class Api:
        base_url = "http://192.0.2.10:2375"

    class Client:
        api = Api()

    assert engine.engine_host(Client()) == "192.0.2.10"
    Api.base_url = "http+docker://localhost"
    assert engine.engine_host(Client()) == "127.0.0.1"


@pytest.mark.parametrize("cause, says", [
    (requests.exceptions.ConnectionError("Connection refused"), "stopped answering"),
    (requests.exceptions.ChunkedEncodingError("connection broken"), "stopped answering"),
    (requests.exceptions.ReadTimeout("read timed out"), "did not answer within"),
])
def test_engine_lost_mid_session_is_a_kit_error_with_a_rerun_hint(monkeypatch, cause, says):
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/engine2.sock")
    with pytest.raises(EngineUnavailable) as caught:
        with engine.engine_errors():
            raise cause
    assert says in caught.value.message
    assert "unix:///tmp/engine2.sock" in caught.value.message
    assert "rerun" in caught.value.hint


def test_engine_errors_leaves_other_errors_alone():
    with pytest.raises(ValueError):
        with engine.engine_errors():
            raise ValueError("not about the engine")


def test_engine_lost_names_the_innermost_os_reason():
    cause = requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError(
        "Connection aborted.", FileNotFoundError(2, "No such file or directory")))
    assert engine.root_reason(cause) == "No such file or directory"
    assert "(No such file or directory)." in engine.engine_lost(cause).message
    assert engine.root_reason(ValueError("plain\nsecond line")) == "plain"
