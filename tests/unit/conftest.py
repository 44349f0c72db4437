"""Unit-test fixtures: fake images share ids, so no result may carry over between tests."""

from __future__ import annotations

import pytest

from helpers.image import forget_breakdowns


@pytest.fixture(autouse=True)
def _fresh_breakdown_cache():
    forget_breakdowns()
    yield
    forget_breakdowns()
