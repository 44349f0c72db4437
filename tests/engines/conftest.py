"""Fixtures for the engine matrix: every test here runs on each engine a learner may have.

``engine_target`` (from :mod:`tests.engine_matrix`, registered in ``tests/conftest.py``)
parametrises a test over Docker 20.10
(the main engine), Docker 26 with the containerd image store and Podman 4.3, with
``DOCKER_HOST`` naming the engine under test. What the kit makes here lives in the namespace
``matrix`` and is removed with the kit's own reset after each engine's tests.
"""

from __future__ import annotations

import pytest

from tests.engine_fixtures import kit_namespace

NAMESPACE = "matrix"


@pytest.fixture(scope="package", autouse=True)
def matrix_namespace():
    with kit_namespace(NAMESPACE) as name:
        yield name
