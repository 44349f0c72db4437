"""helpers.ui.progress: the terminal progress the CLI prints while it builds."""

from __future__ import annotations

from helpers.ui.progress import bar


def test_progress_bar():
    assert bar(0, 4, width=4) == "[----]"
    assert bar(2, 4, width=4) == "[##--]"
    assert bar(4, 4, width=4) == "[####]"
