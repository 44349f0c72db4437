"""The engine-less image writer: reproducible bytes, both layouts, what the kit's reader sees."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tracemalloc

import pytest

from helpers.build.engineless.entries import FileEntry
from helpers.build.engineless.writer import (
    CREATED,
    ImageWriteError,
    _reference,
    write_image,
)
from helpers.config import MB, goarch
from helpers.image import merge, read_export

RUN_CONFIG = {"User": "65532:65532", "Env": ["PATH=/"], "Entrypoint": ["/server"],
              "Cmd": None, "WorkingDir": "/", "ExposedPorts": {"8080/tcp": {}},
              "Labels": {"course": "exercise2"},
              "Healthcheck": {"Test": ["CMD", "/server", "-health"], "Interval": 10**10}}


def sample_layers(data: bytes = b"-----BEGIN CERTIFICATE-----\n") -> list[list[FileEntry]]:
    return [
        [FileEntry("/etc/ssl/certs/ca-certificates.crt", data=data)],
        [FileEntry("/server", mode=0o755, uid=65532, gid=65532, data=b"\x7fELF" + bytes(600)),
         FileEntry("/app/link", "symlink", 0o777, linkname="../server"),
         FileEntry("/app/a-hardlink", "hardlink", 0o755, linkname="/app/z-target"),
         FileEntry("/app/z-target", mode=0o750, data=b"target bytes"),
         FileEntry("/data", "dir", 0o700, uid=65532, gid=65532)],
    ]


def write(layers=None, config=None, tag="web:1", **options) -> tuple[bytes, str]:
    out = io.BytesIO()
    image_id = write_image(sample_layers() if layers is None else layers,
                           RUN_CONFIG if config is None else config, out, tag, **options)
    return out.getvalue(), image_id


def members(archive: bytes) -> dict[str, bytes | None]:
    """Name -> contents (None for folders) of every member of the outer tar."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {m.name: tar.extractfile(m).read() if m.isfile() else None for m in tar}


def layer_members(blob: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        return tar.getmembers()


# --- reproducible ---------------------------------------------------------------------------

def test_same_inputs_give_the_same_bytes_and_id():
    first, first_id = write()
    second, second_id = write()
    assert first == second and first_id == second_id
    assert first_id.startswith("sha256:") and len(first_id) == 71


def test_entry_order_does_not_matter():
    layers = sample_layers()
    shuffled = [list(reversed(layer)) for layer in layers]
    assert write(layers) == write(shuffled)


@pytest.mark.parametrize("change", ["byte", "mode", "uid", "config", "tag"])
def test_a_change_gives_a_different_archive(change):
    base, base_id = write()
    layers, config, tag = sample_layers(), RUN_CONFIG, "web:1"
    if change == "byte":
        layers = sample_layers(b"-----BEGIN CERTIFICATE-----\r")
    elif change == "mode":
        layers[0][0] = FileEntry(layers[0][0].path, mode=0o600, data=layers[0][0].data)
    elif change == "uid":
        layers[0][0] = FileEntry(layers[0][0].path, uid=1, data=layers[0][0].data)
    elif change == "config":
        config = {**RUN_CONFIG, "User": "0"}
    else:
        tag = "web:2"
    changed, changed_id = write(layers, config, tag)
    assert changed != base
    assert (changed_id == base_id) == (change == "tag")  # the name is not part of the id


def test_the_id_is_the_digest_of_the_config_blob():
    archive, image_id = write()
    files = members(archive)
    config = files["blobs/sha256/" + image_id.removeprefix("sha256:")]
    assert "sha256:" + hashlib.sha256(config).hexdigest() == image_id
    for name, data in files.items():  # every blob is stored under its own digest
        if data is not None and name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]


def test_headers_carry_no_time_and_no_user_names():
    archive, _ = write()
    with tarfile.open(fileobj=io.BytesIO(archive)) as outer:
        infos = outer.getmembers()
        blobs = [outer.extractfile(m).read() for m in infos if m.isfile()]
    inner = [m for blob in blobs if blob[257:262] == b"ustar" for m in layer_members(blob)]
    assert len(inner) > 5
    for info in infos + inner:
        assert (info.mtime, info.uname, info.gname) == (0, "", "")
    assert [m.name for m in infos] == sorted(m.name for m in infos)


# --- layouts ----------------------------------------------------------------------------------

def test_both_layouts_name_the_same_blobs():
    archive, image_id = write(tag="web")
    files = members(archive)
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    [entry] = json.loads(files["manifest.json"])
    assert entry["RepoTags"] == ["web:latest"]
    assert entry["Config"] == "blobs/sha256/" + image_id.removeprefix("sha256:")
    index = json.loads(files["index.json"])
    [descriptor] = index["manifests"]
    assert descriptor["annotations"] == {"io.containerd.image.name":
                                         "docker.io/library/web:latest",
                                         "org.opencontainers.image.ref.name": "latest"}
    assert descriptor["platform"] == {"architecture": goarch(), "os": "linux"}
    manifest_bytes = files["blobs/sha256/" + descriptor["digest"].removeprefix("sha256:")]
    assert descriptor["size"] == len(manifest_bytes)
    manifest = json.loads(manifest_bytes)
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["config"]["digest"] == image_id
    assert ["blobs/sha256/" + layer["digest"].removeprefix("sha256:")
            for layer in manifest["layers"]] == entry["Layers"]
    assert {layer["mediaType"] for layer in manifest["layers"]} == {
        "application/vnd.oci.image.layer.v1.tar"}
    assert all(layer["size"] == len(files[name])
               for layer, name in zip(manifest["layers"], entry["Layers"]))


def test_the_config_adds_platform_rootfs_and_history():
    archive, image_id = write(created_by=["COPY --from=build /etc/ssl/certs /etc/ssl/certs",
                                          "COPY --from=build /out/server /server"])
    files = members(archive)
    config = json.loads(files["blobs/sha256/" + image_id.removeprefix("sha256:")])
    layers = json.loads(files["manifest.json"])[0]["Layers"]
    assert config["architecture"] == goarch() in ("amd64", "arm64", "386", "arm",
                                                             "ppc64le", "s390x", "riscv64")
    assert config["os"] == "linux" and config["created"] == CREATED == "1970-01-01T00:00:00Z"
    assert config["rootfs"] == {"type": "layers", "diff_ids": [
        "sha256:" + hashlib.sha256(files[name]).hexdigest() for name in layers]}
    assert [h["created_by"] for h in config["history"]][1] == \
        "COPY --from=build /out/server /server"
    assert config["config"] == {k: v for k, v in RUN_CONFIG.items() if v is not None}
    assert files["blobs/sha256/" + image_id.removeprefix("sha256:")] == json.dumps(
        config, sort_keys=True, separators=(",", ":")).encode()


def test_default_history_and_architecture_override():
    archive, image_id = write(architecture="arm64")
    config = json.loads(members(archive)["blobs/sha256/" + image_id.removeprefix("sha256:")])
    assert config["architecture"] == "arm64"
    assert [h["created_by"] for h in config["history"]] == [
        "engine-less build: layer 1", "engine-less build: layer 2"]


def test_a_repeated_layer_is_stored_once():
    layer = [FileEntry("/same", data=b"x")]
    archive, _ = write([layer, list(layer)])
    files = members(archive)
    layers = json.loads(files["manifest.json"])[0]["Layers"]
    assert len(layers) == 2 and layers[0] == layers[1]
    assert sum(name.startswith("blobs/sha256/") for name in files) == 1 + 2  # + config, manifest
    assert len(read_export([archive]).layers) == 2


def test_an_empty_layer_is_the_tar_docker_writes():
    """Two zero blocks and nothing more, as Go's archive/tar ends a tar: the diff_id of
    every empty layer Docker has built."""
    archive, _ = write([[FileEntry("/a", data=b"1")], []])
    layers = json.loads(members(archive)["manifest.json"])[0]["Layers"]
    assert layers[1] == ("blobs/sha256/"
                         "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef")


# --- what the kit's reader and tar see ------------------------------------------------------

def test_the_kit_reader_reads_it():
    archive, _image_id = write()
    export = read_export(archive[i:i + 1000] for i in range(0, len(archive), 1000))
    assert export.layout == "oci"  # both are present; the reader takes manifest.json
    assert export.compression == {"tar": 2}
    assert export.config["rootfs"]["diff_ids"][0].startswith("sha256:")
    files, wasted = merge(export.layers)
    assert wasted == [0, 0]
    assert sorted((path, size, layer) for path, size, layer in files) == [
        ("/app/a-hardlink", 0, 2), ("/app/link", 0, 2), ("/app/z-target", 12, 2),
        ("/etc/ssl/certs/ca-certificates.crt", 28, 1), ("/server", 604, 2)]
    assert export.layers[0].dirs == {"/etc", "/etc/ssl", "/etc/ssl/certs"}
    assert export.layers[1].dirs == {"/app", "/data"}


def test_modes_owners_and_links_round_trip():
    archive, _ = write()
    files = members(archive)
    second = files[json.loads(files["manifest.json"])[0]["Layers"][1]]
    infos = layer_members(second)
    by_name = {info.name: info for info in infos}
    expected = {entry.path.lstrip("/"): entry for entry in sample_layers()[1]}
    for name, entry in expected.items():
        info = by_name[name]
        if entry.kind == "hardlink":  # one inode: the target's mode and owner
            entry = expected[entry.linkname.lstrip("/")]
        assert (info.mode, info.uid, info.gid) == (entry.mode, entry.uid, entry.gid), name
        assert info.size == (0 if info.islnk() else entry.size)
    assert by_name["app/link"].issym() and by_name["app/link"].linkname == "../server"
    assert by_name["app/a-hardlink"].islnk()
    assert by_name["app/a-hardlink"].linkname == "app/z-target"
    assert by_name["data"].isdir() and by_name["app"].mode == 0o755  # added parent
    names = [info.name for info in infos]
    assert names[-1] == "app/a-hardlink"  # after its target, though it sorts before it
    assert names.index("app") < names.index("app/link")


def test_the_layer_extracts_with_tar(tmp_path):
    archive, _ = write()
    files = members(archive)
    for name in json.loads(files["manifest.json"])[0]["Layers"]:
        with tarfile.open(fileobj=io.BytesIO(files[name])) as tar:
            tar.extractall(tmp_path, filter="tar")
    assert (tmp_path / "app/link").resolve() == (tmp_path / "server").resolve()
    assert (tmp_path / "app/a-hardlink").read_bytes() == b"target bytes"
    assert (tmp_path / "app/a-hardlink").stat().st_ino == (tmp_path / "app/z-target").stat().st_ino


def test_long_and_non_ascii_names_round_trip():
    deep = "/" + "/".join(["d" * 60] * 3) + "/é-file.txt"
    archive, _ = write([[FileEntry(deep, data=b"abc")]])
    files, _ = merge(read_export([archive]).layers)
    assert (deep, 3, 1) in files


def test_paths_are_normalised_and_the_root_left_out():
    archive, _ = write([[FileEntry("/", "dir"), FileEntry("//srv/./x/../y", data=b"1")]])
    files = members(archive)
    blob = files[json.loads(files["manifest.json"])[0]["Layers"][0]]
    assert [info.name for info in layer_members(blob)] == ["srv", "srv/y"]


def test_a_large_source_is_streamed_not_held(tmp_path):
    source = tmp_path / "big.bin"
    with source.open("wb") as handle:
        for index in range(30):
            handle.write(bytes([index]) * MB)
    target = tmp_path / "image.tar"
    tracemalloc.start()
    try:
        with target.open("wb") as out:
            write_image([[FileEntry("/big.bin", source=source)]], {}, out, "big")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 6 * MB, f"peak {peak / MB:.1f} MB while writing a 30 MB file"

    def chunks():
        with target.open("rb") as handle:
            while chunk := handle.read(MB):
                yield chunk
    files, _ = merge(read_export(chunks()).layers)
    assert files == [("/big.bin", 30 * MB, 1)]


# --- errors ----------------------------------------------------------------------------------

class ChangesSource(io.BytesIO):
    """An output whose first write (second pass) rewrites the source file."""

    def __init__(self, source, new: bytes) -> None:
        super().__init__()
        self.source, self.new = source, new

    def write(self, data) -> int:
        if self.new is not None:
            self.source.write_bytes(self.new)
            self.new = None
        return super().write(data)


@pytest.mark.parametrize("new", [b"same size, other bytes!", b"longer than it was before!!"])
def test_a_source_changed_during_the_write_is_an_error(tmp_path, new):
    source = tmp_path / "file"
    source.write_bytes(b"the bytes measured first")
    with pytest.raises(ImageWriteError, match="changed"):
        write_image([[FileEntry("/file", source=source)]], {}, ChangesSource(source, new), "x")


def test_a_missing_source_is_an_error(tmp_path):
    with pytest.raises(ImageWriteError, match="cannot read"):
        write([[FileEntry("/file", source=tmp_path / "nope")]])


def test_a_file_known_only_by_its_length_is_refused_before_writing():
    """A base-image file whose bytes were not recorded counts in sizes but cannot be stored."""
    entry = FileEntry("/usr/local/go/bin/go", mode=0o755, length=12_688_957)
    assert entry.size == 12_688_957 and not entry.has_bytes
    out = io.BytesIO()
    with pytest.raises(ImageWriteError, match="/usr/local/go/bin/go: its bytes are not "
                                              "recorded"):
        write_image([[FileEntry("/a", data=b"1"), entry]], {}, out, "x")
    assert out.getvalue() == b""


def test_has_bytes_and_length_rules(tmp_path):
    assert FileEntry("/a", data=b"").has_bytes
    assert FileEntry("/a", source=tmp_path / "a").has_bytes
    assert not FileEntry("/d", "dir").has_bytes and FileEntry("/a").size == 0
    for bad in ({"data": b"x", "length": 1}, {"kind": "dir", "length": 0}, {"length": -1}):
        with pytest.raises(ValueError, match="length"):
            FileEntry("/a", **bad)


@pytest.mark.parametrize("layers, options, match", [
    ([], {}, "at least one layer"),
    ([[FileEntry("/a", data=b"1"), FileEntry("/a/", data=b"2")]], {}, "twice"),
    ([[FileEntry("/a", data=b"1"), FileEntry("/a/b", data=b"2")]], {}, "not a folder"),
    ([[FileEntry("/l", "hardlink", linkname="/missing")]], {}, "hard link"),
    ([[FileEntry("/d", "dir"), FileEntry("/l", "hardlink", linkname="/d")]], {}, "hard link"),
    ([[FileEntry("/a", data=b"1")]], {"created_by": ["one", "two"]}, "one text per layer"),
    ([[FileEntry("/a", data=b"1")]], {"tag": "Web:1"}, "not a valid image name"),
    ([[FileEntry("/a", data=b"1")]], {"tag": "web@sha256:00"}, "not a digest"),
])
def test_invalid_inputs_are_refused(layers, options, match):
    with pytest.raises(ValueError, match=match):
        write(layers, **options)


@pytest.mark.parametrize("name, expected", [
    ("web", ("web:latest", "docker.io/library/web:latest", "latest")),
    ("itest-exercise2-engineless:v1.2",
     ("itest-exercise2-engineless:v1.2", "docker.io/library/itest-exercise2-engineless:v1.2",
      "v1.2")),
    ("alice/web", ("alice/web:latest", "docker.io/alice/web:latest", "latest")),
    ("docker.io/library/web:2", ("web:2", "docker.io/library/web:2", "2")),
    ("localhost:5000/web", ("localhost:5000/web:latest", "localhost:5000/web:latest",
                            "latest")),
    ("ghcr.io/o/web:x", ("ghcr.io/o/web:x", "ghcr.io/o/web:x", "x")),
])
def test_references_are_named_as_docker_names_them(name, expected):
    assert _reference(name) == expected


# --- stability across processes and machines -------------------------------------------------

STABILITY_SCRIPT = """
import hashlib, io, sys
sys.path.insert(0, sys.argv[1])
from tests.unit.build.engineless.test_writer import RUN_CONFIG, sample_layers
from helpers.build.engineless.writer import write_image
out = io.BytesIO()
image_id = write_image(sample_layers(), RUN_CONFIG, out, "web:1", architecture="amd64")
print(image_id, hashlib.sha256(out.getvalue()).hexdigest())
"""

#: The id of the sample image for amd64. It changes only if the archive format changes
#: (tar headers, JSON, layout): update it then, knowingly -- every learner's image id moves.
PINNED_ID = "sha256:934a5a1e6cfd67d1564ed317ef52124879f8aae423d1b1210efc40264bbe21bf"


def test_the_bytes_do_not_depend_on_the_process(tmp_path):
    import subprocess
    import sys

    from helpers.config import REPO_ROOT
    results = set()
    for seed in ("0", "12345"):
        done = subprocess.run([sys.executable, "-c", STABILITY_SCRIPT, str(REPO_ROOT)],
                              capture_output=True, text=True, check=True, timeout=60,
                              env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
                              cwd=tmp_path)
        results.add(done.stdout.strip())
    archive, image_id = write(architecture="amd64")
    assert results == {f"{image_id} {hashlib.sha256(archive).hexdigest()}"}
    assert image_id == PINNED_ID
