"""Names the kit gives what it makes (helpers.config)."""

from __future__ import annotations

from helpers import config


def test_namespace_prefixes_tags(monkeypatch):
    monkeypatch.delenv("KIT_NAMESPACE", raising=False)
    assert config.image_tag("exercise2-original") == "exercise2-original"
    monkeypatch.setenv("KIT_NAMESPACE", " Bob Smith! ")
    assert config.image_tag("exercise2-original") == "bob-smith-exercise2-original"
