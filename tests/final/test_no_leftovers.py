"""Runs last (see testpaths in pyproject.toml): after the whole suite, no kit container remains."""

from __future__ import annotations

import pytest

from helpers import engine
from helpers.errors import EngineUnavailable
from helpers.reset import kit_containers


def test_no_kit_container_remains():
    try:
        client = engine.connect()
    except EngineUnavailable as exc:
        pytest.skip(f"no engine to inspect: {exc.message}")
    try:
        leftovers = [f"{c.name} ({c.status})"
                     for c in kit_containers(client, all_namespaces=True)]
    finally:
        client.close()
    assert leftovers == []
