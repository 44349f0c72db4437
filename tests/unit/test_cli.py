"""The CLI without an engine: two clear lines and exit 1, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.build.engineless.toolchain import go_toolchain
from tests.ports import closed_port


@pytest.mark.parametrize("command", [["demo"], ["reset"], ["probe"]])
def test_no_engine_gives_message_and_hint(command):
    env = {**os.environ, "DOCKER_HOST": f"tcp://127.0.0.1:{closed_port()}"}
    done = subprocess.run([sys.executable, "-m", "helpers", *command], capture_output=True,
                          text=True, env=env, timeout=30)
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert "No Docker engine answers" in output
    assert "Traceback" not in output
    assert "hint:" in output.lower() or "fix:" in output


def test_unknown_command_is_a_usage_error():
    done = subprocess.run([sys.executable, "-m", "helpers", "nope"], capture_output=True,
                          text=True)
    assert done.returncode == 2
    assert "invalid choice" in done.stderr


def test_engine_lost_mid_command_is_two_lines_not_a_traceback(monkeypatch, capsys):
    import requests

    from helpers import __main__ as cli

    def lose_engine(args):
        raise requests.exceptions.ConnectionError("Connection aborted.")

    monkeypatch.setattr(cli, "cmd_reset", lose_engine)
    assert cli.main(["reset"]) == 1
    err = capsys.readouterr().err
    assert "stopped answering" in err and "hint: Start it again" in err


# --------------------------------------------------------------------------------------------
# `check` without an engine: the static checks, every image check skipped with the reason
# --------------------------------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[2]
CONTEXT = REPO / "exercises" / "multistage-go"
SOLUTION = REPO / "exercises" / "solutions" / "Dockerfile.multistage"
STARTER = CONTEXT / "Dockerfile.multistage"
#: Checks that need the built image (or a rebuild): never measurable without an engine.
GO = go_toolchain()
IMAGE_CHECKS = {"size", "only-binary", "ca-certs", "runs", "static-binary"}


def check_without_engine(dockerfile: Path, *extra: str, timeout: float = 60
                         ) -> tuple[subprocess.CompletedProcess, float]:
    """``python -m helpers check`` with DOCKER_HOST at a closed port; the run and its time."""
    env = {**os.environ, "DOCKER_HOST": f"tcp://127.0.0.1:{closed_port()}"}
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "helpers", "check", "--context", str(CONTEXT),
                           "--dockerfile", str(dockerfile), *extra], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=REPO)
    return done, time.monotonic() - start


@pytest.fixture
def no_go(monkeypatch):
    """No Go toolchain here either: check can only read the Dockerfile."""
    from helpers.build.engineless import toolchain

    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{closed_port()}")
    monkeypatch.setattr(toolchain, "go_toolchain", lambda: None)


def run_cli(capsys, *args: str) -> tuple[int, str]:
    from helpers import __main__ as cli

    code = cli.main(list(args))
    return code, capsys.readouterr().out


@pytest.mark.skipif(GO is None, reason="no Go toolchain")
def test_check_json_without_engine_builds_and_measures_the_image_here():
    done, _ = check_without_engine(SOLUTION, "--json", timeout=600)  # a cold Go cache: ~1 min
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)  # the whole output is one JSON document
    assert report["engine"]["answered"] is False
    assert report["engine"]["error"].endswith(": connection refused.")
    assert "DOCKER_HOST" in report["engine"]["hint"]
    assert report["engine_less"] is True
    statuses = {check["id"]: check for check in report["checks"]}
    for check_id in IMAGE_CHECKS:
        assert statuses[check_id]["status"] == "pass", statuses[check_id]
        assert statuses[check_id]["engine_less"] is True
    assert report["passed"] is True and done.returncode == 0


@pytest.mark.skipif(GO is None, reason="no Go toolchain")
def test_check_without_engine_fails_the_starter_as_the_engine_does():
    done, _ = check_without_engine(STARTER, "--json", timeout=600)
    report = json.loads(done.stdout)
    failing = {c["id"] for c in report["checks"] if c["status"] == "fail" and c["required"]}
    assert failing >= {"size", "only-binary", "static-binary", "multi-stage", "dep-cache"}
    assert done.returncode == 1


def test_check_json_with_neither_engine_nor_go_is_a_report_with_skips_and_the_reason(
        no_go, capsys):
    start = time.monotonic()
    code, out = run_cli(capsys, "check", "--context", str(CONTEXT), "--dockerfile",
                        str(SOLUTION), "--json")
    assert time.monotonic() - start < 10  # catches the SDK's 60 s default timeout
    report = json.loads(out)
    assert report["engine"]["answered"] is False and report["engine_less"] is False
    reason = report["engine"]["error"]
    assert reason.startswith("No Docker engine answers at tcp://127.0.0.1:")
    assert reason.endswith(": connection refused.")
    assert "DOCKER_HOST" in report["engine"]["hint"]
    statuses = {check["id"]: check for check in report["checks"]}
    for check_id in IMAGE_CHECKS:
        assert statuses[check_id]["status"] == "skip"
        assert statuses[check_id]["message"] == f"Not measured: {reason}"
    assert statuses["multi-stage"]["status"] == "pass"  # measured from the Dockerfile
    assert statuses["base-images"]["status"] == "pass"
    assert report["passed"] is False  # skips are never a pass...
    assert code == 0  # ...but nothing failed, so the command does not fail


def test_check_with_neither_fails_when_a_static_check_fails(no_go, capsys):
    code, out = run_cli(capsys, "check", "--context", str(CONTEXT), "--dockerfile",
                        str(STARTER), "--json")
    report = json.loads(out)
    failing = {c["id"] for c in report["checks"] if c["status"] == "fail" and c["required"]}
    assert "multi-stage" in failing  # the starter's runtime stage is the Go toolchain
    assert {c["id"] for c in report["checks"] if c["status"] == "skip"} >= IMAGE_CHECKS
    assert code == 1


def test_check_text_with_neither_says_why_at_the_top(no_go, capsys):
    code, out = run_cli(capsys, "check", "--context", str(CONTEXT), "--dockerfile",
                        str(SOLUTION))
    lines = out.splitlines()
    assert lines[0] == "No Docker engine answered, so only the Dockerfile was checked."
    assert lines[1].startswith("why: No Docker engine answers at tcp://127.0.0.1:")
    assert lines[2].startswith("fix: The engine DOCKER_HOST names is down or unreachable")
    assert any(line.startswith("NOT MEASURED:") for line in lines)
    assert any(line.startswith("SKIP  size") for line in lines)
    assert code == 0


def fake_report(*statuses: tuple[str, str, bool]):
    from helpers.grading.checks import CheckReport, CheckResult

    return CheckReport([CheckResult(check_id, status, f"{check_id} {status}", required=required)
                        for check_id, status, required in statuses], [])


@pytest.mark.parametrize("statuses, code", [
    ([("size", "skip", True), ("multi-stage", "pass", True)], 0),
    ([("size", "skip", True), ("lint", "fail", False)], 0),  # advice never fails the run
    ([("size", "skip", True), ("multi-stage", "fail", True)], 1),
])
def test_check_without_engine_exits_1_only_when_a_required_check_fails(
        monkeypatch, capsys, statuses, code):
    from helpers.build.engineless import toolchain
    from helpers.grading import checks
    from helpers import __main__ as cli

    seen = {}

    def static_checks(context, dockerfile, reason=""):
        seen["reason"] = reason
        return fake_report(*statuses)

    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{closed_port()}")
    monkeypatch.setattr(checks, "run_static_checks", static_checks)
    monkeypatch.setattr(toolchain, "go_toolchain", lambda: None)
    assert cli.main(["check", "--context", str(CONTEXT), "--dockerfile", str(SOLUTION),
                     "--json"]) == code
    printed = json.loads(capsys.readouterr().out)
    assert printed["engine"]["error"] == seen["reason"]
    assert seen["reason"].endswith(": connection refused.")


def test_check_with_a_missing_dockerfile_says_so_before_looking_for_an_engine(capsys):
    from helpers import __main__ as cli

    assert cli.main(["check", "--context", str(CONTEXT), "--dockerfile", "nope.Dockerfile"]) == 1
    err = capsys.readouterr().err
    assert "No Dockerfile at" in err and "nope.Dockerfile" in err


# --------------------------------------------------------------------------------------------
# A light CLI: --help, probe and check --json load no drawing library (and --help no SDK)
# --------------------------------------------------------------------------------------------
#: Runs ``python -m helpers ARGS`` in-process and, at exit, prints which heavy modules loaded.
LOADED_AT_EXIT = """
import atexit, json, runpy, sys
HEAVY = ("matplotlib", "ipywidgets", "docker", "pandas")
atexit.register(lambda: print("LOADED " + json.dumps(
    sorted(name for name in HEAVY if name in sys.modules)), file=sys.stderr))
runpy.run_module("helpers", run_name="__main__", alter_sys=True)
"""


def loaded_by(*args: str) -> tuple[set[str], subprocess.CompletedProcess]:
    """The heavy modules ``python -m helpers ARGS`` imported, with no engine answering."""
    env = {**os.environ, "DOCKER_HOST": f"tcp://127.0.0.1:{closed_port()}"}
    done = subprocess.run([sys.executable, "-c", LOADED_AT_EXIT, *args], capture_output=True,
                          text=True, env=env, timeout=60, cwd=REPO)
    line = [line for line in done.stderr.splitlines() if line.startswith("LOADED ")][-1]
    return set(json.loads(line.removeprefix("LOADED "))), done


def test_help_loads_no_sdk_and_no_drawing_library():
    loaded, done = loaded_by("--help")
    assert done.returncode == 0 and "usage: python -m helpers" in done.stdout
    assert loaded == set()  # no docker SDK, no pandas: --help answers at once


@pytest.mark.parametrize("args", [
    ["probe"], ["probe", "--json"],
    ["check", "--json", "--context", str(CONTEXT), "--dockerfile", str(SOLUTION)],
    ["class-report", "--results", str(CONTEXT)],  # the exercise's files: foreign, skipped
], ids=["probe", "probe-json", "check-json", "class-report"])
def test_probe_and_check_load_no_drawing_library(args):
    loaded, done = loaded_by(*args)
    assert "Traceback" not in done.stderr
    assert done.returncode in (0, 1)
    assert not loaded & {"matplotlib", "ipywidgets"}, f"{args} loaded {loaded}"
    if args[0] == "check":  # engine-less: built here, or the static checks only
        report = json.loads(done.stdout)
        assert report["engine"]["answered"] is False
        assert report["checks"][0]["status"] == ("pass" if GO else "skip")
