"""Notebook 03's self-check, from fake measurements: each row passes only on its own fact."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from helpers.build import BuildResult, StepResult
from helpers.lessons import layers_and_cache

FILES, EFFICIENCY, REBUILD = ("the multi-stage image holds exactly 2 files",
                              "its efficiency is 100 %", layers_and_cache.REBUILD_CLAIM)


def small(paths=("/server", "/etc/ssl/certs/ca-certificates.crt"), efficiency=1.0):
    return SimpleNamespace(files=pd.DataFrame({"path": list(paths)}), efficiency=efficiency)


def rebuild(go_build_cached=True, recorded=False) -> BuildResult:
    steps = [StepResult(1, "FROM golang:1.22 AS build", 0.0, False),
             StepResult(2, "RUN go build -o /out/server ./cmd/server", 0.0, go_build_cached),
             StepResult(3, "FROM scratch", 0.0, False),
             StepResult(4, "COPY --from=build /out/server /server", 0.0, True)]
    return BuildResult("t", "sha256:" + "ab" * 32, steps, [], 0.4, recorded=recorded)


def statuses(frame: pd.DataFrame) -> dict[str, str]:
    return dict(zip(frame["claim"], frame["status"]))


def test_a_good_run_passes_every_claim():
    frame = layers_and_cache.self_check(small(), rebuild())
    assert list(frame["claim"]) == [FILES, EFFICIENCY, REBUILD]
    assert set(frame["status"]) == {"pass"}
    assert list(frame["measured"]) == [2, "100.0%", "2/4"]  # FROM lines are never cached


@pytest.mark.parametrize("small_image, rebuilt, claim", [
    (small(paths=("/server", "/certs", "/bin/sh")), rebuild(), FILES),
    (small(efficiency=0.97), rebuild(), EFFICIENCY),
    (small(), rebuild(go_build_cached=False), REBUILD),
])
def test_a_row_fails_when_its_fact_fails(small_image, rebuilt, claim):
    found = statuses(layers_and_cache.self_check(small_image, rebuilt))
    assert found.pop(claim) == "fail"
    assert set(found.values()) == {"pass"}


def test_a_recorded_rebuild_is_a_skip_with_the_reason():
    frame = layers_and_cache.self_check(small(), rebuild(recorded=True)).set_index("claim")
    assert frame.loc[REBUILD, "status"] == "skip"
    assert "recorded run" in frame.loc[REBUILD, "note"]


def test_nothing_measured_is_never_a_pass():
    frame = layers_and_cache.self_check(None, None)
    assert set(frame["status"]) == {"fail"}


def test_an_engineless_rebuild_is_a_skip_never_a_fail():
    built = rebuild(go_build_cached=False)
    built.backend = "engine-less"  # no layer cache at all: nothing to claim either way
    frame = layers_and_cache.self_check(small(), built).set_index("claim")
    assert frame.loc[REBUILD, "status"] == "skip"
    assert "without an engine" in frame.loc[REBUILD, "note"]
    assert set(frame.drop(REBUILD)["status"]) == {"pass"}
