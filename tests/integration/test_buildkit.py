"""The BuildKit backend on the real engine: the cache-mount solution builds and is checked."""

from __future__ import annotations

import pytest

from helpers.build import build_image
from helpers.engine.cli import buildkit_client
from helpers.grading.checks import REQUIRED, run_checks
from helpers.config import EXERCISE_DIR, SOLUTIONS_DIR, image_tag
from helpers.errors import BuildError

CACHE_MOUNTS = SOLUTIONS_DIR / "Dockerfile.cache-mounts"

needs_buildkit = pytest.mark.skipif(buildkit_client() is None,
                                    reason="no BuildKit-capable docker CLI on this machine")


@needs_buildkit
def test_cache_mount_variant_passes_every_required_check_with_buildkit(client):
    tag = image_tag("check-cache-mounts")
    try:
        report = run_checks(client, EXERCISE_DIR, CACHE_MOUNTS, tag=tag, backend="auto")
    finally:
        client.images.remove(tag, force=True)
    failing = [f"{r.id}: {r.message}" for r in report.results
               if r.required and r.status != "pass"]
    assert failing == []
    assert {r.id for r in report.results} >= set(REQUIRED)


@needs_buildkit
def test_buildkit_result_has_steps_and_kit_labels(client):
    tag = image_tag("buildkit-build")
    try:
        result = build_image(client, EXERCISE_DIR, tag, CACHE_MOUNTS, backend="buildkit")
        assert result.backend == "buildkit"
        assert any("go mod download" in s.instruction for s in result.steps)
        assert {s.stage for s in result.steps} == {"build", "stage-1"}
        image = client.images.get(tag)
        assert image.id == result.image_id
        assert image.labels["com.multistage-kit.managed"] == "true"
    finally:
        client.images.remove(tag, force=True)


def test_classic_builder_says_the_cache_mount_variant_needs_buildkit(client):
    with pytest.raises(BuildError) as info:
        build_image(client, EXERCISE_DIR, image_tag("needs-buildkit"), CACHE_MOUNTS,
                    backend="classic")
    assert "BuildKit" in info.value.hint
