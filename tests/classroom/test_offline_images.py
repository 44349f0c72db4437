"""Offline classrooms: the base images travel as a tarball, by the script instructors use.

``scripts/base-images.sh save FILE`` on the prepared (main) engine, then
``DOCKER_HOST=<engine> scripts/base-images.sh load FILE`` on an empty engine: a fresh second
dockerd that has never seen ``golang:1.22``. The loaded images must be the same images (same
ids: golang:1.22 and both distroless tags) and work there (the Go toolchain runs).
"""

from __future__ import annotations

import os
import subprocess

import pytest

from helpers.config import REPO_ROOT
from tests.classroom.conftest import GOLANG
from tests.second_engine import SecondEngine, SecondEngineError

pytestmark = pytest.mark.engine

SCRIPT = REPO_ROOT / "scripts" / "base-images.sh"
#: What ``save`` carries: the builder and the distroless runtime learners may pick.
CARRIED = (GOLANG, "gcr.io/distroless/static-debian12:latest",
           "gcr.io/distroless/static-debian12:nonroot")


def script(*args: str, docker_host: str | None = None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "DOCKER_HOST"}
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          timeout=600)


@pytest.fixture
def empty_engine():
    """A second engine of its own, which holds no image at all."""
    engine = SecondEngine()
    try:
        engine.setup()
    except SecondEngineError as exc:
        pytest.fail(f"could not start a second Docker engine: {exc}", pytrace=False)
    try:
        yield engine
    finally:
        engine.close()


def test_save_then_load_brings_the_base_image_to_an_offline_engine(main_client, empty_engine,
                                                                    tmp_path):
    tarball = tmp_path / "golang-1.22.tar"
    saved = script("save", str(tarball))
    assert saved.returncode == 0, saved.stderr
    assert f"saved {' '.join(CARRIED)} to {tarball}" in saved.stderr
    assert tarball.stat().st_size > 100 * 10**6  # a whole Go toolchain, not an empty archive

    client = empty_engine.client()
    try:
        assert client.images.list(name=GOLANG) == []
        loaded = script("load", str(tarball), docker_host=empty_engine.host)
        assert loaded.returncode == 0, loaded.stderr
        for name in CARRIED:
            assert client.images.get(name).id == main_client.images.get(name).id, name
        version = client.containers.run(GOLANG, ["go", "version"], remove=True)
        assert version.decode().startswith("go version go1.22")
    finally:
        client.close()
        tarball.unlink(missing_ok=True)  # ~830 MB: pytest keeps its tmp folders around


def test_load_without_a_file_is_a_usage_error():
    done = script("load", "/nonexistent/base.tar")
    assert done.returncode == 2
    assert "usage:" in done.stderr
