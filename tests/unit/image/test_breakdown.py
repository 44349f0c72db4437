"""File-level breakdown of an image, on synthetic `docker save` archives (no engine needed)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pandas as pd
import pytest
from docker.errors import APIError

from helpers.errors import KitError
from helpers.image import archive as archive_module
from helpers.image.breakdown import SAVE_CHUNK_SIZE, file_breakdown
from helpers.image.categories import category_sizes, directory_sizes

from ..fakes import FakeClient, FakeImage

TAG = "demo:latest"


# --- building synthetic archives -------------------------------------------------------------

def layer_tar(entries, fmt=tarfile.PAX_FORMAT) -> bytes:
    """A layer tar from ``(kind, name[, size or link target])`` entries, in order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for kind, name, *extra in entries:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif kind == "file":
                info.size = extra[0]
                tar.addfile(info, io.BytesIO(b"x" * info.size))
            elif kind == "link":
                info.type, info.linkname = tarfile.LNKTYPE, extra[0]
                tar.addfile(info)
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, extra[0]
                tar.addfile(info)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
                tar.addfile(info)
            else:
                raise ValueError(kind)
    return buf.getvalue()


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def save_archive(layers: list[bytes], history: list[dict], stream_order=None) -> bytes:
    """A `docker save` (v1.2 layout) archive; layers written in ``stream_order``, manifest last."""
    ids = [hashlib.sha256(b"layer%d" % i).hexdigest() for i in range(len(layers))]
    config = json.dumps({"architecture": "amd64", "history": history,
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [TAG],
                            "Layers": [f"{layer_id}/layer.tar" for layer_id in ids]}]).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for index in stream_order or range(len(layers)):
            directory = tarfile.TarInfo(ids[index])
            directory.type = tarfile.DIRTYPE
            tar.addfile(directory)
            add_bytes(tar, f"{ids[index]}/VERSION", b"1.0")
            add_bytes(tar, f"{ids[index]}/json", json.dumps({"id": ids[index]}).encode())
            add_bytes(tar, f"{ids[index]}/layer.tar", layers[index])
        add_bytes(tar, config_name, config)
        add_bytes(tar, "repositories", b"{}")
        add_bytes(tar, "manifest.json", manifest)  # last, as the brief's worst case
    return buf.getvalue()


class SaveAPI:
    """``client.api`` that streams an archive in chunks, like docker-py's ``get_image``."""

    def __init__(self, archive: bytes, chunk: int = 1000, error: Exception | None = None):
        self.archive, self.chunk, self.error = archive, chunk, error
        self.calls = []

    listing: list[dict] = []  # what `GET /images/json` answers (docker images)

    def images(self):
        return self.listing

    def get_image(self, image, chunk_size=None):
        self.calls.append((image, chunk_size))
        if self.error:
            raise self.error
        for start in range(0, len(self.archive), self.chunk):
            yield self.archive[start:start + self.chunk]


def client_for(archive: bytes, chunk: int = 1000, error: Exception | None = None) -> FakeClient:
    client = FakeClient(images=[FakeImage(TAG, size=len(archive), layers=3)])
    client.api = SaveAPI(archive, chunk, error)
    return client


# The three layers of the main scenario (see the expected figures below).
LAYER1 = [
    ("dir", "etc"), ("file", "etc/config", 100), ("file", "etc/old", 50),
    ("dir", "opt"), ("dir", "opt/dir"), ("file", "opt/dir/a", 200),
    ("dir", "opt/dir/sub"), ("file", "opt/dir/sub/b", 300),
    ("dir", "var"), ("dir", "var/cache"), ("file", "var/cache/x", 400),
    ("file", "var/cache/y", 10),
    ("dir", "usr"), ("dir", "usr/bin"), ("file", "usr/bin/tool", 1000),
    ("link", "usr/bin/tool-link", "usr/bin/tool"), ("sym", "usr/bin/sym", "tool"),
    ("dir", "usr/local"), ("dir", "usr/local/go"), ("dir", "usr/local/go/bin"),
    ("file", "usr/local/go/bin/go", 2000),
]
LAYER2 = [
    ("dir", "etc"), ("file", "etc/config", 150),           # overwrites 100 bytes
    ("file", "etc/.wh.old", 0),                             # deletes /etc/old (50)
    ("dir", "var"), ("dir", "var/cache"), ("file", "var/cache/.wh..wh..opq", 0),
    ("file", "var/cache/z", 5),                             # hides x and y (410), z stays
    ("dir", "app"), ("file", "app/server", 700),
]
LAYER3 = [
    ("dir", "opt"), ("file", "opt/.wh.dir", 0),             # deletes /opt/dir (500)
    ("file", "server", 60),
    ("dir", "app"), ("file", "app/server", 800),            # overwrites layer 2's 700
]
HISTORY = [
    {"created": "2024-01-01T00:00:00Z", "comment": "Imported from -"},
    {"created_by": "/bin/sh -c #(nop)  ENV GOPATH=/go", "empty_layer": True},
    {"created_by": "/bin/sh -c #(nop) COPY dir:abc in /app "},
    {"created_by": "/bin/sh -c #(nop)  EXPOSE 8080", "empty_layer": True},
    {"created_by": "/bin/sh -c rm -rf /opt/dir && cp /app/server /server"},
    {"created_by": "/bin/sh -c #(nop)  CMD [\"/server\"]", "empty_layer": True},
]
EXPECTED_FILES = [
    ("/app/server", 800, 3), ("/etc/config", 150, 2), ("/server", 60, 3),
    ("/usr/bin/sym", 0, 1), ("/usr/bin/tool", 1000, 1), ("/usr/bin/tool-link", 0, 1),
    ("/usr/local/go/bin/go", 2000, 1), ("/var/cache/z", 5, 2),
]


def scenario_archive(**kwargs) -> bytes:
    return save_archive([layer_tar(LAYER1, **kwargs), layer_tar(LAYER2), layer_tar(LAYER3)],
                        HISTORY, stream_order=[2, 0, 1])


@pytest.fixture(scope="module")
def breakdown():
    return file_breakdown(client_for(scenario_archive()), TAG)


# --- the figures -------------------------------------------------------------------------------

def test_layers_table(breakdown):
    expected = pd.DataFrame({
        "layer": [1, 2, 3],
        "instruction": ["(imported base filesystem)", "COPY <folder> /app",
                        "RUN rm -rf /opt/dir && cp /app/server /server"],
        "size_bytes": [4060, 855, 860],  # the hard link's bytes count once, on its target
        "files": [10, 3, 2],  # regular files + hard links + symlinks, whiteouts excluded
        "whiteouts": [0, 2, 1],
        # layer 1: /etc/config 100 + /etc/old 50 + /opt/dir 500 + /var/cache 410
        "wasted_bytes": [1060, 700, 0],
    })
    pd.testing.assert_frame_equal(breakdown.layers, expected)


def test_final_filesystem(breakdown):
    assert list(breakdown.files.itertuples(index=False, name=None)) == EXPECTED_FILES
    assert list(breakdown.files.columns) == ["path", "size_bytes", "layer"]
    assert str(breakdown.files["size_bytes"].dtype) == "int64"


def test_totals_and_efficiency(breakdown):
    assert breakdown.tag == TAG
    assert breakdown.total_bytes == 4060 + 855 + 860 == 5775
    assert breakdown.final_bytes == 4015
    assert breakdown.wasted_bytes == 1760 == breakdown.layers["wasted_bytes"].sum()
    assert breakdown.efficiency == pytest.approx(4015 / 5775)


def test_streamed_in_big_chunks():
    client = client_for(scenario_archive())
    file_breakdown(client, TAG)
    assert client.api.calls == [(TAG, SAVE_CHUNK_SIZE)]
    assert SAVE_CHUNK_SIZE >= 1 << 20


@pytest.mark.parametrize("chunk", [1, 7, 511, 512, 513, 4096, 10**9])
def test_chunk_boundaries_do_not_matter(breakdown, chunk):
    other = file_breakdown(client_for(scenario_archive(), chunk=chunk), TAG)
    pd.testing.assert_frame_equal(other.layers, breakdown.layers)
    pd.testing.assert_frame_equal(other.files, breakdown.files)


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT, tarfile.PAX_FORMAT])
def test_tar_formats_and_dot_slash_names(breakdown, fmt):
    """`docker import` keeps `tar -c .` names (`./usr/...`); GNU and pax long names work."""
    dotted = [(kind, "./" + name, *extra) for kind, name, *extra in LAYER1]
    dotted = [(k, n, "./" + e[0]) if k == "link" else (k, n, *e) for k, n, *e in dotted]
    archive = save_archive([layer_tar([("dir", "."), *dotted], fmt=fmt), layer_tar(LAYER2),
                            layer_tar(LAYER3)], HISTORY)
    other = file_breakdown(client_for(archive), TAG)
    pd.testing.assert_frame_equal(other.layers, breakdown.layers)
    pd.testing.assert_frame_equal(other.files, breakdown.files)


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_long_and_non_ascii_names(fmt):
    long_dir = "usr/share/" + "/".join(["a-rather-long-directory-name"] * 6)
    entries = [("dir", "usr"), ("file", f"{long_dir}/file.txt", 11),
               ("link", f"{long_dir}/hard-link-with-a-long-name", f"{long_dir}/file.txt"),
               ("sym", f"{long_dir}/sym", "/" + long_dir + "/file.txt"),
               ("file", "usr/share/caf\u00e9.txt", 3)]
    archive = save_archive([layer_tar(entries, fmt=fmt)], [{"created_by": "/bin/sh -c x"}])
    result = file_breakdown(client_for(archive), TAG)
    assert dict(zip(result.files["path"], result.files["size_bytes"])) == {
        f"/{long_dir}/file.txt": 11, f"/{long_dir}/hard-link-with-a-long-name": 0,
        f"/{long_dir}/sym": 0, "/usr/share/caf\u00e9.txt": 3}
    assert result.layers["instruction"].tolist() == ["RUN x"]


def test_big_files_are_skipped_not_kept():
    """A 3 MB file spanning many chunks: skipped, counted by its header's size."""
    archive = save_archive([layer_tar([("file", "big.bin", 3 * 10**6), ("file", "small", 1)])],
                           [{"created_by": "COPY big.bin /"}])
    seen = []
    result = file_breakdown(client_for(archive, chunk=65536), TAG, on_progress=seen.append)
    assert result.total_bytes == 3 * 10**6 + 1 == result.final_bytes
    assert result.efficiency == 1.0
    assert seen == []  # under PROGRESS_EVERY (10 MB): no call


def test_progress_is_reported_at_most_every_interval(monkeypatch):
    monkeypatch.setattr(archive_module, "PROGRESS_EVERY", 4000)
    archive = scenario_archive()
    seen = []
    file_breakdown(client_for(archive, chunk=1000), TAG, on_progress=seen.append)
    assert seen, "no progress reported"
    assert seen == sorted(seen) and seen[-1] <= len(archive)
    assert all(b - a >= 4000 for a, b in zip(seen, seen[1:]))
    assert seen[0] >= 4000


# --- overlay rules beyond the main scenario ----------------------------------------------------

def run_layers(*layers):
    history = [{"created_by": f"/bin/sh -c step{i}"} for i in range(len(layers))]
    return file_breakdown(client_for(save_archive([layer_tar(l) for l in layers], history)),
                          TAG)


def test_file_replacing_a_directory_hides_its_contents():
    result = run_layers([("dir", "x"), ("file", "x/a", 10), ("dir", "x/sub"),
                         ("file", "x/sub/b", 20), ("file", "keep", 1)],
                        [("file", "x", 3)])
    assert result.files["path"].tolist() == ["/keep", "/x"]
    assert result.layers["wasted_bytes"].tolist() == [30, 0]


def test_directory_replacing_a_file_hides_it():
    result = run_layers([("file", "y", 7)], [("dir", "y"), ("file", "y/b", 1)])
    assert result.files["path"].tolist() == ["/y/b"]
    assert result.layers["wasted_bytes"].tolist() == [7, 0]


def test_whiteout_then_recreate_and_opaque_root():
    result = run_layers([("file", "a", 5), ("dir", "d"), ("file", "d/f", 6)],
                        [("file", ".wh.a", 0)],
                        [("file", "a", 8)],
                        [("file", ".wh..wh..opq", 0), ("file", "only", 2)])
    assert result.files["path"].tolist() == ["/only"]
    assert result.layers["wasted_bytes"].tolist() == [11, 0, 8, 0]
    assert result.layers["whiteouts"].tolist() == [0, 1, 0, 1]
    assert result.efficiency == pytest.approx(2 / 21)


def test_deleted_in_a_middle_layer_only_lower_copies():
    """A whiteout hides lower layers only; the same layer and upper layers are unaffected."""
    result = run_layers([("dir", "d"), ("file", "d/f", 6)],
                        [("dir", "d"), ("file", "d/.wh.f", 0), ("file", "d/g", 1)],
                        [("dir", "d"), ("file", "d/f", 9)])
    assert list(result.files.itertuples(index=False, name=None)) == [("/d/f", 9, 3),
                                                                      ("/d/g", 1, 2)]
    assert result.layers["wasted_bytes"].tolist() == [6, 0, 0]


def test_hard_link_to_a_lower_layer_and_fifo():
    result = run_layers([("file", "t", 4)],
                        [("link", "l", "t"), ("fifo", "pipe")])
    assert dict(zip(result.files["path"], result.files["size_bytes"])) == {"/l": 0, "/t": 4}
    assert result.layers["files"].tolist() == [1, 1]


def test_empty_image():
    archive = save_archive([], [{"created_by": "/bin/sh -c #(nop)  CMD [\"x\"]",
                                 "empty_layer": True}])
    result = file_breakdown(client_for(archive), TAG)
    assert result.total_bytes == result.final_bytes == result.wasted_bytes == 0
    assert result.efficiency == 1.0
    assert list(result.layers.columns) == ["layer", "instruction", "size_bytes", "files",
                                           "whiteouts", "wasted_bytes"]
    assert result.layers.empty and result.files.empty
    assert category_sizes(result.files).empty and directory_sizes(result.files).empty


def test_more_layers_than_history_entries():
    archive = save_archive([layer_tar([("file", "a", 1)]), layer_tar([("file", "b", 2)])],
                           [{"created_by": "/bin/sh -c one"}])
    result = file_breakdown(client_for(archive), TAG)
    assert result.layers["instruction"].tolist() == ["RUN one", "(unknown)"]


def test_oci_layout_blobs():
    """Docker >= 25 writes blobs/sha256/<hex> for layers and configs (tiny layers too)."""
    layer = layer_tar([("file", "a", 3)])
    config = json.dumps({"history": [{"created_by": "COPY a /a"}]}).encode()
    layer_name = "blobs/sha256/" + hashlib.sha256(layer).hexdigest()
    config_name = "blobs/sha256/" + hashlib.sha256(config).hexdigest()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        add_bytes(tar, config_name, config)
        add_bytes(tar, layer_name, layer)
        add_bytes(tar, "index.json", b"{}")
        add_bytes(tar, "manifest.json", json.dumps(
            [{"Config": config_name, "Layers": [layer_name]}]).encode())
    result = file_breakdown(client_for(buf.getvalue()), TAG)
    assert list(result.files.itertuples(index=False, name=None)) == [("/a", 3, 1)]
    assert result.layers["instruction"].tolist() == ["COPY a /a"]


# --- errors ------------------------------------------------------------------------------------

def test_missing_image_is_a_kit_error():
    client = FakeClient()
    client.api = SaveAPI(b"")
    with pytest.raises(KitError, match="no image 'demo:latest'") as info:
        file_breakdown(client, TAG)
    assert "Build it first" in info.value.hint
    assert client.api.calls == []


def test_api_error_is_a_kit_error_with_a_hint():
    client = client_for(b"", error=APIError("500 Server Error", explanation="no space left"))
    with pytest.raises(KitError, match="could not export 'demo:latest': no space left") as info:
        file_breakdown(client, TAG)
    assert "docker save demo:latest" in info.value.hint


@pytest.mark.parametrize("cut", [100, 512, 1536, 3000, 5000, "manifest+100", "manifest+600"])
def test_truncated_archive_is_a_kit_error(cut):
    archive = scenario_archive()
    if isinstance(cut, str):  # inside manifest.json's header, or its data
        cut = archive.index(b"manifest.json\0") + int(cut.split("+")[1])
    with pytest.raises(KitError):
        file_breakdown(client_for(archive[:cut]), TAG)


def test_corrupt_header_is_a_kit_error():
    """A header without the ustar magic must have a right checksum: a misaligned read or a
    damaged header has neither."""
    archive = bytearray(scenario_archive())
    archive[512 + 257] ^= 0xFF  # the second member's magic (and so its checksum)
    with pytest.raises(KitError, match="cannot be read: bad tar header checksum"):
        file_breakdown(client_for(bytes(archive)), TAG)


def test_v7_headers_without_magic_are_checked_by_checksum():
    """Old v7 tars have no magic: accepted when the checksum (unsigned or signed) is right."""
    layer = bytearray(layer_tar([("file", "a", 3)], fmt=tarfile.USTAR_FORMAT))
    layer[257:265] = bytes(8)  # drop magic and version
    checksum = sum(layer[:148]) + 256 + sum(layer[156:512])
    layer[148:156] = b"%06o\0 " % checksum
    archive = save_archive([bytes(layer)], [{"created_by": "/bin/sh -c x"}])
    result = file_breakdown(client_for(archive), TAG)
    assert result.files["path"].tolist() == ["/a"]


def test_broken_connection_is_a_kit_error():
    from requests.exceptions import ChunkedEncodingError

    class BrokenAPI(SaveAPI):
        def get_image(self, image, chunk_size=None):
            yield self.archive[:4096]
            raise ChunkedEncodingError("Connection broken: IncompleteRead")

    client = client_for(b"")
    client.api = BrokenAPI(scenario_archive())
    with pytest.raises(KitError, match="connection to the engine broke") as info:
        file_breakdown(client, TAG)
    assert "docker info" in info.value.hint
