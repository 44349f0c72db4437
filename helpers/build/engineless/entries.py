"""One file of an image layer, as the engine-less build produces it and the writer stores it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...errors import KitError

KINDS = ("file", "dir", "symlink", "hardlink")


@dataclass(frozen=True)
class FileEntry:
    """A file, folder or link at ``path`` (absolute, POSIX) in one layer.

    Regular files carry their bytes in ``data`` (small files) or name a file on disk in
    ``source`` (streamed by the writer, never read whole); links carry ``linkname``. A file of
    a recorded base image whose bytes were not recorded has neither, only its ``length``:
    it still counts in sizes and file lists, but the writer refuses to store it.
    """

    path: str
    kind: str = "file"
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    data: bytes | None = None
    source: Path | None = None
    linkname: str = ""
    length: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")
        if not self.path.startswith("/"):
            raise ValueError(f"{self.path!r} is not absolute")
        if self.length is not None and (self.kind != "file" or self.length < 0
                                        or self.data is not None or self.source is not None):
            raise ValueError(f"{self.path}: a length is only for a regular file without "
                             "data or source")

    @property
    def has_bytes(self) -> bool:
        """Whether the file's contents are here (``data`` or ``source``); False for a file
        known only by its ``length``, and for folders and links, which have none."""
        return self.kind == "file" and (self.data is not None or self.source is not None)

    @property
    def size(self) -> int:
        """Bytes of a regular file (0 for folders and links): of ``data``, of the ``source``
        file, else the recorded ``length`` (0 when there is none either)."""
        if self.kind != "file":
            return 0
        if self.data is not None:
            return len(self.data)
        if self.source is not None:
            return self.source.stat().st_size
        return self.length or 0


class NeedsEngine(KitError):
    """The Dockerfile uses something the engine-less build cannot reproduce faithfully."""

    def __init__(self, instruction: str, why: str = "") -> None:
        super().__init__(f"needs a Docker engine: {instruction}" + (f" ({why})" if why else ""),
                         "Without an engine the kit builds only a Go builder stage and an "
                         "empty final stage; run this on a machine with Docker or Podman to "
                         "measure it.")
        self.instruction = instruction
