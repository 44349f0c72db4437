"""The export reader on synthetic archives in every engine's layout (no engine needed).

Docker <= 24 writes ``<id>/layer.tar``; Docker >= 25 an OCI layout whose layer blobs the
containerd store compresses (gzip, or zstd); Podman ``<digest>.tar`` with ``<id>/layer.tar``
links. The same image must give the same tables in each.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest
import zstandard

from helpers.image.archive import ArchiveError, merge, read_export

from .test_breakdown import add_bytes, layer_tar

LAYERS = [
    layer_tar([("dir", "etc"), ("file", "etc/a", 100), ("link", "etc/a-link", "etc/a"),
               ("sym", "etc/s", "a")]),
    layer_tar([("dir", "etc"), ("file", "etc/.wh.a", 0), ("file", "server", 4000)]),
]
CONFIG = json.dumps({"history": [{"created_by": "one"}, {"created_by": "two"}]}).encode()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunks_of(archive: bytes, size: int = 777):
    return (archive[i:i + size] for i in range(0, len(archive), size))


def tar_of(members) -> bytes:
    """An outer archive from ``(name, bytes)`` files and ``(name, "->", target, kind)`` links."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for member in members:
            if len(member) == 4:
                name, _, target, kind = member
                info = tarfile.TarInfo(name)
                info.type = tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE
                info.linkname = target
                tar.addfile(info)
            else:
                add_bytes(tar, *member)
    return buf.getvalue()


def oci_archive(compress=lambda data: data, with_manifest_json=True, platforms=None) -> bytes:
    """An OCI layout as Docker >= 25 writes it; ``compress`` is applied to each layer blob."""
    blobs = [compress(layer) for layer in LAYERS]
    manifest = json.dumps({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"digest": f"sha256:{sha(CONFIG)}"},
        "layers": [{"digest": f"sha256:{sha(blob)}"} for blob in blobs]}).encode()
    members = [(f"blobs/sha256/{sha(blob)}", blob) for blob in blobs]
    members += [(f"blobs/sha256/{sha(CONFIG)}", CONFIG), (f"blobs/sha256/{sha(manifest)}",
                                                          manifest)]
    top = {"digest": f"sha256:{sha(manifest)}",
           "platform": {"architecture": "amd64", "os": "linux"}}
    if platforms:  # an image index: another platform and an attestation first
        other = json.dumps({"config": {"digest": "sha256:" + "0" * 64}, "layers": []}).encode()
        index = json.dumps({
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {"digest": f"sha256:{sha(other)}",
                 "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
                {"digest": f"sha256:{sha(other)}",
                 "platform": {"architecture": "arm64", "os": "linux"}},
                top]}).encode()
        members += [(f"blobs/sha256/{sha(other)}", other), (f"blobs/sha256/{sha(index)}", index)]
        top = {"digest": f"sha256:{sha(index)}",
               "mediaType": "application/vnd.oci.image.index.v1+json"}
    members.append(("index.json", json.dumps({"manifests": [top]}).encode()))
    members.append(("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'))
    if with_manifest_json:
        members.append(("manifest.json", json.dumps([{
            "Config": f"blobs/sha256/{sha(CONFIG)}",
            "Layers": [f"blobs/sha256/{sha(blob)}" for blob in blobs]}]).encode()))
    return tar_of(members)


def podman_archive(link_kind: str) -> bytes:
    """Podman's docker-archive: ``<digest>.tar`` at the top, ``<id>/layer.tar`` links to it."""
    members, names = [], []
    for number, layer in enumerate(LAYERS):
        members.append((f"{sha(layer)}.tar", layer))
        layer_id = sha(b"id%d" % number)
        target = f"../{sha(layer)}.tar" if link_kind == "sym" else f"{sha(layer)}.tar"
        members.append((f"{layer_id}/layer.tar", "->", target, link_kind))
        names.append(f"{layer_id}/layer.tar")
    members.append((f"{sha(CONFIG)}.json", CONFIG))
    members.append(("manifest.json", json.dumps([{"Config": f"{sha(CONFIG)}.json",
                                                  "Layers": names}]).encode()))
    return tar_of(members)


def files_of(export):
    final, _ = merge(export.layers)
    return sorted(final)


EXPECTED = [("/etc/s", 0, 1), ("/server", 4000, 2)]  # /etc/a deleted, its link survives
EXPECTED_LINK = ("/etc/a-link", 0, 1)


@pytest.mark.parametrize("layout", ["oci-plain", "oci-gzip", "oci-zstd", "oci-index-only",
                                    "oci-multi-platform", "podman-sym", "podman-hard"])
def test_every_layout_gives_the_same_tables(layout):
    archive = {
        "oci-plain": lambda: oci_archive(),
        "oci-gzip": lambda: oci_archive(gzip.compress),
        "oci-zstd": lambda: oci_archive(zstandard.ZstdCompressor().compress),
        "oci-index-only": lambda: oci_archive(gzip.compress, with_manifest_json=False),
        "oci-multi-platform": lambda: oci_archive(gzip.compress, with_manifest_json=False,
                                                  platforms=True),
        "podman-sym": lambda: podman_archive("sym"),
        "podman-hard": lambda: podman_archive("hard"),
    }[layout]()
    export = read_export(chunks_of(archive), architecture="amd64")
    assert files_of(export) == sorted(EXPECTED + [EXPECTED_LINK])
    assert [sum(t.files.values()) for t in export.layers] == [100, 4000]
    assert export.config["history"][1]["created_by"] == "two"
    expected_kind = {"oci-gzip": "gzip", "oci-index-only": "gzip", "oci-multi-platform": "gzip",
                     "oci-zstd": "zstd"}.get(layout, "tar")
    assert export.compression == {expected_kind: 2}
    assert export.layout == ("podman" if layout.startswith("podman") else "oci")


def test_big_compressed_layer_streams_in_bounded_pieces():
    """A layer of 40 MB of zeros compresses to ~40 kB: it must inflate piecewise."""
    big = layer_tar([("file", "zeros", 40_000_000)])
    layer = gzip.compress(big, compresslevel=1)
    archive = tar_of([("blobs/sha256/" + sha(layer), layer),
                      ("manifest.json", json.dumps([{"Layers": ["blobs/sha256/" + sha(layer)]}])
                       .encode())])
    export = read_export(chunks_of(archive, 1 << 16))
    assert export.layers[0].files == {"/zeros": 40_000_000}


def test_multi_member_gzip():
    first, second = LAYERS[0][:1024], LAYERS[0][1024:]
    layer = gzip.compress(first) + gzip.compress(second)
    archive = tar_of([("l.tar.gz", layer), ("manifest.json", b'[{"Layers": ["l.tar.gz"]}]')])
    assert read_export(chunks_of(archive)).layers[0].files["/etc/a"] == 100


def test_missing_layer_is_an_error_not_an_empty_image():
    archive = tar_of([("manifest.json", b'[{"Layers": ["abc/layer.tar"]}]')])
    with pytest.raises(ArchiveError, match="abc/layer.tar"):
        read_export(chunks_of(archive))


def test_damaged_gzip_layer_is_an_error():
    layer = bytearray(gzip.compress(LAYERS[0]))
    layer[20:40] = b"\xff" * 20
    archive = tar_of([("blobs/sha256/x", bytes(layer)),
                      ("manifest.json", b'[{"Layers": ["blobs/sha256/x"]}]')])
    with pytest.raises(ArchiveError, match="gzip"):
        read_export(chunks_of(archive))


def test_no_manifest_at_all():
    with pytest.raises(ArchiveError, match="neither manifest.json nor index.json"):
        read_export(chunks_of(tar_of([("x", b"hello")])))


def test_empty_layer_reads_as_an_empty_table():
    """``RUN true`` makes a layer that is only the two end-of-archive blocks."""
    empty = bytes(1024)
    archive = tar_of([("a/layer.tar", LAYERS[0]), ("b/layer.tar", empty),
                      ("manifest.json", b'[{"Layers": ["a/layer.tar", "b/layer.tar"]}]')])
    export = read_export(chunks_of(archive))
    assert len(export.layers) == 2 and export.layers[1].files == {}
    assert export.layers[0].files["/etc/a"] == 100
