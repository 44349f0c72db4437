"""The docker CLI the kit can use for BuildKit builds, found once per process.

The docker SDK for Python only drives the classic builder (docker-py issue 2230). BuildKit is
reached through a docker CLI instead: ``docker buildx build --load`` where the buildx plugin
exists, else a client older than 23 whose ``docker build`` still honours
``DOCKER_BUILDKIT=1``. Finding that CLI is a fact about this machine, so it lives with the
engine layer; :mod:`helpers.build.buildkit` drives it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class BuildKitClient:
    """A docker CLI that can build with BuildKit, and how to ask it to."""

    path: str
    buildx: bool

    @property
    def how(self) -> str:
        return "buildx plugin" if self.buildx else "DOCKER_BUILDKIT=1"

    def command(self) -> list[str]:
        return [self.path, "buildx", "build", "--load"] if self.buildx else [self.path, "build"]


def command_output(command: list[str], env: dict | None = None) -> str | None:
    """stdout of ``command`` (stripped), or None if it fails, is missing or takes > 15 s."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=15, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@lru_cache(maxsize=1)
def buildkit_client() -> BuildKitClient | None:
    """The first docker CLI here that builds with BuildKit (cached), or None.

    Tries Debian's ``/usr/bin/docker`` and the ``docker`` on PATH: the buildx plugin first,
    then a client older than 23 (which still honours ``DOCKER_BUILDKIT=1``).
    """
    candidates = [c for c in ("/usr/bin/docker", shutil.which("docker"))
                  if c and os.path.exists(c)]
    for cli in dict.fromkeys(candidates):
        if command_output([cli, "buildx", "version"]) is not None:
            return BuildKitClient(cli, True)
    for cli in dict.fromkeys(candidates):
        version = command_output([cli, "version", "--format", "{{.Client.Version}}"]) or ""
        major = version.split(".")[0]
        if major.isdigit() and 18 <= int(major) < 23:
            return BuildKitClient(cli, False)
    return None


UNAVAILABLE_HINT = ("Install the docker-buildx plugin (Debian: docker-buildx) or the "
                    "distribution's docker.io client; without BuildKit, RUN --mount is not "
                    "available and the classic builder is used.")
