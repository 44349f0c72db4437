"""A broken Dockerfile gives the kit's BuildError naming the failing step, on a real engine."""

from __future__ import annotations

import shutil

import pytest

from helpers.build import build_image
from helpers.config import EXERCISE_DIR, image_tag
from helpers.errors import BuildError


@pytest.fixture
def context(tmp_path):
    """A copy of the exercise folder: tests never edit the learner's files."""
    target = tmp_path / "ctx"
    shutil.copytree(EXERCISE_DIR, target)
    return target


def test_failing_run_step_is_named(client, context):
    (context / "Dockerfile.broken").write_text(
        "FROM golang:1.22\nWORKDIR /app\nRUN echo about to fail && false\n")
    with pytest.raises(BuildError) as info:
        build_image(client, context, image_tag("broken-run"), "Dockerfile.broken")
    assert info.value.step == 3
    assert info.value.instruction == "RUN echo about to fail && false"
    assert "non-zero code" in info.value.engine_message
    assert "about to fail" in info.value.log


def test_missing_copy_source_is_named(client, context):
    (context / "Dockerfile.broken").write_text(
        "FROM golang:1.22\nCOPY go.mod go.sum ./\nCOPY no-such-file.txt /app/\n")
    with pytest.raises(BuildError) as info:
        build_image(client, context, image_tag("broken-copy"), "Dockerfile.broken")
    assert info.value.step == 3
    assert info.value.instruction.startswith("COPY no-such-file.txt")
    assert "build context" in info.value.hint
