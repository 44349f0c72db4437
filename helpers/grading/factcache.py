"""Facts the checks measured, kept on disk so an unchanged image is not measured twice.

"Check my work" runs again and again on the same Dockerfile. Two kinds of facts are kept,
each under a key that changes whenever the fact could:

* ``image``: what the image holds (its files and bytes, the ELF facts of its program, its CA
  bundle), keyed by the **image id**. The id is the digest of the image's config, which names
  the digest of every layer, so the same id means the same files on any engine.
* ``depcache``: the dep-cache probe's verdict, keyed by a digest of what the probe's build
  reads: the truncated Dockerfile (:mod:`helpers.grading.probeplan`), the content of the
  context files its COPY steps take, the file the probe edits, the base images' ids and the
  engine and backend.

A reused fact says so in the check's message (:func:`Kept.note`: "measured on image
sha256:ab12… at 10:02, reused"). The running container (``runs``) is never reused: it is
started every time. Entries live under ``out/factcache/<namespace>/`` (see
:func:`helpers.engine.reset.fact_cache_dir`), at most :data:`KEEP` per kind (the oldest go
first), and ``python -m helpers reset`` deletes them. A missing, damaged or older-format
entry is a miss, never an error; writes are atomic (write, then rename).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..engine.reset import fact_cache_dir
from ..image.certs import CaBundle
from ..image.elf import ElfFacts

#: Bumped whenever what is kept, or how it is measured, changes: older entries are misses.
FORMAT = 1
#: Entries kept per kind and namespace.
KEEP = 32


@dataclass
class Kept:
    """One kept entry.

    Attributes:
        data: What was measured (JSON-able).
        measured_at: When (seconds since the epoch).
        subject: What it was measured on, for the note (``image sha256:ab12…``).
    """

    data: dict
    measured_at: float
    subject: str

    def note(self) -> str:
        """``measured on image sha256:ab12… at 10:02, reused`` (the date too if not today)."""
        when = time.localtime(self.measured_at)
        today = time.strftime("%Y-%m-%d") == time.strftime("%Y-%m-%d", when)
        stamp = time.strftime("%H:%M" if today else "%Y-%m-%d %H:%M", when)
        return f"measured on {self.subject} at {stamp}, reused"


def digest(*parts: str | bytes) -> str:
    """A hex sha256 over ``parts``, each length-prefixed (so parts cannot run together)."""
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        hasher.update(f"{len(data)}:".encode())
        hasher.update(data)
    return hasher.hexdigest()


def short_id(image_id: str) -> str:
    """``sha256:0123456789ab…`` for a message."""
    algorithm, _, hexdigest = image_id.rpartition(":")
    return f"{algorithm or 'sha256'}:{hexdigest[:12]}…"


def _path(kind: str, key: str) -> Path:
    safe = "".join(c for c in key if c.isalnum())[:64] or "none"
    return fact_cache_dir() / kind / f"{safe}.json"


def load(kind: str, key: str) -> Kept | None:
    """The entry of ``kind`` under ``key``, or None (missing, damaged, older format)."""
    if not key:
        return None
    try:
        entry = json.loads(_path(kind, key).read_text())
        if entry.get("format") != FORMAT or entry.get("key") != key:
            return None
        return Kept(entry["data"], float(entry["measured_at"]), str(entry["subject"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def store(kind: str, key: str, data: dict, subject: str) -> Kept | None:
    """Keep ``data`` under ``key``; the oldest entries beyond :data:`KEEP` go.

    Returns the entry, or None when it could not be written (a read-only ``out/``: the
    facts are then measured each time, which is slower but still right).
    """
    if not key:
        return None
    path = _path(kind, key)
    kept = Kept(data, time.time(), subject)
    entry = {"format": FORMAT, "key": key, "measured_at": kept.measured_at,
             "subject": subject, "data": data}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w") as out:
            json.dump(entry, out)
        os.replace(tmp, path)
        _prune(path.parent)
    except OSError:
        return None
    return kept


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        old.unlink(missing_ok=True)


# ---- what an image holds ----------------------------------------------------------------
@dataclass
class ImageFacts:
    """The facts of one image that only change with its id.

    Attributes:
        files: ``(path, size_bytes, layer)`` of every file of the final filesystem (the
            breakdown's table, layers numbered from 1).
        total_bytes: The uncompressed bytes of the image's layers.
        program: The program the image starts (as the config and files name it), or None.
        elf: The ELF facts of that program, or None when it was not read.
        ca: The CA bundle Go would load, or None when it was not looked for.
    """

    files: list[tuple[str, int, int]]
    total_bytes: int
    program: str | None
    elf: ElfFacts | None
    ca: CaBundle | None

    def to_dict(self) -> dict:
        return {"files": [list(f) for f in self.files], "total_bytes": self.total_bytes,
                "program": self.program,
                "elf": None if self.elf is None else dataclasses.asdict(self.elf),
                "ca": None if self.ca is None else dataclasses.asdict(self.ca)}

    @classmethod
    def from_dict(cls, data: dict) -> ImageFacts:
        return cls([(str(p), int(s), int(layer)) for p, s, layer in data["files"]],
                   int(data["total_bytes"]), data["program"],
                   None if data["elf"] is None else ElfFacts(**data["elf"]),
                   None if data["ca"] is None else CaBundle(**data["ca"]))


def load_image_facts(image_id: str) -> tuple[ImageFacts, Kept] | None:
    """The kept facts of image ``image_id``, or None."""
    kept = load("image", image_id)
    if kept is None:
        return None
    try:
        return ImageFacts.from_dict(kept.data), kept
    except (KeyError, TypeError, ValueError):
        return None


def store_image_facts(image_id: str, facts: ImageFacts) -> None:
    """Keep the facts of image ``image_id``."""
    store("image", image_id, facts.to_dict(), f"image {short_id(image_id)}")
