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
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from docker.utils.build import Pattern, PatternMatcher

from ...dockerfile import Instruction
from ...dockerfile.model import join_path
from ...errors import BuildError
from ..classic import dockerignore_patterns
from .disk import host_path
from .entries import NeedsEngine


@dataclass(frozen=True)
class CopySpec:
    """One COPY/ADD as the replay needs it: flags checked, ``--chown`` made numeric."""

    keyword: str
    source: str | None             # ``--from``, None for the build context
    sources: list[str]
    dest: str
    owner: tuple[int, int] | None  # ``--chown``
    mode: int | None               # ``--chmod``
    what: str                      # the instruction, for messages


def copy_spec(instruction: Instruction) -> CopySpec:
    """Read a COPY/ADD's flags; ``--link`` changes nothing in the result.

    Raises:
        NeedsEngine: another flag, a ``--chmod`` that is not octal, a ``--chown`` name.
    """
    what = f"{instruction.keyword} {instruction.raw}"
    flags = {k: v for k, v in instruction.flags.items() if k != "link"}
    chown, chmod, source = flags.pop("chown", None), flags.pop("chmod", None), \
        flags.pop("from", None)
    if flags:
        raise NeedsEngine(what, f"--{next(iter(flags))} is not replayed")
    if chmod and not re.fullmatch(r"[0-7]{3,4}", chmod):
        raise NeedsEngine(what, f"--chmod={chmod} is not an octal mode")
    *sources, dest = instruction.arguments
    return CopySpec(instruction.keyword, source, sources, dest,
                    chown_ids(chown, what) if chown else None,
                    int(chmod, 8) if chmod else None, what)


def chown_ids(chown: str, what: str) -> tuple[int, int]:
    """``--chown=uid[:gid]`` as numbers; names only for the golang image's root/nobody."""
    names = {"root": 0, "nobody": 65534, "nogroup": 65534}
    user, _, group = chown.partition(":")
    try:
        uid, gid = (int(p) if p.isdigit() else names[p] for p in (user, group or user))
    except KeyError:
        raise NeedsEngine(what, f"--chown={chown} names a user the kit cannot look up") from None
    return uid, gid


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

    def copy_sources(self, spec: CopySpec) -> list[str]:
        """The context paths a COPY/ADD from the context takes.

        Raises:
            NeedsEngine: an ADD of a URL, a git repository or an archive (Docker fetches or
                unpacks those).
            BuildError: a source that matches nothing.
        """
        if spec.keyword == "ADD" and any(re.match(r"^[a-z]+://|git@", s) for s in spec.sources):
            raise NeedsEngine(spec.what, "ADD of a URL or a git repository")
        matched = [m for s in spec.sources for m in self.matches(s, spec.what)]
        if spec.keyword == "ADD" and any(map(self.is_archive, matched)):
            raise NeedsEngine(spec.what, "ADD of an archive (Docker unpacks it)")
        return matched

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
