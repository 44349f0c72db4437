"""The recorded golang:1.22 manifest: what the engine-less build knows of the base image.

These tests read the committed recording (``recordings/base-images/golang-1.22.json.gz``,
written by ``python -m helpers record --base-only`` on a real engine), so they also check
that it holds what the engine-less build relies on.
"""

from __future__ import annotations

import io

import pytest

from helpers.build.engineless import basefiles
from helpers.build.engineless.basefiles import BaseImage, from_document, load_base_image
from helpers.build.engineless.entries import FileEntry
from helpers.build.engineless.writer import ImageWriteError, write_image
from helpers.image.certs import parse_ca_bundle

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


@pytest.fixture(scope="module")
def golang() -> BaseImage:
    image = load_base_image("golang:1.22")
    assert image is not None, "re-record: python -m helpers record --base-only"
    return image


def test_the_recording_says_what_and_where_from(golang):
    assert golang.ref == "golang:1.22"
    assert golang.image_id.startswith("sha256:") and golang.engine.startswith("Docker")
    assert golang.os == "linux" and golang.architecture
    assert "GOPATH=/go" in golang.config["Env"] and golang.config["WorkingDir"] == "/go"
    assert set(golang.config) == set(basefiles.CONFIG_KEYS)
    assert golang.total_bytes == sum(row["size_bytes"] for row in golang.layers) > 100 * 10**6
    assert [row["layer"] for row in golang.layers] == list(range(1, len(golang.layers) + 1))


def test_the_ca_bundle_has_its_bytes(golang):
    entry = golang.lookup(CA_BUNDLE)
    assert entry.kind == "file" and entry.has_bytes and entry.length is None
    bundle = parse_ca_bundle(entry.data, CA_BUNDLE)
    assert bundle.certificates > 100 and bundle.invalid_blocks == 0
    assert entry.size == len(entry.data)


def test_a_big_file_has_a_length_but_no_bytes(golang):
    go = golang.lookup("/usr/local/go/bin/go")
    assert go.kind == "file" and not go.has_bytes and go.data is None
    assert go.length > 1_000_000 and go.size == go.length and go.mode == 0o755
    with pytest.raises(ImageWriteError, match="its bytes are not recorded"):
        write_image([[go]], {}, io.BytesIO(), "x")


def test_small_system_files_have_their_bytes(golang):
    passwd = golang.lookup("/etc/passwd")
    assert passwd.has_bytes and passwd.data.startswith(b"root:x:0:0:")
    assert golang.lookup("/etc/group").has_bytes
    zone = golang.files("/usr/share/zoneinfo/UTC")
    assert zone and zone[0].kind == "file" and zone[0].data.startswith(b"TZif")


def test_files_of_a_folder_are_the_folder_and_its_members(golang):
    found = golang.files("/etc/ssl/certs")
    assert found[0] == golang.lookup("/etc/ssl/certs") and found[0].kind == "dir"
    paths = [e.path for e in found]
    assert CA_BUNDLE in paths and paths == sorted(paths)
    assert all(p == "/etc/ssl/certs" or p.startswith("/etc/ssl/certs/") for p in paths)
    links = [e for e in found if e.kind == "symlink"]
    assert len(links) > 100  # the per-certificate links stay links, as a COPY keeps them
    assert golang.files("/etc/ssl/certs/")[1:] == found[1:]


def test_files_follow_symlinks_as_a_copy_does(golang):
    assert golang.lookup("/lib").kind == "symlink"          # merged /usr: /lib -> usr/lib
    libc = golang.files("/lib/x86_64-linux-gnu/libc.so.6") or golang.files(
        "/lib/aarch64-linux-gnu/libc.so.6")
    assert libc and libc[0].kind == "file" and libc[0].path.startswith("/lib/")
    link = next(e for e in golang.files("/etc/ssl/certs") if e.kind == "symlink"
                and e.linkname.startswith("/usr/share/ca-certificates/"))
    copied = golang.files(link.path)
    assert copied[0].kind == "file" and copied[0].path == link.path and copied[0].has_bytes


def test_hard_links_come_back_as_the_file(golang):
    links = [e for e in golang.entries() if e.kind == "hardlink"]
    for link in links:
        (copied,) = golang.files(link.path)
        target = golang.lookup(link.linkname)
        assert copied.kind == "file" and copied.size == target.size


def test_absent_paths_and_unknown_refs_are_none(golang):
    assert golang.files("/nope") is None and golang.lookup("/nope") is None
    assert golang.files(CA_BUNDLE + "/below") is None
    assert load_base_image("alpine:3.20") is None
    assert load_base_image("golang:1.21") is None
    assert load_base_image("golang:1.22@sha256:" + "0" * 64) is None


@pytest.mark.parametrize("ref", ["golang:1.22-bookworm", "docker.io/library/golang:1.22",
                                 "index.docker.io/library/golang:1.22", "GOLANG:1.22"])
def test_aliases_share_the_recording(golang, ref):
    assert load_base_image(ref) is golang


def test_a_patch_tag_resolves_only_to_the_same_go(golang):
    version = next(v.split("=", 1)[1] for v in golang.config["Env"]
                   if v.startswith("GOLANG_VERSION="))
    assert load_base_image(f"golang:{version}") is golang
    assert load_base_image(f"golang:{version}-bookworm") is golang
    assert load_base_image("golang:1.22.999") is None


def test_entries_and_file_layers_agree(golang):
    entries = golang.entries()
    assert [e.path for e in entries] == sorted(e.path for e in entries)
    assert entries[0].path == "/" and len(entries) > 10_000
    rows = golang.file_layers()
    assert [r[0] for r in rows] == [e.path for e in entries if e.kind != "dir"]
    assert sum(r[1] for r in rows) == golang.total_bytes - sum(
        row["wasted_bytes"] for row in golang.layers)
    assert {r[2] for r in rows} <= {row["layer"] for row in golang.layers}
    assert sum(e.has_bytes for e in entries) > 200


def test_a_document_of_another_format_is_refused():
    with pytest.raises(ValueError, match="re-record"):
        from_document({"format": 99, "columns": list(basefiles.COLUMNS)})


def test_a_small_document_reads_back():
    doc = {"format": basefiles.FORMAT, "columns": list(basefiles.COLUMNS), "ref": "x:1",
           "image_id": "sha256:00", "engine": "e", "recorded": "2026-01-01", "config": {},
           "os": "linux", "architecture": "amd64", "total_bytes": 3,
           "layers": [{"layer": 1, "size_bytes": 3}],
           "entries": [["/", "dir", 0o755, 0, 0, 0, "", 0],
                       ["/a", "dir", 0o750, 1, 2, 0, "", 0],
                       ["/a/f", "file", 0o600, 1, 2, 3, "", 1],
                       ["/a/h", "hardlink", 0o600, 1, 2, 0, "/a/f", 1],
                       ["/b", "symlink", 0o777, 0, 0, 0, "a", 1]],
           "data": {"/a/f": "YWJj"}}
    image = from_document(doc)
    assert image.lookup("/a/f") == FileEntry("/a/f", mode=0o600, uid=1, gid=2, data=b"abc")
    assert [e.path for e in image.files("/b")] == ["/b", "/b/f", "/b/h"]
    assert image.files("/b/h")[0].data == b"abc"
    assert image.file_layers() == [("/a/f", 3, 1), ("/a/h", 0, 1), ("/b", 0, 1)]
    assert image.files("/b/../a/f")[0].path == "/a/f"
