"""A learner's broken input ends in a clear message and a hint, on the real engine.

The learner-facing path is exercised (``Course`` outside a kernel prints what a notebook
shows): a Dockerfile that does not parse, one that names a missing file, a server that loops
forever instead of answering (the kit gives up after its timeout), and a host port that is
already taken. Each also leaves no container behind.
"""

from __future__ import annotations

import shutil
import socket
import time

import pytest

from helpers.build import build_image
from helpers.grading.checks import run_checks
from helpers.config import EXERCISE_DIR, SOLUTIONS_DIR, image_tag
from helpers.course import Course
from helpers.errors import KitError, RunError
from helpers.engine.containers import check_health, running, wait_healthy

pytestmark = pytest.mark.engine

SPINNING_SERVER = """package main

// A server that never gets to listen: main spins forever (a learner's infinite loop).
func main() {
\tfor {
\t}
}
"""


@pytest.fixture
def context(tmp_path):
    """A copy of the exercise folder: tests never edit the learner's files."""
    target = tmp_path / "ctx"
    shutil.copytree(EXERCISE_DIR, target)
    return target


@pytest.fixture(scope="module")
def solution(client):
    return build_image(client, EXERCISE_DIR, image_tag("exercise2-optimized"),
                       SOLUTIONS_DIR / "Dockerfile.multistage")


def test_dockerfile_that_does_not_parse(client, context, capsys, watch):
    (context / "Dockerfile.typo").write_text(
        "FROM golang:1.22 AS build\nWORKDIR /src\nRUNN go build ./...\n")
    assert Course(client).build("Dockerfile.typo", image_tag("typo"), context) is None
    shown = capsys.readouterr().err
    assert "unknown instruction: runn" in shown.lower()
    assert "hint:" in shown and "syntax" in shown
    assert "Traceback" not in shown
    assert watch.settle() == []


def test_dockerfile_naming_a_missing_file(client, context, capsys, watch):
    (context / "Dockerfile.missing").write_text(
        "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY go.mod go.sum ./\n"
        "COPY server.go ./\nRUN go build -o /server .\n")
    assert Course(client).build("Dockerfile.missing", image_tag("missing"), context) is None
    shown = capsys.readouterr().err
    assert "Step 4 (COPY server.go ./) failed" in shown
    assert "file not found in build context" in shown
    assert "hint:" in shown and "build context" in shown
    assert "Traceback" not in shown
    assert watch.settle() == []


def test_missing_dockerfile_says_which_path(client, context, capsys):
    assert Course(client).build("Dockerfile.nope", image_tag("nope"), context) is None
    shown = capsys.readouterr().err
    assert "No Dockerfile at" in shown and "Dockerfile.nope" in shown


def test_server_that_loops_forever_times_out_and_is_removed(client, context, watch):
    (context / "cmd" / "server" / "main.go").write_text(SPINNING_SERVER)
    tag = image_tag("spinning")
    build_image(client, context, tag, SOLUTIONS_DIR / "Dockerfile.multistage")
    started = time.monotonic()
    with pytest.raises(RunError) as caught:
        check_health(client, tag, timeout=6)
    waited = time.monotonic() - started
    assert "did not answer 200 within 6 s" in caught.value.message
    assert "0.0.0.0:8080" in caught.value.hint
    assert waited < 6 + 30, f"the timeout did not bound the wait ({waited:.0f} s)"
    assert watch.settle() == []


def test_check_my_work_on_a_looping_server_fails_runs_and_finishes(client, context, watch):
    (context / "cmd" / "server" / "main.go").write_text(SPINNING_SERVER)
    report = run_checks(client, context, SOLUTIONS_DIR / "Dockerfile.multistage",
                        tag=image_tag("spinning-check"), dep_cache_rebuild=False)
    runs = report.get("runs")
    assert runs.status == "fail" and "did not answer" in runs.message
    assert report.get("size").status == "pass"  # the other checks still measured
    assert watch.settle() == []


def test_host_port_taken_by_another_program(client, solution, watch):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(KitError) as caught:
            with running(client, solution.tag, host_port=port):
                pass
    assert f"Port {port}" in caught.value.message and "already in use" in caught.value.message
    assert "host_port unset" in caught.value.hint
    assert watch.settle() == []


def test_host_port_taken_by_another_container(client, solution, watch):
    with running(client, solution.tag, name="first") as first:
        wait_healthy(first)
        port = int(first.url.rsplit(":", 1)[1])
        with pytest.raises(KitError) as caught:
            with running(client, solution.tag, name="second", host_port=port):
                pass
        assert f"Port {port}" in caught.value.message
        assert wait_healthy(first).healthy  # the first one is untouched
    assert watch.settle() == []
