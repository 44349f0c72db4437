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
  purpose, as the build cache that makes the next run fast.
"""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import engine
from helpers.config import MANAGED_LABEL, NAMESPACE_LABEL
from helpers.errors import EngineUnavailable
from helpers.reset import kit_containers

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
