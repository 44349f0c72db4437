"""Fixtures of the image tests: the machine's own CA bundle, a real one to parse and serve."""

from __future__ import annotations

from pathlib import Path

import pytest

SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@pytest.fixture(scope="module")
def system_bundle():
    if not SYSTEM_BUNDLE.is_file():
        pytest.skip(f"no {SYSTEM_BUNDLE} on this machine")
    return SYSTEM_BUNDLE.read_bytes()
