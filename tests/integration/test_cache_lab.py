"""The cache lab on the real engine: which steps a code edit re-runs, per Dockerfile order.

Only the code-edit scenario is measured here (after one unmeasured build that warms the
cache), which keeps the module around a minute: the full matrix, with its cold builds and the
engine-wide prune of BuildKit's cache mounts, runs in notebook 04 and ``make bench``.
"""

from __future__ import annotations

import hashlib

import pytest

from helpers.lessons import cache_lab
from helpers.engine.cli import buildkit_client
from helpers.config import EXERCISE_DIR, image_tag

VARIANT = {variant.key: variant for variant in cache_lab.VARIANTS}


@pytest.fixture(autouse=True)
def cachelab_namespace(monkeypatch):
    monkeypatch.setenv("KIT_NAMESPACE", "itest-cachelab")


def fingerprint(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def code_edit(client, key: str) -> cache_lab.ScenarioResult:
    before = fingerprint(EXERCISE_DIR)
    [result] = cache_lab.run_variant(client, VARIANT[key], scenarios=("code-edit",))
    assert fingerprint(EXERCISE_DIR) == before, "the learner's files were modified"
    assert client.images.list(name=image_tag(f"cachelab-{key}")) == [], "tag left behind"
    assert result.status == "ok", result.reason
    return result


def test_reference_order_reuses_the_download_after_a_code_edit(client):
    result = code_edit(client, "reference")
    assert result.backend == "classic"
    assert cache_lab.step_state(result.build, "go mod download") == "cached"
    assert cache_lab.step_state(result.build, "go build") == "executed"
    assert "COPY . ." in result.rerun
    assert result.executed_steps + result.cached_steps == result.steps


def test_wrong_order_re_runs_the_download_after_a_code_edit(client):
    result = code_edit(client, "wrong-order")
    assert cache_lab.step_state(result.build, "go mod download") == "executed"
    assert cache_lab.step_state(result.build, "go build") == "executed"
    assert any("go mod download" in step for step in result.rerun)


@pytest.mark.skipif(buildkit_client() is None,
                    reason="no BuildKit-capable docker CLI (helpers.build.buildkit.buildkit_client() "
                           "is None): the cache-mount variant needs BuildKit")
def test_cache_mounts_rebuild_only_the_go_build_step_after_a_code_edit(client):
    result = code_edit(client, "cache-mounts")
    assert result.backend == "buildkit"
    assert cache_lab.step_state(result.build, "go mod download") == "cached"
    assert cache_lab.step_state(result.build, "go build") == "executed"
    assert {step.stage for step in result.build.steps} == {"build", "stage-1"}
