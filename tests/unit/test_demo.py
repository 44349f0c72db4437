"""The demo's table and JSON (helpers.demo), without a daemon."""

from __future__ import annotations

import json

import pytest

from helpers import demo


def demo_results():
    return {"exercise2-original": demo.DemoImage(710_000_000, 5, True, 142, 50.0),
            "exercise2-optimized": demo.DemoImage(5_130_000, 2, True, 142, 20.0,
                                                  engine_size_bytes=7_350_000)}


def test_demo_json_shape():
    data = demo.results_json(demo_results())
    assert set(data["images"]["exercise2-optimized"]) == {
        "size_bytes", "engine_size_bytes", "layers", "healthy", "ca_roots"}
    assert data["reduction_factor"] == pytest.approx(138.4)
    json.dumps(data)  # serialisable


def test_demo_table_columns():
    table = demo.results_table(demo_results())
    assert list(table.columns) == ["image", "size (MB)", "docker images (MB)", "layers",
                                   "/health", "CA roots", "reduction"]
    assert table.iloc[1]["reduction"] == "138x"  # from the layer bytes, not the engine's
    assert table.iloc[1]["size (MB)"] == 5.13
    assert table.iloc[1]["docker images (MB)"] == 7.35
    assert table.iloc[0]["docker images (MB)"] == "-"  # not reported
