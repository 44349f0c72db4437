"""Recorded runs: replayed results are the kit's own types, marked recorded (no daemon)."""

from __future__ import annotations

import pytest

from helpers import recorded
from helpers.build import BuildEvent
from helpers.config import EXERCISE_DIR, SOLUTIONS_DIR
from helpers.errors import KitError, RunError


def synthetic() -> recorded.Recording:
    """A small recording shaped like the real one."""
    image = {
        "dockerfile": "exercises/solutions/Dockerfile.multistage",
        "dockerfile_sha256": recorded.file_digest(SOLUTIONS_DIR / "Dockerfile.multistage"),
        "image_id": "sha256:" + "ab" * 32, "size_bytes": 5_066_407, "layers": 2,
        "build": {"steps": [{"number": 1, "instruction": "FROM golang:1.22 AS build",
                             "duration_s": 0.1, "cached": False, "stage": "",
                             "started_s": 0.0},
                            {"number": 2, "instruction": "COPY --from=build /out/server /server",
                             "duration_s": 0.2, "cached": True, "stage": "",
                             "started_s": 0.1}],
                  "log": ["Step 1/2 : FROM golang:1.22 AS build"], "duration_s": 15.9,
                  "backend": "classic"},
        "history": [{"step": 1, "instruction": "COPY <file> /server", "size_bytes": 4_849_816,
                     "size_mb": 4.85, "empty_layer": False}],
        "breakdown": {"layers": [{"layer": 1, "instruction": "COPY <file> /server",
                                  "size_bytes": 4_849_816, "files": 1, "whiteouts": 0,
                                  "wasted_bytes": 0}],
                      "files": [{"path": "/server", "size_bytes": 4_849_816, "layer": 1}],
                      "total_bytes": 4_849_816, "final_bytes": 4_849_816, "wasted_bytes": 0,
                      "efficiency": 1.0},
        "health": {"status_code": 200, "body": {"status": "ok", "ca_roots": 142},
                   "elapsed_s": 0.2},
        "checks": {"passed": True,
                   "checks": [{"id": "size", "status": "pass", "message": "5.07 MB",
                               "hint": "", "required": True, "diagnoses": []}],
                   "diagnoses": []},
    }
    broken = dict(image, health={"error": "The container stopped with exit code 1.",
                                 "hint": "Read the logs.", "logs": "exec /server: no such file"})
    return recorded.Recording({
        "meta": {"engine": "Docker Engine 20.10.24", "date": "2026-11-26 15:00 UTC",
                 "kit_version": "0.1.0", "exercise_digest": recorded.exercise_digest(),
                 "image_ids": {"reference": image["image_id"]}},
        "images": {"reference": image, "starter": broken},
    })


def test_keys_follow_the_dockerfiles_the_notebooks_use():
    assert recorded.key_for("Dockerfile") == "original"
    assert recorded.key_for("Dockerfile.multistage") == "starter"
    assert recorded.key_for(SOLUTIONS_DIR / "Dockerfile.multistage") == "reference"
    assert recorded.key_for(SOLUTIONS_DIR / "Dockerfile.cache-mounts") == "cache-mounts"
    assert recorded.key_for(EXERCISE_DIR / "nope") is None


def test_replayed_results_are_marked_recorded():
    recording = synthetic()
    events: list[BuildEvent] = []
    result = recording.replay_build("reference", "t", events.append)
    assert result.recorded and result.duration_s == 15.9 and result.cached_steps == 1
    assert [e.kind for e in events] == ["step", "step-done", "step", "step-done", "done"]
    summary = recording.summary("reference", "t")
    assert summary.recorded and summary.size_bytes == 5_066_407
    breakdown = recording.breakdown("reference", "t")
    assert breakdown.recorded and list(breakdown.files["path"]) == ["/server"]
    health = recording.health("reference")
    assert health.recorded and health.healthy and health.ca_roots == 142
    assert list(recording.history("reference")["instruction"]) == ["COPY <file> /server"]


def test_recorded_failure_is_replayed_as_the_kit_error():
    with pytest.raises(RunError, match="exit code 1") as info:
        synthetic().health("starter")
    assert "no such file" in info.value.logs


def test_missing_key_says_how_to_record():
    with pytest.raises(KitError, match="no run of 'original'") as info:
        synthetic().image("original")
    assert "python -m helpers record" in info.value.hint


def test_banner_names_engine_and_date():
    banner = synthetic().banner()
    assert banner.startswith("No Docker engine answers here")
    assert "Docker Engine 20.10.24" in banner and "2026-11-26 15:00 UTC" in banner


def test_save_and_load_round_trip_byte_for_byte(tmp_path):
    data = synthetic().data
    first = recorded.save(data, tmp_path / "a.json.gz").read_bytes()
    second = recorded.save(data, tmp_path / "b.json.gz").read_bytes()
    assert first == second  # deterministic: re-recording the same data changes nothing
    assert recorded.load(tmp_path / "a.json.gz").data == data
    assert recorded.load(tmp_path / "missing.json.gz") is None


def test_digest_changes_with_the_exercise_files(tmp_path, monkeypatch):
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "exercises" / "README.md").write_text("docs do not count\n")
    monkeypatch.setattr(recorded, "REPO_ROOT", tmp_path)
    before = recorded.exercise_digest()
    (tmp_path / "exercises" / "README.md").write_text("edited docs\n")
    assert recorded.exercise_digest() == before
    (tmp_path / "exercises" / "Dockerfile").write_text("FROM scratch\nUSER 1\n")
    assert recorded.exercise_digest() != before


def test_committed_recording_is_not_older_than_the_exercise_files():
    recording = recorded.load()
    assert recording is not None, "recordings/recording.json.gz is missing: python -m helpers record"
    assert recording.is_current(), (
        "The exercise files changed after the recording was made: re-run "
        "`python -m helpers record` on a machine with Docker and commit recordings/.")
    assert set(recording.data["images"]) == set(recorded.TARGETS)
    meta = recording.meta
    assert meta["engine"].startswith("Docker Engine") and meta["date"]
    assert all(i.startswith("sha256:") for i in meta["image_ids"].values())
