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


# --- the base image's manifest ------------------------------------------------------------

class _BaseContainer:
    """A created container whose ``/`` is ``archive`` (a tar, as the engine streams it)."""

    def __init__(self, archive: bytes) -> None:
        self.archive, self.removed = archive, False

    def get_archive(self, path):
        assert path == "/"
        return iter([self.archive[i:i + 777] for i in range(0, len(self.archive), 777)]), {}

    def remove(self, force=False):
        self.removed = True


class _BaseClient:
    """Just what :func:`recorded.record_base_image` asks of an engine: the image, its
    ``docker save`` stream (written by the engine-less writer) and a container's ``/``."""

    def __init__(self, saved: bytes, container_fs: bytes) -> None:
        from types import SimpleNamespace

        self.saved = saved
        self.image = SimpleNamespace(id="sha256:" + "cd" * 32, tags=["golang:1.22"], attrs={
            "Config": {"Env": ["GOPATH=/go"], "WorkingDir": "/go", "Cmd": ["bash"]},
            "Os": "linux", "Architecture": "amd64", "Size": 123, "RepoDigests": []})
        self.images = SimpleNamespace(get=lambda ref: self.image)
        self.api = SimpleNamespace(base_url="fake://base", get_image=self._save)
        self.container = _BaseContainer(container_fs)
        self.containers = SimpleNamespace(create=lambda image, **kw: self.container)

    def _save(self, ref, chunk_size):
        return iter([self.saved[i:i + 1000] for i in range(0, len(self.saved), 1000)])

    def version(self):
        return {"Version": "20.10.24", "ApiVersion": "1.41", "Os": "linux", "Arch": "amd64"}

    def info(self):
        return {"Driver": "overlay2"}


def _container_tar(members: list[tuple[str, bytes, int, bytes | str]]) -> bytes:
    """A tar like ``get_archive("/")``: ``(name, type, mode, data or linkname)``."""
    import io
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, kind, mode, payload in members:
            info = tarfile.TarInfo(name)
            info.type, info.mode = kind, mode
            if isinstance(payload, str):
                info.linkname = payload
            else:
                info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload) if isinstance(payload, bytes) else None)
    return out.getvalue()


def _fake_base_engine() -> _BaseClient:
    """An image of two layers (the second replaces ``/usr/local/go/bin/go``) and the
    container view of it, with the engine's init-layer placeholders and a device node."""
    import io
    import tarfile

    from helpers.build.engineless.entries import FileEntry
    from helpers.build.engineless.writer import write_image

    pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    layers = [[FileEntry("/etc/hosts", data=b"127.0.0.1 localhost\n"),
               FileEntry("/etc/passwd", data=b"root:x:0:0:root:/root:/bin/bash\n"),
               FileEntry("/etc/ssl/certs/ca-certificates.crt", data=pem),
               FileEntry("/usr/local/go/bin/go", mode=0o755, data=b"old go"),
               FileEntry("/proc", "dir", 0o555),
               FileEntry("/lib", "symlink", 0o777, linkname="usr/lib"),
               FileEntry("/usr/bin/gunzip", mode=0o755, data=b"#!/bin/sh\n"),
               FileEntry("/usr/bin/uncompress", "hardlink", linkname="/usr/bin/gunzip")],
              [FileEntry("/usr/local/go/bin/go", mode=0o755, data=b"\x7fELF new go")]]
    saved = io.BytesIO()
    write_image(layers, {}, saved, "golang:1.22")
    reg, dirt, sym, chr_ = tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.CHRTYPE
    container_fs = _container_tar([
        ("", dirt, 0o40755, b""), ("/.dockerenv", reg, 0o100755, b""),
        ("/dev", dirt, 0o40755, b""), ("/dev/null", chr_, 0o20666, b""),
        ("/etc", dirt, 0o40755, b""), ("/etc/hosts", reg, 0o100755, b""),
        ("/etc/passwd", reg, 0o100644, layers[0][1].data), ("/etc/ssl", dirt, 0o755, b""),
        ("/etc/ssl/certs", dirt, 0o755, b""),
        ("/etc/ssl/certs/ca-certificates.crt", reg, 0o644, pem),
        ("/lib", sym, 0o777, "usr/lib"), ("/proc", dirt, 0o755, b""),
        ("/sys", dirt, 0o755, b""), ("/usr", dirt, 0o755, b""),
        ("/usr/bin", dirt, 0o755, b""), ("/usr/bin/uncompress", reg, 0o755, b"#!/bin/sh\n"),
        ("/usr/bin/gunzip", tarfile.LNKTYPE, 0o755, "/usr/bin/uncompress"),
        ("/usr/local", dirt, 0o755, b""), ("/usr/local/go", dirt, 0o755, b""),
        ("/usr/local/go/bin", dirt, 0o755, b""),
        ("/usr/local/go/bin/go", reg, 0o755, b"\x7fELF new go")])
    return _BaseClient(saved.getvalue(), container_fs)


def test_the_base_image_recorder_reads_the_image_not_the_engines_placeholders(tmp_path):
    from helpers.build.engineless.basefiles import from_document

    client = _fake_base_engine()
    doc = recorded.record_base_image(client, "docker.io/library/golang:1.22-bookworm")
    assert client.container.removed
    rows = {row[0]: row for row in doc["entries"]}
    assert doc["ref"] == "golang:1.22" and doc["image_id"] == client.image.id
    assert rows["/etc/hosts"] == ["/etc/hosts", "file", 0o644, 0, 0, 20, "", 1]  # the image's
    assert rows["/proc"][2] == 0o555 and "/sys" not in rows and "/.dockerenv" not in rows
    assert rows["/usr/local/go/bin/go"] == ["/usr/local/go/bin/go", "file", 0o755, 0, 0, 11,
                                            "", 2]
    assert rows["/lib"][1:] == ["symlink", 0o777, 0, 0, 0, "usr/lib", 1]
    # the engine's tar made the other name of the inode the file; the image's layer decides
    assert rows["/usr/bin/gunzip"][1:6] == ["file", 0o755, 0, 0, 10]
    assert rows["/usr/bin/uncompress"] == ["/usr/bin/uncompress", "hardlink", 0o755, 0, 0, 0,
                                           "/usr/bin/gunzip", 1]
    assert doc["special"] == ["/dev/null"]
    assert sorted(doc["data"]) == ["/etc/passwd", "/etc/ssl/certs/ca-certificates.crt"]
    assert doc["total_bytes"] == sum(row["size_bytes"] for row in doc["layers"])
    assert [row["layer"] for row in doc["layers"]] == [1, 2]
    assert doc["config"]["Entrypoint"] is None and doc["engine_size_bytes"] == 123

    image = from_document(doc)
    assert image.lookup("/etc/passwd").data.startswith(b"root:")
    assert image.lookup("/usr/local/go/bin/go").length == 11
    assert ("/usr/local/go/bin/go", 11, 2) in image.file_layers()

    path = recorded.save_base_image(doc, tmp_path / "base.json.gz")
    first = path.read_bytes()
    assert recorded.save_base_image({**doc, "recorded": "2099-01-01"}, path).read_bytes() \
        == first  # the same image re-recorded later: the file does not change
    assert recorded.save_base_image({**doc, "image_id": "sha256:ef"}, path).read_bytes() \
        != first


def test_the_byte_budget_keeps_whole_folders_only(monkeypatch):
    monkeypatch.setattr(recorded, "BASE_BYTES_BUDGET", 60)
    kept = recorded._KeptBytes()
    for path, size in (("/etc/passwd", 30), ("/etc/ssl/a", 20), ("/etc/ssl/b", 20),
                       ("/usr/share/zoneinfo/UTC", 10), ("/usr/bin/x", 1)):
        group = kept.group_of(path, size)
        if group is not None:
            kept.groups[group][path] = bytes(size)
    # /etc/ssl/ alone fits (40) but not after /etc/passwd (30): it is left out whole
    assert sorted(kept.kept()) == ["/etc/passwd", "/usr/share/zoneinfo/UTC"]
