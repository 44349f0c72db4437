"""Helper library of the Docker multi-stage course kit.

Notebooks and the CLI (``python -m helpers``) call into these modules; each has one concern:
``engine`` (connect and probe), ``build`` (builds with live progress), ``layers`` (sizes and
history), ``run`` (containers that always get cleaned up), ``charts`` (figures), ``demo`` (the
end-to-end job), ``reset`` (remove what the kit made). Every error is a :class:`KitError`.
"""

from .errors import BuildError, EngineUnavailable, KitError, RunError

__all__ = ["BuildError", "EngineUnavailable", "KitError", "RunError"]
__version__ = "0.1.0"
