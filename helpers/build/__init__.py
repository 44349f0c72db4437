"""The build layer: build an image with live progress, the way ``docker build`` would here.

- :mod:`~helpers.build.events`: what every backend reports (events, steps, the result).
- :mod:`~helpers.build.classic`: the docker SDK's classic builder (and Podman's buildah
  through the compat API).
- :mod:`~helpers.build.buildkit`: BuildKit through a docker CLI, its plain progress parsed.
- :mod:`~helpers.build.backend`: which backend ``auto`` picks on this engine, and
  :func:`build_image`, the one entry point.
"""

from .backend import (
           BACKENDS,
           BUILDKIT_ONLY_RE,
           build_image,
           choose_backend,
           needs_buildkit,
)
from .classic import context_archive, drop_superseded
from .events import (
           BuildEvent,
           BuildResult,
           EventHandler,
           StepResult,
           hint_for_build_error,
)

__all__ = ["BACKENDS", "BUILDKIT_ONLY_RE", "BuildEvent", "BuildResult", "EventHandler",
           "StepResult", "build_image", "choose_backend", "context_archive", "drop_superseded",
           "hint_for_build_error", "needs_buildkit"]
