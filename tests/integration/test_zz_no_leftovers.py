"""Runs last (file order): after the suite, no container made by the kit remains."""

from __future__ import annotations

from helpers.reset import kit_containers


def test_no_kit_container_remains(client):
    leftovers = [f"{c.name} ({c.status})" for c in kit_containers(client, all_namespaces=True)]
    assert leftovers == []
