"""Layer entries to and from a folder that stands for an image's ``/``.

:func:`materialize` puts entries on disk (a ``COPY --from`` into a builder stage, the final
filesystem a local run starts from); :func:`entries_of` reads a stage's folder back as one
layer. Ownership is not applied on disk (the build runs unprivileged); it travels in the
entries.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterable

from ...dockerfile.model import join_path
from .entries import FileEntry, NeedsEngine


def host_path(root: Path, path: str) -> Path:
    """Where the image's absolute ``path`` lives under ``root`` (``..`` cannot leave it)."""
    clean = join_path("/", path).lstrip("/")
    return root / clean if clean else root


def materialize(entries: Iterable[FileEntry], root: Path, what: str = "COPY") -> list[str]:
    """Write ``entries`` under ``root`` (later entries win); the image paths written.

    Raises:
        NeedsEngine: a regular file whose bytes the kit does not have (a base-image file
            known only from the recorded manifest).
    """
    written = []
    for entry in sorted(entries, key=lambda e: (e.kind == "hardlink", e.path)):
        disk = host_path(root, entry.path)
        disk.parent.mkdir(parents=True, exist_ok=True)
        if entry.kind == "dir":
            disk.mkdir(exist_ok=True)
            os.chmod(disk, entry.mode | 0o700)  # the build must still write inside it
        else:
            if os.path.lexists(disk) and not disk.is_dir():
                disk.unlink()
            if entry.kind == "symlink":
                os.symlink(entry.linkname, disk)
            elif entry.kind == "hardlink":
                os.link(host_path(root, entry.linkname), disk)
            else:
                _write_file(entry, disk, what)
        written.append(entry.path)
    return written


def _write_file(entry: FileEntry, disk: Path, what: str) -> None:
    """One regular file's bytes to ``disk``, with its mode."""
    if entry.source is not None:
        shutil.copyfile(entry.source, disk)
    elif entry.data is not None:
        disk.write_bytes(entry.data)
    elif entry.size:
        raise NeedsEngine(what, f"{entry.path} comes from the base image, whose bytes are "
                          "not recorded here (only its name and size)")
    else:
        disk.write_bytes(b"")
    os.chmod(disk, entry.mode)


def entries_of(root: Path, skip: Iterable[str] = (), owners: dict | None = None,
               modes: dict | None = None) -> list[FileEntry]:
    """Everything under ``root`` as entries (``source`` names the file on disk), sorted.

    ``skip`` names image paths left out (with what is below them); ``owners`` and
    ``modes`` override ``(uid, gid)`` and mode by image path (``COPY --chown/--chmod``).
    """
    skipped = {join_path("/", p) for p in skip}
    owners, modes = owners or {}, modes or {}
    entries: list[FileEntry] = []
    for here, dirs, names in os.walk(root):
        dirs.sort()
        base = "/" + Path(here).relative_to(root).as_posix().lstrip(".")
        for name in sorted(dirs + names):
            path = join_path(base, name)
            if path in skipped:
                if name in dirs:
                    dirs.remove(name)
                continue
            disk = Path(here) / name
            st = disk.lstat()
            uid, gid = owners.get(path, (0, 0))
            mode = modes.get(path, st.st_mode & 0o7777)
            if disk.is_symlink():
                entries.append(FileEntry(path, "symlink", 0o777, uid, gid,
                                         linkname=os.readlink(disk)))
            elif disk.is_dir():
                entries.append(FileEntry(path, "dir", mode, uid, gid))
            else:
                entries.append(FileEntry(path, "file", mode, uid, gid, source=disk))
    return entries
