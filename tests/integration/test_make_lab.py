"""`make lab` opens the course, as the README says, for root too (issue: --allow-root).

Runs `make lab` in a fresh clone of this repository (what a new user has), with the kit's
existing virtualenv (so nothing is reinstalled), waits until JupyterLab answers
``/api/status`` on the URL it printed, then stops it and checks nothing is left running.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from helpers.config import REPO_ROOT
from tests.ports import closed_port

URL_RE = re.compile(r"(http://127\.0\.0\.1:(\d+)/lab\?token=([0-9a-f]+))")
START_TIMEOUT = 90


@pytest.fixture
def fresh_clone(tmp_path):
    clone = tmp_path / "kit"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
    return clone


def session_processes(sid: int) -> list[int]:
    """Processes still alive in session ``sid`` (the one `make lab` was started in)."""
    alive = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getsid(int(proc.name)) == sid:
                alive.append(int(proc.name))
        except (ProcessLookupError, PermissionError):
            continue
    return alive


def answer(url: str, token: str, within: float = 15) -> requests.Response:
    """The server's answer at ``url``; the URL can be printed a moment before it accepts."""
    deadline = time.monotonic() + within
    while True:
        try:
            return requests.get(url, params={"token": token}, timeout=10)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_make_lab_serves_jupyterlab_from_a_fresh_clone(fresh_clone, tmp_path):
    venv = Path(sys.prefix)
    port = closed_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config")}
    command = ["make", "-C", str(fresh_clone), "lab", f"VENV={venv}",
               "-o", f"{venv}/.installed",  # the kit is installed there already
               f"LAB_ARGS=--no-browser --port={port} --ServerApp.port_retries=0"]
    lab = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env=env, start_new_session=True)
    printed: list[str] = []
    found = threading.Event()

    def read() -> None:
        for line in lab.stdout:
            printed.append(line.rstrip())
            if URL_RE.search(line):
                found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert found.wait(START_TIMEOUT), "no URL printed:\n" + "\n".join(printed[-30:])
        url, url_port, token = URL_RE.search("\n".join(printed)).groups()
        assert int(url_port) == port                        # LAB_ARGS reached JupyterLab
        if os.geteuid() == 0:
            assert any("--allow-root" in line for line in printed)
        status = answer(url.split("/lab?")[0] + "/api/status", token)
        assert status.status_code == 200 and "started" in status.json()
        print("\n".join(printed[:12]))                      # quoted in the closing note
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait(timeout=10)
    deadline = time.monotonic() + 10
    while session_processes(lab.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert session_processes(lab.pid) == []
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/api/status", timeout=5)
