"""The build context as Docker sends it: ``.dockerignore`` applied, COPY sources matched.

Shared by the builder-stage replay (:mod:`~.stages`), the final-stage assembly (:mod:`~.final`)
and the derived cache verdict (:mod:`~.depcache`), so all three see the same files.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import tarfile
from fnmatch import fnmatchcase
from pathlib import Path

from docker.utils.build import Pattern, PatternMatcher

from ...dockerfile.model import join_path
from ...errors import BuildError
from ..classic import dockerignore_patterns
from .disk import host_path


class BuildContext:
    """The files of one build context that reach the build, and how COPY names them."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._included: set[str] | None = None

    def included(self) -> set[str]:
        """Context paths (relative, POSIX) that ``.dockerignore`` lets into the build.

        docker-py's ``PatternMatcher`` is Docker's algorithm (``**``, ``!`` exceptions, a
        folder excluded but a file inside re-included). Its ``exclude_paths`` wrapper is not
        used: it keeps the Dockerfile in the *sent* context, but Docker then drops an ignored
        Dockerfile, so ``COPY . .`` never sees it. ``PatternMatcher`` itself always keeps
        ``.dockerignore`` (the classic builder reads it on the daemon side), which Docker also
        drops afterwards when it ignores itself.
        """
        if self._included is None:
            patterns = dockerignore_patterns(self.path)
            self._included = {p.replace(os.sep, "/")
                              for p in PatternMatcher(patterns).walk(str(self.path))}
            if _ignores_itself(patterns):
                self._included.discard(".dockerignore")
        return self._included

    def matches(self, source: str, what: str) -> list[str]:
        """Context paths (``""`` = the whole context) a COPY source names; globs allowed.

        Raises:
            BuildError: nothing matches, with BuildKit's wording.
        """
        rel = join_path("/", source).lstrip("/")
        included = self.included()
        if not rel:
            return [""]
        if re.search(r"[*?\[]", rel):
            parts = rel.split("/")
            found = sorted(p for p in included if len(p.split("/")) == len(parts)
                           and all(fnmatchcase(a, b) for a, b in zip(p.split("/"), parts)))
        else:
            found = [rel] if rel in included or any(p.startswith(rel + "/") for p in included) \
                else []
        if not found:
            raise BuildError(f"failed to compute cache key: \"/{rel}\": not found (not in the "
                             "context, or excluded by .dockerignore)", instruction=what)
        return found

    def is_dir(self, rel: str) -> bool:
        """Whether ``rel`` (``""`` = the context) is a folder, not a link to one."""
        path = self.path / rel
        return rel == "" or path.is_dir() and not path.is_symlink()

    def is_archive(self, rel: str) -> bool:
        """Whether an ADD would unpack the context file ``rel`` instead of copying it."""
        path = self.path / rel
        return rel != "" and path.is_file() and not path.is_symlink() and tarfile.is_tarfile(path)

    def files_under(self, rel: str) -> list[str]:
        """The included paths inside context folder ``rel``, sorted."""
        prefix = rel + "/" if rel else ""
        return sorted(p for p in self.included() if p.startswith(prefix))

    def copy_into(self, root: Path, rel: str, target: str, into: bool) -> list[str]:
        """Copy context path ``rel`` to image path ``target`` under ``root``; image paths.

        A folder's included contents go into ``target``; a file goes to ``target`` itself,
        or inside it when ``into``. Modes are kept, symlinks copied as links.
        """
        if self.is_dir(rel):
            host_path(root, target).mkdir(parents=True, exist_ok=True)
            prefix = len(rel) + 1 if rel else 0
            return [target] + [self._copy_one(root, path, join_path(target, path[prefix:]))
                               for path in self.files_under(rel)]
        at = join_path(target, posixpath.basename(rel)) if into else target
        return [self._copy_one(root, rel, at)]

    def _copy_one(self, root: Path, rel: str, at: str) -> str:
        """One context file, folder or symlink ``rel`` to image path ``at`` (modes kept)."""
        src, dst = self.path / rel, host_path(root, at)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            if os.path.lexists(dst):
                dst.unlink()
            os.symlink(os.readlink(src), dst)
        elif src.is_dir():
            dst.mkdir(exist_ok=True)
            shutil.copymode(src, dst)
        else:
            shutil.copy2(src, dst)
        return at


def _ignores_itself(patterns: list[str]) -> bool:
    """Whether ``.dockerignore``'s own patterns exclude it (the last matching one decides)."""
    ignored = False
    for pattern in (Pattern(p) for p in patterns):
        if pattern.dirs and pattern.match(".dockerignore"):
            ignored = not pattern.exclusion
    return ignored
