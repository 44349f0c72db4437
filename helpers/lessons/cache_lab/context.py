"""The lab's temporary build context and the edits the scenarios make to it.

Everything happens in a copy: the learner's files are never touched.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from ...errors import KitError


def prepare_context(context: Path, workdir: Path, dockerfile: Path) -> tuple[Path, Path]:
    """Copy ``context`` into ``workdir`` and put ``dockerfile`` inside the copy.

    The Dockerfile goes in as ``Dockerfile.cachelab``: inside the context (so the classic
    builder does not ship it under a random name that ``COPY . .`` would pick up and that would
    defeat the cache) and matched by the exercise's ``.dockerignore`` (``Dockerfile*``).

    Returns:
        ``(context_copy, dockerfile_copy)``.

    Raises:
        KitError: ``context`` is not a folder or ``dockerfile`` is not a file.
    """
    context, dockerfile = Path(context), Path(dockerfile)
    if not context.is_dir():
        raise KitError(f"The build context {context} is not a folder.",
                       "Pass the folder that holds go.mod and cmd/.")
    if not dockerfile.is_file():
        raise KitError(f"No Dockerfile at {dockerfile}.", "Check the path of the variant.")
    copy = Path(workdir) / "context"
    shutil.copytree(context, copy, symlinks=True)
    target = copy / "Dockerfile.cachelab"
    shutil.copyfile(dockerfile, target)
    return copy, target


def edit_go_source(context: Path) -> Path:
    """Append a unique comment line to the first non-test ``.go`` file under ``context``.

    Files are taken in path order (``cmd/server/main.go`` for the exercise). The comment holds
    a random UUID, so the edited content never matches a cache entry of an earlier run.

    Returns:
        The edited file.

    Raises:
        KitError: There is no non-test Go source to edit.
    """
    sources = sorted(p for p in Path(context).rglob("*.go") if not p.name.endswith("_test.go"))
    if not sources:
        raise KitError(f"No Go source (other than tests) under {context} to edit.",
                       "The cache lab edits a .go file; use the exercise folder as context.")
    with sources[0].open("a") as handle:
        handle.write(f"\n// cache lab edit {uuid.uuid4()}\n")
    return sources[0]


def edit_go_mod(context: Path) -> Path:
    """Append a unique ``// comment`` line to ``go.mod`` (valid go.mod syntax).

    Returns:
        The edited go.mod.

    Raises:
        KitError: ``context`` has no go.mod.
    """
    go_mod = Path(context) / "go.mod"
    if not go_mod.is_file():
        raise KitError(f"No go.mod in {context}.", "Use the exercise folder as context.")
    text = go_mod.read_text()
    separator = "" if text.endswith("\n") or not text else "\n"
    go_mod.write_text(f"{text}{separator}// cache lab edit {uuid.uuid4()}\n")
    return go_mod
