"""helpers.image.files against a fake container: read_file's tar handling, symlinks, limits
and clean-up, and find_ca_bundle's search in Go's order."""

from __future__ import annotations

import io
import tarfile

import pytest
from docker.errors import APIError, ImageNotFound, NotFound

from helpers.config import MANAGED_LABEL
from helpers.errors import KitError
from helpers.image.certs import GO_CERT_FILES, CaBundle
from helpers.image.files import find_ca_bundle, read_file


def _tar_of(name: str, entry) -> bytes:
    """A tar like the engine's archive endpoint sends: one member named after the path."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo(name)
        kind, value = entry
        if kind == "file":
            info.size = len(value)
            archive.addfile(info, io.BytesIO(value))
        elif kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, value
            archive.addfile(info)
        else:
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
    return buffer.getvalue()


class ArchiveContainer:
    """A created container whose filesystem is ``{path: ("file"|"symlink"|"dir", value)}``."""

    def __init__(self, tree, fail_with=None):
        self.tree = tree
        self.fail_with = fail_with
        self.asked: list[str] = []
        self.removed = False
        self.started = False

    def get_archive(self, path):
        self.asked.append(path)
        if self.fail_with is not None:
            raise self.fail_with
        if path not in self.tree:
            raise NotFound(f"Could not find the file {path} in container")
        kind, value = self.tree[path]
        stat = {"name": path.rsplit("/", 1)[-1],
                "size": len(value) if kind == "file" else 0,
                "mode": 0o644 | (1 << 27 if kind == "symlink" else 0),
                "linkTarget": value if kind == "symlink" else ""}
        data = _tar_of(path.rsplit("/", 1)[-1], self.tree[path])
        return iter([data[:700], data[700:]]), stat  # in two chunks, as a stream comes

    def start(self):
        self.started = True

    def remove(self, force=False):
        assert force
        self.removed = True


class ArchiveContainers:
    def __init__(self, container):
        self.container = container
        self.create_calls: list[tuple[str, dict]] = []

    def create(self, image, **kwargs):
        self.create_calls.append((image, kwargs))
        if image == "missing":
            raise ImageNotFound("no such image")
        return self.container


class ArchiveClient:
    def __init__(self, tree, fail_with=None):
        self.containers = ArchiveContainers(ArchiveContainer(tree, fail_with))

    @property
    def container(self):
        return self.containers.container


BINARY = bytes(range(256)) * 4000  # ~1 MB, spans many tar blocks and chunks
TREE = {
    "/server": ("file", BINARY),
    "/etc/ssl/certs/ca-certificates.crt": ("file", b"PEM"),
    "/etc/ssl/cert.pem": ("symlink", "certs/ca-certificates.crt"),
    "/etc/abs.pem": ("symlink", "/etc/ssl/certs/ca-certificates.crt"),
    "/etc/dangling": ("symlink", "nowhere"),
    "/etc/chain": ("symlink", "abs.pem"),
    "/etc/ssl/certs": ("dir", None),
}


def test_read_file_returns_the_bytes_and_removes_the_container():
    client = ArchiveClient(TREE)
    assert read_file(client, "img", "/server") == BINARY
    image, kwargs = client.containers.create_calls[0]
    assert image == "img"
    assert kwargs["labels"][MANAGED_LABEL] == "true"
    assert kwargs["entrypoint"]  # overridden: an image without a command can be created
    assert client.container.removed and not client.container.started


@pytest.mark.parametrize("path, asked", [
    ("/etc/ssl/cert.pem", ["/etc/ssl/cert.pem", "/etc/ssl/certs/ca-certificates.crt"]),
    ("/etc/abs.pem", ["/etc/abs.pem", "/etc/ssl/certs/ca-certificates.crt"]),
])
def test_read_file_follows_one_symlink(path, asked):
    client = ArchiveClient(TREE)
    assert read_file(client, "img", path) == b"PEM"
    assert client.container.asked == asked
    assert client.container.removed


def test_read_file_does_not_follow_a_chain_of_links():
    client = ArchiveClient(TREE)
    assert read_file(client, "img", "/etc/chain") is None
    assert client.container.asked == ["/etc/chain", "/etc/abs.pem"]


@pytest.mark.parametrize("path", ["/missing", "/etc/dangling"])
def test_read_file_missing_path_is_none(path):
    client = ArchiveClient(TREE)
    assert read_file(client, "img", path) is None
    assert client.container.removed


@pytest.mark.parametrize("error, raised", [
    (APIError("engine broke"), KitError),  # an engine error becomes a KitError with a hint
    (KeyboardInterrupt(), KeyboardInterrupt),  # Ctrl-C in a notebook
])
def test_read_file_removes_the_container_when_get_archive_raises(error, raised):
    client = ArchiveClient(TREE, fail_with=error)
    with pytest.raises(raised):
        read_file(client, "img", "/server")
    assert client.container.removed


def test_read_file_too_big():
    client = ArchiveClient(TREE)
    with pytest.raises(KitError, match="more than the 1,000 bytes"):
        read_file(client, "img", "/server", max_bytes=1000)
    assert client.container.removed


def test_read_file_too_big_seen_in_the_tar_when_stat_lies():
    client = ArchiveClient(TREE)
    original = client.container.get_archive

    def no_stat(path):
        chunks, _ = original(path)
        return chunks, None
    client.container.get_archive = no_stat
    with pytest.raises(KitError, match="more than"):
        read_file(client, "img", "/server", max_bytes=1000)
    assert client.container.removed


def test_read_file_directory_is_an_error():
    client = ArchiveClient(TREE)
    with pytest.raises(KitError, match="directory"):
        read_file(client, "img", "/etc/ssl/certs")
    assert client.container.removed


def test_read_file_missing_image():
    client = ArchiveClient(TREE)
    with pytest.raises(KitError, match="no image 'missing'"):
        read_file(client, "missing", "/server")


def test_find_ca_bundle_with_file_list_fetches_only_the_first_existing(system_bundle):
    fedora = {"/etc/pki/tls/certs/ca-bundle.crt":
              ("symlink", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"),
              "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem": ("file", system_bundle),
              "/etc/ssl/cert.pem": ("file", b"")}
    client = ArchiveClient(fedora)
    bundle = find_ca_bundle(client, "img", files=set(fedora))
    assert bundle.path == "/etc/pki/tls/certs/ca-bundle.crt"
    assert bundle.checked_paths == list(GO_CERT_FILES[:2])
    assert bundle.certificates == system_bundle.count(b"-----BEGIN CERTIFICATE-----")
    assert bundle.size_bytes == len(system_bundle)
    assert client.container.asked == ["/etc/pki/tls/certs/ca-bundle.crt",
                                      "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"]
    assert len(client.containers.create_calls) == 1 and client.container.removed


def test_find_ca_bundle_without_file_list_asks_in_go_order():
    client = ArchiveClient({"/etc/ssl/cert.pem": ("file", b"")})
    bundle = find_ca_bundle(client, "img")
    assert bundle.path == "/etc/ssl/cert.pem" and bundle.certificates == 0
    assert client.container.asked == list(GO_CERT_FILES)
    assert len(client.containers.create_calls) == 1 and client.container.removed


def test_find_ca_bundle_none():
    client = ArchiveClient({"/server": ("file", b"x")})
    bundle = find_ca_bundle(client, "img", files={"/server"})
    assert bundle == CaBundle(None, 0, 0, 0, list(GO_CERT_FILES), 0)
    assert client.containers.create_calls == []  # nothing to fetch: no container at all
