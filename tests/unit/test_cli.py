"""The CLI without an engine: two clear lines and exit 1, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

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
