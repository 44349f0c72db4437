"""Fixtures for tests on a real Docker engine.

All integration tests run in the namespace ``itest`` (KIT_NAMESPACE), so they never overwrite a
learner's ``exercise2-*`` images; the images they build are kept (they are the build cache for
the next run), every container they start is removed.
"""

from __future__ import annotations

import pytest

from helpers import engine
from helpers.build import build_image
from helpers.config import EXERCISE_DIR, ORIGINAL_TAG, OPTIMIZED_TAG, SOLUTIONS_DIR, image_tag
from helpers.errors import EngineUnavailable

NAMESPACE = "itest"


@pytest.fixture(scope="session", autouse=True)
def itest_namespace():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KIT_NAMESPACE", NAMESPACE)
        yield NAMESPACE


@pytest.fixture(scope="session")
def client(itest_namespace):
    try:
        docker_client = engine.connect()
    except EngineUnavailable as exc:
        pytest.fail(f"integration tests need a Docker engine: {exc}", pytrace=False)
    yield docker_client
    docker_client.close()


@pytest.fixture(scope="session")
def original(client):
    """The single-stage image of the brief, built once per session."""
    return build_image(client, EXERCISE_DIR, image_tag(ORIGINAL_TAG), "Dockerfile")


@pytest.fixture(scope="session")
def optimized(client):
    """The reference multi-stage image, built once per session."""
    return build_image(client, EXERCISE_DIR, image_tag(OPTIMIZED_TAG),
                       SOLUTIONS_DIR / "Dockerfile.multistage")
