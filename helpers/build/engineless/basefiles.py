"""A recorded manifest of a base image (``golang:1.22``), for the engine-less build.

Without an engine nothing can open the real base image, yet a learner's Dockerfile reaches
into it: ``COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/``, ``COPY
--from=build /etc/passwd /etc/passwd``, or a final stage ``FROM golang:1.22`` whose size and
file list the checks measure. ``python -m helpers record`` (:func:`helpers.recorded.
record_base_image`) writes, from the real image on a real engine, every path of its final
filesystem with its kind, mode, owner, size, link target and layer, the image's run config
and layers table, and the *bytes* of the few small files a learner copies into a scratch
image (CA certificates, time zones, ``/etc/passwd``...). :class:`BaseImage` answers from that
recording; a file whose bytes were not kept comes back with only its
:attr:`~.entries.FileEntry.length`, so sizes are right and the writer refuses to store it
rather than invent it.

The data file is ``recordings/base-images/<name>-<tag>.json.gz``: gzip of canonical JSON,
``entries`` as compact rows ``[path, kind, mode, uid, gid, size, linkname, layer]``
(``layer`` 0 for folders, which the layers table does not count), ``data`` the recorded
bytes in base64 by path.
"""

from __future__ import annotations

import base64
import bisect
import gzip
import json
import posixpath
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ...config import REPO_ROOT, STAND_IN_LABEL
from ...dockerfile.model import join_path
from ...dockerfile.refs import normalize_ref, split_ref
from .entries import FileEntry

BASE_DIR = REPO_ROOT / "recordings" / "base-images"
#: Version of the data file's layout (bumped when its meaning changes).
FORMAT = 1
#: Columns of a row of ``entries`` in the data file.
COLUMNS = ("path", "kind", "mode", "uid", "gid", "size", "linkname", "layer")
#: Run-config keys recorded (those a final ``FROM`` stage inherits).
CONFIG_KEYS = ("Env", "WorkingDir", "Cmd", "Entrypoint", "User", "ExposedPorts", "Labels")
#: Tag variants that name the same image as the plain tag: the golang image's Debian default.
_DEFAULT_VARIANT = {"golang": "bookworm"}
#: Symbolic links followed before a path is given up as a loop (Linux's limit).
_MAX_LINKS = 40


@dataclass(frozen=True)
class BaseImage:
    """A base image as recorded on a real engine; its filesystem without its bytes.

    Attributes:
        ref: The reference it was recorded as (``golang:1.22``).
        image_id: The engine's image id then.
        engine: The engine it was recorded on (``Docker Engine 20.10.24 (...)``).
        recorded: The date of the recording (ISO, ``2026-12-02``).
        config: The image's run config: ``Env`` (``K=V`` texts), ``WorkingDir``, ``Cmd``,
            ``Entrypoint``, ``User``, ``ExposedPorts``, ``Labels`` (None when unset).
        os, architecture: The image's platform.
        layers: One row per filesystem layer, as :attr:`helpers.image.ImageBreakdown.
            layers`: ``layer``, ``instruction``, ``size_bytes``, ``files``, ``whiteouts``,
            ``wasted_bytes``.
        total_bytes: Sum of the layers' ``size_bytes``: the kit's size of the image.
        engine_size_bytes: The engine's own ``Size`` of the image (adds symlink targets).
    """

    ref: str
    image_id: str
    engine: str
    recorded: str
    config: dict
    os: str
    architecture: str
    layers: list[dict]
    total_bytes: int
    engine_size_bytes: int = 0
    _entries: tuple[FileEntry, ...] = field(default=(), repr=False, compare=False)
    _layer_of: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    _index: dict[str, FileEntry] = field(init=False, repr=False, compare=False)
    _paths: list[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self._entries, key=lambda e: e.path))
        object.__setattr__(self, "_entries", ordered)
        object.__setattr__(self, "_index", {e.path: e for e in ordered})
        object.__setattr__(self, "_paths", [e.path for e in ordered])

    @property
    def stand_in(self) -> str:
        """The kit's stand-in label when the recorded image was the offline stand-in
        (``scripts/base-images.sh``), not the registry's image; else ``""``."""
        return (self.config.get("Labels") or {}).get(STAND_IN_LABEL, "")

    def entries(self) -> list[FileEntry]:
        """Every path of the image's final filesystem (folders, files, symlinks, hard
        links), sorted by path; regular files carry ``data`` when their bytes were
        recorded, else only ``length``."""
        return list(self._entries)

    def lookup(self, path: str) -> FileEntry | None:
        """The entry at ``path`` as ``lstat`` sees it: symlinks among its parent folders are
        followed (``/lib/...`` is ``/usr/lib/...`` in Debian), the last component is not.
        The entry keeps its own path. None when the image has no such path."""
        real = self._resolve(path, follow_last=False)
        return None if real is None else self._index[real]

    def files(self, path: str) -> list[FileEntry] | None:
        """What ``COPY --from=<a stage FROM this image> <path> ...`` takes, or None.

        The entry at ``path`` and, when it is a folder, everything below it, sorted, with
        paths under ``path`` as asked. Symlinks are followed as Docker follows a COPY
        source: in the parent folders and in the last component (a link to a file gives the
        file, a link to a folder gives its contents); links *inside* a copied folder stay
        links. A hard link comes back as the regular file it shares bytes with (its mode,
        its ``data`` or ``length``): a copy holds the content, and the link's target may lie
        outside what is copied. This is :attr:`~.stages.StageResult.base_files`.
        """
        real = self._resolve(path, follow_last=True)
        if real is None:
            return None
        asked = join_path("/", path)
        top = self._index[real]
        found = [top]
        if top.kind == "dir":
            prefix = real.rstrip("/") + "/"
            start = bisect.bisect_left(self._paths, prefix)
            end = bisect.bisect_left(self._paths, prefix[:-1] + "0")  # "0" follows "/"
            found += self._entries[start:end]
        return [self._as_copied(entry, join_path(asked, posixpath.relpath(entry.path, real)))
                for entry in found]

    def file_layers(self) -> list[tuple[str, int, int]]:
        """``(path, size_bytes, layer)`` of every visible regular file, hard link and
        symlink, sorted by path: the rows of :attr:`helpers.image.ImageBreakdown.files`
        (links weigh 0)."""
        return [(e.path, e.size, self._layer_of.get(e.path, 0))
                for e in self._entries if e.kind != "dir"]

    # ---- helpers ------------------------------------------------------------------------
    def _resolve(self, path: str, *, follow_last: bool) -> str | None:
        """The real path ``path`` names in the image (symlinks resolved inside it, ``..``
        never above ``/``), or None when some component is missing or links loop."""
        parts = [p for p in path.split("/") if p]
        done, hops = "/", 0
        while parts:
            name = parts.pop(0)
            if name in (".", ".."):
                done = posixpath.dirname(done) if name == ".." else done
                continue
            here = posixpath.join(done, name)
            entry = self._index.get(here)
            if entry is None or parts and entry.kind not in ("dir", "symlink"):
                return None
            if entry.kind == "symlink" and (parts or follow_last):
                hops += 1
                if hops > _MAX_LINKS:
                    return None
                done = "/" if entry.linkname.startswith("/") else done
                parts = [p for p in entry.linkname.split("/") if p] + parts
                continue
            done = here
        return done

    def _as_copied(self, entry: FileEntry, path: str) -> FileEntry:
        """``entry`` at ``path``; a hard link replaced by the file it links to."""
        if entry.kind == "hardlink":
            target = self._index.get(posixpath.join("/", entry.linkname))
            if target is not None and target.kind == "file":
                entry = target
        return FileEntry(path, entry.kind, entry.mode, entry.uid, entry.gid, entry.data,
                         entry.source, entry.linkname, entry.length)


def recording_path(ref: str) -> Path:
    """Where the recording of ``ref`` (already canonical, ``golang:1.22``) is stored."""
    repo, tag = split_ref(ref)
    return BASE_DIR / f"{repo.replace('/', '_')}-{tag or 'latest'}.json.gz"


def canonical_ref(ref: str) -> str:
    """``ref`` as recordings are named: Docker Hub prefixes dropped, the tag made explicit,
    the image's default variant dropped (``docker.io/library/golang:1.22-bookworm`` ->
    ``golang:1.22``). A digest reference is returned lower-cased, as it is."""
    norm = normalize_ref(ref)
    if "@" in norm:
        return norm
    repo, tag = split_ref(norm)
    variant = _DEFAULT_VARIANT.get(repo)
    if variant and tag and tag.endswith("-" + variant):
        tag = tag[:-len(variant) - 1]
    return f"{repo}:{tag}"


def load_base_image(ref: str) -> BaseImage | None:
    """The recorded manifest of ``ref``, or None when nothing is recorded for it.

    Spellings of the same image share one recording (``golang:1.22``,
    ``golang:1.22-bookworm``, ``docker.io/library/golang:1.22``); a patch tag
    (``golang:1.22.10``) resolves to the minor's recording only when that recorded the same
    Go version (its ``GOLANG_VERSION``). Loaded recordings are kept for the process.
    """
    canonical = canonical_ref(ref)
    if "@" in canonical:
        return None
    found = _load(recording_path(canonical))
    if found is not None:
        return found
    repo, tag = split_ref(canonical)
    match = re.fullmatch(r"(\d+\.\d+)\.\d+", tag or "")
    if repo != "golang" or match is None:
        return None
    minor = _load(recording_path(f"golang:{match[1]}"))
    return minor if minor is not None and _env(minor, "GOLANG_VERSION") == tag else None


def _env(image: BaseImage, name: str) -> str | None:
    for item in image.config.get("Env") or []:
        key, _, value = item.partition("=")
        if key == name:
            return value
    return None


@lru_cache(maxsize=8)
def _load(path: Path) -> BaseImage | None:
    """The :class:`BaseImage` stored at ``path`` (None when there is no such file)."""
    if not path.is_file():
        return None
    with gzip.open(path, "rb") as stream:
        doc = json.loads(stream.read())
    return from_document(doc)


def from_document(doc: dict) -> BaseImage:
    """A :class:`BaseImage` from the recorder's document (:func:`helpers.recorded.
    record_base_image`), as stored in the data file.

    Raises:
        ValueError: The document is of another :data:`FORMAT` or its columns differ.
    """
    if doc.get("format") != FORMAT or tuple(doc.get("columns") or ()) != COLUMNS:
        raise ValueError(f"base-image recording of format {doc.get('format')!r} (columns "
                         f"{doc.get('columns')!r}); this kit reads format {FORMAT}: "
                         "re-record with `python -m helpers record --base-only`")
    data = {path: base64.b64decode(text) for path, text in (doc.get("data") or {}).items()}
    entries, layer_of = [], {}
    for path, kind, mode, uid, gid, size, linkname, layer in doc["entries"]:
        if kind == "file":
            entry = FileEntry(path, kind, mode, uid, gid, data=data[path]) if path in data \
                else FileEntry(path, kind, mode, uid, gid, length=size)
        else:
            entry = FileEntry(path, kind, mode, uid, gid, linkname=linkname)
        entries.append(entry)
        if kind != "dir":
            layer_of[path] = layer
    return BaseImage(doc["ref"], doc["image_id"], doc["engine"], doc["recorded"],
                     doc["config"], doc["os"], doc["architecture"], doc["layers"],
                     doc["total_bytes"], doc.get("engine_size_bytes", 0), tuple(entries),
                     layer_of)
