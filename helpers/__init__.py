"""Helper library of the Docker multi-stage course kit.

Notebooks talk to :class:`helpers.course.Course`; the CLI is ``python -m helpers``. The
subpackages are the layers, each importing only the ones below it (``docs/architecture.md``):

- ``ui``: widgets, charts, display, terminal progress.
- ``lessons``: one module per notebook lesson and its self-check table.
- ``grading``: evidence about an image, one check per requirement, mistakes, the report.
- ``build`` and ``image``: building with live progress; what an image holds.
- ``engine`` and ``dockerfile``: reaching the engine; reading the Dockerfile.
- ``config`` and ``errors``: names and paths; :class:`KitError` (message + hint).
"""

from .errors import BuildError, EngineUnavailable, KitError, RunError

__all__ = ["BuildError", "EngineUnavailable", "KitError", "RunError"]
__version__ = "0.1.0"
