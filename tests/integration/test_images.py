"""Both images of the exercise, built, measured and run on the real engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from helpers.config import MB, image_tag, OPTIMIZED_TAG
from helpers.image import history_frame, summarize
from helpers.engine.containers import check_health, running, wait_healthy


def test_original_is_the_big_single_stage_image(client, original):
    summary = summarize(client, original.tag)
    assert summary.size_bytes > 300 * MB, f"original is only {summary.size_mb:.1f} MB"
    assert [s.instruction for s in original.steps][0] == "FROM golang:1.22"


def test_optimized_is_under_the_limit_and_has_two_layers(client, optimized):
    summary = summarize(client, optimized.tag)
    assert summary.size_bytes < 15 * MB, f"optimized is {summary.size_mb:.2f} MB"
    assert summary.layers == 2  # the CA bundle and the binary, nothing else
    frame = history_frame(client, optimized.tag)
    assert frame["size_bytes"].sum() == summary.size_bytes


def test_optimized_answers_health_with_ca_roots(client, optimized):
    health = check_health(client, optimized.tag)
    assert health.healthy
    assert health.body["status"] == "ok"
    assert health.ca_roots > 100, health.body


def test_original_answers_health(client, original):
    health = check_health(client, original.tag)
    assert health.healthy and health.ca_roots > 100


def test_docker_stop_is_graceful(client, optimized):
    """SIGTERM is handled by the server (PID 1): exit code 0, not 137 from SIGKILL."""
    with running(client, optimized.tag, name="stop") as started:
        wait_healthy(started)
        started.container.stop(timeout=10)
        started.container.reload()
        state = started.container.attrs["State"]
        assert state["ExitCode"] == 0, state
        assert "shutting down" in started.logs()


def test_demo_cli_prints_json(client, original, optimized):
    env = {**os.environ, "KIT_NAMESPACE": "itest"}
    done = subprocess.run([sys.executable, "-m", "helpers", "demo", "--json", "--no-chart"],
                          capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(done.stdout)
    optimized_figures = data["images"][image_tag(OPTIMIZED_TAG)]
    assert optimized_figures["healthy"] is True
    assert optimized_figures["size_bytes"] < 15 * MB
    assert data["reduction_factor"] > 50
    assert "step 1/" in done.stderr  # live progress went to stderr
