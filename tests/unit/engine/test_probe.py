"""Connecting to an engine that is not there: fast, clear, no traceback (no daemon needed)."""

from __future__ import annotations

from helpers import engine
from tests.ports import closed_port


def test_probe_reports_instead_of_raising(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{closed_port()}")
    info = engine.probe()
    assert info.reachable is False
    assert info.error and info.hint


def test_probe_carries_the_classified_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    info = engine.probe()
    assert info.reachable is False
    assert info.error.endswith("the socket file does not exist (the engine is not started, or "
                               "not installed).")
    assert "systemctl start docker" in info.hint
