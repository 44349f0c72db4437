"""The base images on the engine: layered like the official ones, labelled when stand-ins.

``scripts/base-images.sh ensure`` (``make base-images``) reuses pulled images and builds
offline stand-ins otherwise: ``golang:1.22`` in docker-library's layers on a ``debian:
bookworm`` minbase, and ``gcr.io/distroless/static-debian12`` (``:latest``, ``:nonroot``)
from Debian's packages. These tests read the images on the live engine; the last one runs
the script's replace-an-outdated-stand-in path for real, on a distroless repository of its
own (about 15 s: one container that unpacks Debian packages).
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile

import docker.errors
import pytest

from helpers.config import REPO_ROOT, STAND_IN_LABEL
from helpers.image.certs import parse_ca_bundle

GOLANG = "golang:1.22"
DISTROLESS = "gcr.io/distroless/static-debian12"
VERSION_LABEL = "com.multistage-kit.stand-in-version"
SCRIPT = REPO_ROOT / "scripts" / "base-images.sh"


def labels(image) -> dict:
    return image.attrs["Config"].get("Labels") or {}


def stand_in_or_skip(image, what: str) -> dict:
    """The image's labels; skip when it came from a registry (nothing of ours to check)."""
    found = labels(image)
    if STAND_IN_LABEL not in found:
        pytest.skip(f"{what} on this engine was pulled from a registry, not a stand-in")
    return found


def filesystem(client, ref: str) -> dict[str, tarfile.TarInfo | bytes]:
    """Path -> TarInfo of every member of the image's filesystem, and path -> bytes for
    the small files (under 2 MB), from a container that is created, exported and removed."""
    container = client.containers.create(ref, command=["/nothing"])
    try:
        data = b"".join(container.export())
    finally:
        container.remove(force=True)
    found: dict = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive:
            path = "/" + member.name.lstrip("./").rstrip("/")
            found[path] = member
            if member.isfile() and member.size < 2_000_000:
                found[path + "#bytes"] = archive.extractfile(member).read()
    return found


@pytest.fixture(scope="module")
def golang(client):
    return client.images.get(GOLANG)


@pytest.fixture(scope="module")
def distroless_files(client):
    return filesystem(client, f"{DISTROLESS}:latest")


def test_golang_has_the_official_layering(golang):
    layers = golang.attrs["RootFS"]["Layers"]
    assert len(layers) >= 6, f"{GOLANG} has {len(layers)} layer(s): run scripts/base-images.sh"
    history = [h.get("CreatedBy", "") for h in golang.history()]
    made = "\n".join(history)
    for package in ("curl", "mercurial", "g++", "pkg-config"):  # buildpack-deps, golang
        assert package in made
    assert any("/usr/local/go" in line for line in history)
    assert any('mkdir -p "$GOPATH/src" "$GOPATH/bin"' in line for line in history)
    # docker-library sizes: ~814 MB for golang:1.22-bookworm; within 10 %
    assert 733e6 <= golang.attrs["Size"] <= 895e6


def test_golang_has_the_official_run_config(golang):
    config = golang.attrs["Config"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["PATH"].startswith("/go/bin:/usr/local/go/bin:")
    assert env["GOPATH"] == "/go" and env["GOTOOLCHAIN"] == "local"
    assert env["GOLANG_VERSION"].startswith("1.22.")
    assert config["WorkingDir"] == "/go" and config["Cmd"] == ["bash"]


def test_golang_stand_in_is_labelled_with_its_version(golang):
    found = stand_in_or_skip(golang, GOLANG)
    assert "offline stand-in for golang:1.22" in found[STAND_IN_LABEL]
    assert int(found[VERSION_LABEL]) >= 2


def test_debian_stand_in_is_the_first_layer_of_golang(client, golang):
    stand_in_or_skip(golang, GOLANG)
    debian = client.images.get("debian:bookworm")
    assert STAND_IN_LABEL in labels(debian) and labels(debian)[VERSION_LABEL]
    assert debian.attrs["RootFS"]["Layers"] == golang.attrs["RootFS"]["Layers"][:1]


def test_distroless_tags_are_labelled_stand_ins_with_distroless_config(client):
    latest = client.images.get(f"{DISTROLESS}:latest")
    nonroot = client.images.get(f"{DISTROLESS}:nonroot")
    stand_in_or_skip(latest, DISTROLESS)
    assert "offline stand-in for gcr.io/distroless/static-debian12" in labels(latest)[
        STAND_IN_LABEL]
    assert labels(nonroot)[STAND_IN_LABEL] == labels(latest)[STAND_IN_LABEL]
    for image in (latest, nonroot):
        env = image.attrs["Config"]["Env"]
        assert "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" in env
        assert image.attrs["Config"].get("Entrypoint") is None
    assert latest.attrs["Config"]["User"] in ("", "0")
    assert nonroot.attrs["Config"]["User"] == "65532"
    assert nonroot.attrs["Config"]["WorkingDir"] == "/home/nonroot"
    assert latest.attrs["RootFS"]["Layers"] == nonroot.attrs["RootFS"]["Layers"]
    assert latest.attrs["Size"] < 5_000_000  # distroless static: ~2 MB


def test_distroless_users_groups_and_folders(client, distroless_files):
    stand_in_or_skip(client.images.get(f"{DISTROLESS}:latest"), DISTROLESS)
    files = distroless_files
    assert files["/etc/passwd#bytes"].decode().splitlines() == [
        "root:x:0:0:root:/root:/sbin/nologin",
        "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin",
        "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin"]
    groups = {line.split(":")[0]: line.split(":")[2]
              for line in files["/etc/group#bytes"].decode().splitlines()}
    assert groups["root"] == "0" and groups["nobody"] == "65534" and groups["nonroot"] == "65532"
    tmp, home, root = files["/tmp"], files["/home/nonroot"], files["/root"]
    assert tmp.isdir() and tmp.mode & 0o7777 == 0o1777
    assert home.isdir() and (home.uid, home.gid, home.mode & 0o777) == (65532, 65532, 0o700)
    assert root.isdir() and root.mode & 0o777 == 0o700
    # no shell, no libc, no package manager
    for absent in ("/bin/sh", "/usr/bin/sh", "/bin/bash", "/usr/bin/dpkg", "/usr/bin/apt"):
        assert absent not in files
    assert not [p for p in files if "/libc.so" in p]


def test_distroless_files_of_its_debian_packages(client, distroless_files):
    stand_in_or_skip(client.images.get(f"{DISTROLESS}:latest"), DISTROLESS)
    files = distroless_files
    release = files["/etc/os-release#bytes"].decode()
    assert 'VERSION="Debian GNU/Linux 12 (bookworm)"' in release
    assert files["/etc/debian_version#bytes"].startswith(b"12.")            # base-files
    assert b"http\t\t80/tcp" in files["/etc/services#bytes"]                # netbase
    assert files["/usr/share/zoneinfo/Etc/UTC#bytes"].startswith(b"TZif")   # tzdata
    assert files["/usr/share/zoneinfo/UTC"].issym()
    assert files["/usr/share/zoneinfo/Europe/Paris#bytes"].startswith(b"TZif")
    assert files["/etc/nsswitch.conf#bytes"] == b"hosts: files dns\n"
    bundle = parse_ca_bundle(files["/etc/ssl/certs/ca-certificates.crt#bytes"],
                             "/etc/ssl/certs/ca-certificates.crt")
    assert bundle.certificates > 100 and bundle.invalid_blocks == 0
    assert "/usr/share/doc/ca-certificates/copyright" in files
    for package in ("base-files", "netbase", "tzdata", "ca-certificates"):
        assert files[f"/var/lib/dpkg/status.d/{package}#bytes"].startswith(
            f"Package: {package}\n".encode())


# ---- the script's own logic, for real ---------------------------------------------------------
def _import_tiny(client, tag: str, stand_in: bool) -> str:
    """A one-file image tagged ``tag``; a version-less stand-in (as version 1 was) or, without
    the label, one that stands for a pulled image. Returns its id."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("old")
        archive.addfile(info, io.BytesIO(b""))
    changes = [f'LABEL {STAND_IN_LABEL}="test: version 1"'] if stand_in else []
    repo, name = tag.rsplit(":", 1)
    client.api.import_image_from_data(buffer.getvalue(), repository=repo, tag=name,
                                      changes=changes)
    return client.images.get(tag).id


@pytest.fixture
def own_distroless(client):
    """A distroless repository of this test alone; everything under it removed after."""
    repo = f"kit-{os.getpid()}-test/static-debian12"
    yield repo
    for image in client.images.list(name=repo):
        for tag in image.tags:
            try:
                client.images.remove(tag, force=True)
            except docker.errors.APIError:
                pass


def test_ensure_replaces_an_outdated_stand_in_and_keeps_a_pulled_image(client, own_distroless):
    outdated = _import_tiny(client, f"{own_distroless}:latest", stand_in=True)
    pulled = _import_tiny(client, f"{own_distroless}:nonroot", stand_in=False)
    done = subprocess.run([str(SCRIPT), "ensure"], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "DISTROLESS_REPO": own_distroless,
                               "PULL_TIMEOUT": "10"})
    assert done.returncode == 0, done.stderr[-2000:]
    latest = client.images.get(f"{own_distroless}:latest")
    assert latest.id != outdated and labels(latest)[VERSION_LABEL] == "2"
    assert client.images.get(f"{own_distroless}:nonroot").id == pulled  # never replaced
    assert f"{own_distroless}:nonroot is from a registry: kept" in done.stderr
    with pytest.raises(docker.errors.ImageNotFound):  # the outdated one is gone...
        client.images.get(outdated)
    leftovers = [tag for image in client.images.list(name=own_distroless)
                 for tag in image.tags if "-kit-build-" in tag]
    assert leftovers == []                               # ...and so are the temporary tags
    # a second run finds everything in place and builds nothing
    again = subprocess.run([str(SCRIPT), "ensure"], capture_output=True, text=True,
                           timeout=120, env={**os.environ, "DISTROLESS_REPO": own_distroless})
    assert again.returncode == 0 and "building" not in again.stderr, again.stderr
