"""Fixtures for tests on a real Docker engine.

All integration tests run in the namespace ``itest`` (KIT_NAMESPACE), so they never overwrite a
learner's ``exercise2-*`` images; the images they build are kept (they are the build cache for
the next run), every container they start is removed.
"""

from __future__ import annotations

import pytest

from helpers.build import build_image
from helpers.config import EXERCISE_DIR, ORIGINAL_TAG, OPTIMIZED_TAG, SOLUTIONS_DIR, image_tag
from tests.engine_fixtures import connect_or_fail, kit_namespace

NAMESPACE = "itest"


@pytest.fixture(scope="package", autouse=True)
def itest_namespace():
    with kit_namespace(NAMESPACE) as name:
        yield name


@pytest.fixture(scope="package")
def client(itest_namespace):
    docker_client = connect_or_fail("integration tests")
    yield docker_client
    docker_client.close()


@pytest.fixture(scope="package")
def original(client):
    """The single-stage image of the brief, built once for the integration tests."""
    return build_image(client, EXERCISE_DIR, image_tag(ORIGINAL_TAG), "Dockerfile")


@pytest.fixture(scope="package")
def optimized(client):
    """The reference multi-stage image, built once for the integration tests."""
    return build_image(client, EXERCISE_DIR, image_tag(OPTIMIZED_TAG),
                       SOLUTIONS_DIR / "Dockerfile.multistage")


@pytest.fixture
def golang_latest(client):
    """Tag the offline golang:1.22 as golang:latest for the unpinned-base fixture."""
    image = client.images.get("golang:1.22")
    existed = bool(client.images.list(name="golang:latest"))
    image.tag("golang", "latest")
    yield
    if not existed:
        client.images.remove("golang:latest", noprune=True)
