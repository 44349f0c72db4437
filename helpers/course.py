"""Notebook steps: the few calls each course notebook makes, with errors shown, not raised.

A learner's mistake (a Dockerfile that does not build, a container that exits) must end in a
clear message and a hint in the cell's output, and the next cells must still run. So these
wrappers catch :class:`~helpers.errors.KitError`, show it with
:func:`helpers.widgets.show_error`, and return ``None``; later cells check for ``None``.
"""

from __future__ import annotations

from pathlib import Path

import docker

from .build import BuildResult, build_image
from .config import EXERCISE_DIR
from .engine import connect
from .errors import BuildError, KitError, RunError
from .run import HealthReport, check_health
from .widgets import BuildProgress, CheckMyWork, show_check_report, show_error


def connect_or_explain() -> docker.DockerClient | None:
    """A client, or None after showing why no engine answers and what to do."""
    try:
        return connect()
    except KitError as exc:
        show_error(exc)
        return None


def build(client: docker.DockerClient | None, dockerfile: str | Path, tag: str,
          context: str | Path = EXERCISE_DIR, **kwargs) -> BuildResult | None:
    """Build with the live progress widget; None (error shown) if the build fails."""
    if client is None:
        print(f"Skipped building {tag}: no Docker engine (see the first cell).")
        return None
    try:
        return build_image(client, context, tag, dockerfile, on_event=BuildProgress(tag),
                           **kwargs)
    except BuildError:
        return None  # the progress widget already shows the failing step and the hint
    except KitError as exc:
        show_error(exc)
        return None


def health(client: docker.DockerClient | None, tag: str) -> HealthReport | None:
    """Run ``tag``, call /health, clean up; None (error, hint and logs shown) on failure."""
    if client is None:
        print(f"Skipped running {tag}: no Docker engine.")
        return None
    try:
        report = check_health(client, tag)
    except RunError as exc:
        show_error(exc)
        if exc.logs:
            print("container logs:\n" + exc.logs[-2000:])
        return None
    except KitError as exc:
        show_error(exc)
        return None
    print(f"GET /health -> {report.status_code} in {report.elapsed_s:.1f} s: {report.body}")
    return report


def check_my_work(client: docker.DockerClient | None, dockerfile: str | Path,
                  context: str | Path = EXERCISE_DIR, tag: str | None = None):
    """Build, run and check ``dockerfile``; show the pass/fail table; return the report."""
    from .checks import run_checks

    if client is None:
        print("Skipped the checks: no Docker engine.")
        return None
    try:
        report = run_checks(client, context, dockerfile, tag=tag,
                            on_event=BuildProgress(f"check {Path(dockerfile).name}"))
    except KitError as exc:
        show_error(exc)
        return None
    show_check_report(report)
    return report


def check_button(client: docker.DockerClient | None, dockerfile: str | Path,
                 context: str | Path = EXERCISE_DIR) -> CheckMyWork | None:
    """A "Check my work" button that runs :func:`helpers.checks.run_checks` on each click."""
    from .checks import run_checks

    if client is None:
        return None
    return CheckMyWork(lambda: run_checks(
        client, context, dockerfile, on_event=BuildProgress(f"check {Path(dockerfile).name}")))


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    """Whether ``tag`` is on the engine (for cells that only build what is missing)."""
    return bool(client.images.list(name=tag))
