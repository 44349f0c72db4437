"""Runs last (see testpaths in pyproject.toml): after the suite, nothing kit-made is left over.

What ``docker ps -a`` and ``docker images`` would show after the suite, limited to what this
session created (the engine may hold a learner's own work):

- no container at all that was created during the session (kit-labelled or not: a cancelled
  build's step container has no label), and no kit container from earlier sessions either;
- no untagged (``<none>``) image carrying the kit's label created during the session: that
  would be a rebuild's superseded image or a probe image nobody removed. Untagged images
  without the label (the classic builder's step images: a failed build's finished steps, a
  multi-stage build's builder stage) are not counted here; those of the dep-cache probe and
  the cache lab still pile up run after run (about 50 per suite run; being fixed);
- tagged kit images created during the session only in the namespaces the suite keeps on
  purpose, as the build cache that makes the next run fast;
- the main engine's bridge (``docker0``) still exists: a second dockerd started with
  ``"bridge": "none"`` deletes it, and every later build on the main engine fails;
- no side engine of the engine matrix (``tests/side_engines.py``: Docker 26, Podman) is left:
  no dockerd, containerd, shim, podman or conmon naming its temp folder, no such folder
  (sockets included), no bridge of its.
"""

from __future__ import annotations

import os
import subprocess

import docker
import pandas as pd
import pytest

from helpers import engine
from helpers.config import MANAGED_LABEL, NAMESPACE_LABEL
from helpers.errors import EngineUnavailable
from helpers.engine.reset import kit_containers
from tests.side_engines import side_engine_leftovers

#: Namespaces whose images the suite keeps as build cache (integration, notebook and browser
#: tests rebuild the same images every run, from cache).
KEPT_NAMESPACES = {"itest", "nbtest", "browser"}


@pytest.fixture(scope="module")
def client():
    try:
        docker_client = engine.connect()
    except EngineUnavailable as exc:
        pytest.skip(f"no engine to inspect: {exc.message}")
    yield docker_client
    docker_client.close()


def created_after(attrs: dict, started: float) -> bool:
    return pd.Timestamp(attrs["Created"]).timestamp() >= started


def test_no_kit_container_remains(client):
    leftovers = [f"{c.name} ({c.status})" for c in kit_containers(client, all_namespaces=True)]
    assert leftovers == []


def test_no_container_created_by_the_suite_remains(client, session_started):
    leftovers = [f"{c.name} ({c.status}, {c.attrs['Config']['Image']})"
                 for c in client.containers.list(all=True)
                 if created_after(c.attrs, session_started)]
    assert leftovers == []


def test_no_untagged_kit_image_was_left_by_the_suite(client, session_started):
    leftovers = [f"{image.short_id} (namespace {image.labels.get(NAMESPACE_LABEL)!r})"
                 for image in client.images.list(filters={"dangling": True,
                                                          "label": f"{MANAGED_LABEL}=true"})
                 if created_after(image.attrs, session_started)]
    assert leftovers == []


def test_tagged_kit_images_of_the_suite_are_only_the_kept_build_cache(client, session_started):
    leftovers = [f"{image.tags} (namespace {image.labels.get(NAMESPACE_LABEL)!r})"
                 for image in client.images.list(filters={"label": f"{MANAGED_LABEL}=true"})
                 if image.tags and created_after(image.attrs, session_started)
                 and image.labels.get(NAMESPACE_LABEL) not in KEPT_NAMESPACES]
    assert leftovers == []


def test_the_main_engine_bridge_still_exists(client):
    """The main engine's default bridge (docker0) is there, if the engine is a local dockerd."""
    host = os.environ.get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        pytest.skip(f"the main engine is remote ({host}): its bridge is not on this host")
    try:
        network = client.networks.get("bridge")
    except docker.errors.NotFound:
        pytest.skip("the main engine has no default 'bridge' network (not a dockerd)")
    name = network.attrs.get("Options", {}).get("com.docker.network.bridge.name", "docker0")
    shown = subprocess.run(["ip", "link", "show", name], capture_output=True, text=True)
    assert shown.returncode == 0, f"the main engine's bridge {name} is gone: {shown.stderr}"


def test_no_side_engine_is_left_behind():
    """Side engines were closed before tests/final: no process, folder, socket or bridge."""
    assert side_engine_leftovers() == []
