"""An archive of the engine-less writer, loaded by the real engine (``docker load``)."""

from __future__ import annotations

import io
import json
import tarfile

import docker.errors

from helpers.build.engineless.entries import FileEntry
from helpers.build.engineless.writer import write_image
from helpers.config import image_tag


def manifest_digest(archive: bytes) -> str:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        index = json.load(tar.extractfile("index.json"))
    return index["manifests"][0]["digest"]


def named(image, tag: str) -> bool:
    """Docker lists ``name:tag``; Podman may list the full ``docker.io/library/name:tag``."""
    return bool({tag, f"docker.io/library/{tag}"} & set(image.tags))


def test_the_engine_loads_a_two_layer_engineless_image(client):
    tag = image_tag("engineless-load") + ":test"
    layers = [
        [FileEntry("/etc/motd", data=b"written without an engine\n")],
        [FileEntry("/motd", "symlink", 0o777, linkname="etc/motd")],
    ]
    archive = io.BytesIO()
    image_id = write_image(layers, {"Cmd": ["/motd"], "Labels": {"course": "itest"}},
                           archive, tag, created_by=["COPY motd /etc/motd",
                                                     "RUN ln -s etc/motd /motd"])
    archive.seek(0)
    try:
        loaded = client.images.load(archive)
        assert any(named(image, tag) for image in loaded), [i.tags for i in loaded]
        image = client.images.get(tag)
        assert named(image, tag), image.tags
        assert len(image.attrs["RootFS"]["Layers"]) == 2
        assert image.attrs["Config"]["Cmd"] == ["/motd"]
        assert image.attrs["Config"]["Labels"]["course"] == "itest"
        # the classic store's id is the config digest; the containerd store's, the digest
        # of the manifest index.json names
        assert image.id in (image_id, manifest_digest(archive.getvalue()))
    finally:
        try:
            client.images.remove(tag, force=True)
        except docker.errors.ImageNotFound:
            pass
