"""Layers + run config -> one reproducible image archive that ``docker load`` accepts.

:func:`write_image` writes a single tar holding the image twice over, as Docker >= 25's
``docker save`` does (moby ``image/tarexport/save.go``), so every loader finds its layout:

- **docker-archive** -- ``manifest.json`` (``Config``, ``RepoTags``, ``Layers``), read by the
  classic image store (Docker 20.10 to 26 without containerd);
- **OCI image layout** -- ``oci-layout``, ``index.json`` whose manifest descriptor carries
  ``io.containerd.image.name`` (the full reference; the containerd store and Podman name the
  image by it) and ``org.opencontainers.image.ref.name`` (the tag), and
  ``blobs/sha256/<hex>`` for the config, the OCI manifest and each layer.

Each blob is stored once, under its digest, and ``manifest.json`` points at those same blobs
(``blobs/sha256/<hex>``), as moby does: no ``<id>/layer.tar`` copies, no ``repositories``
file (only pre-manifest loaders, Docker < 1.10, read it).

Layers are **uncompressed** tars (``application/vnd.oci.image.layer.v1.tar``): every loader
accepts them; a layer's blob digest is then its ``diff_id``, so one hash pass serves both;
and the bytes depend on nothing but the inputs -- gzip output varies with the zlib version
and level, and zstd needs a package. The archive only travels from this process to the local
engine, so its size does not matter.

Reproducible: mtimes 0, uid/gid from the entry, no uname/gname, headers in PAX format (plain
ustar unless a name is too long), entries sorted with parents first (missing parents are
added as ``0o755`` folders), hard links after every other entry so their target is already
there when a loader extracts them, JSON with sorted keys and no spaces, ``created`` fixed at
the epoch. The same inputs give the same bytes, and so the same image id.

Two passes, no temp files: a tar member's header holds its name and size before its bytes,
and a layer blob's name *is* its digest. So the first pass generates each layer tar and only
hashes it (nothing kept); the second pass generates it again into ``out``, re-hashing it and
raising :class:`ImageWriteError` if a ``source`` file changed in between. Every ``source``
is therefore read twice, in chunks of :data:`COPY_CHUNK` bytes: memory stays bounded by the
chunk size and the file tables, however large the files are.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import posixpath
import re
import tarfile
from collections.abc import Iterable, Iterator, Sequence
from typing import BinaryIO

from ...config import goarch
from ...errors import KitError
from .entries import FileEntry

#: The ``created`` time of the image and of every history entry (reproducible builds).
CREATED = "1970-01-01T00:00:00Z"
#: Header format of every tar written (ustar headers, PAX records only when needed).
TAR_FORMAT = tarfile.PAX_FORMAT
#: Bytes read from a ``source`` file at a time.
COPY_CHUNK = 1 << 20
#: ``created_by`` of a layer's history entry when the caller gives none.
DEFAULT_CREATED_BY = "engine-less build: layer {number}"

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"
ANNOTATION_IMAGE_NAME = "io.containerd.image.name"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"

_BLOCK = 512
_TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
          "hardlink": tarfile.LNKTYPE}
_NAME_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")


class ImageWriteError(KitError):
    """A file changed while the archive was written, or its bytes are not there to write, so
    the archive is not valid."""


def write_image(layers: list[list[FileEntry]], config: dict, out: BinaryIO, repo_tag: str,
                *, created_by: Sequence[str] | None = None, architecture: str = "") -> str:
    """Write ``layers`` (oldest first) and the run ``config`` to ``out`` as one image archive.

    Args:
        layers: The files of each layer; paths absolute, any order, one entry per path.
        config: The run config, as ``docker inspect`` shows under ``Config`` (``User``,
            ``Env``, ``Entrypoint``, ``Cmd``, ``WorkingDir``, ``ExposedPorts``, ``Labels``,
            ``Healthcheck``...); keys whose value is None are left out.
        out: Where the tar goes; written sequentially (a pipe or socket will do). After an
            error it holds a partial archive, not a loadable one.
        repo_tag: The name to load it as (``name``, ``name:tag``, ``host/path:tag``).
        created_by: One history ``created_by`` per layer (the instruction that made it);
            default :data:`DEFAULT_CREATED_BY`.
        architecture: GOARCH name; default this machine's (``amd64``, ``arm64``).

    Returns:
        The image id, ``sha256:<hex>`` of the config JSON (what the classic store shows as
        ``Id``; the containerd store shows the manifest's digest instead).

    Raises:
        ValueError: No layer, a bad ``repo_tag``, a duplicated path, a parent that is not a
            folder, a hard link to no regular file of its layer, or ``created_by`` of the
            wrong length.
        TypeError: ``config`` is not a dict.
        ImageWriteError: A ``source`` file changed (or vanished) during the write, or a
            regular file has neither ``data`` nor ``source`` (only a recorded ``length``);
            the latter is raised before anything is written.
    """
    if not layers:
        raise ValueError("an image needs at least one layer")
    familiar, full, tag = _reference(repo_tag)
    history = _history(created_by, len(layers))
    plans = [_plan_layer(entries) for entries in layers]
    sums = [_digest_of(_tar_chunks(_layer_members(plan))) for plan in plans]
    config_json = _config_json(config, [digest for digest, _ in sums], history,
                               architecture or goarch())
    config_digest = _sha256(config_json)
    manifest_json = _json({
        "schemaVersion": 2, "mediaType": MEDIA_MANIFEST,
        "config": _descriptor(MEDIA_CONFIG, config_digest, len(config_json)),
        "layers": [_descriptor(MEDIA_LAYER, digest, size) for digest, size in sums]})
    index_json = _index_json(_sha256(manifest_json), len(manifest_json), full, tag,
                             json.loads(config_json))
    docker_manifest = _json([{"Config": _blob(config_digest), "RepoTags": [familiar],
                              "Layers": [_blob(digest) for digest, _ in sums]}])
    files = {_blob(digest): (size, _checked(plan, digest, size))
             for plan, (digest, size) in zip(plans, sums)}  # a repeated layer: stored once
    for data in (config_json, manifest_json):
        files[_blob(_sha256(data))] = (len(data), (data,))
    for name, data in (("index.json", index_json), ("manifest.json", docker_manifest),
                       ("oci-layout", _json({"imageLayoutVersion": "1.0.0"}))):
        files[name] = (len(data), (data,))
    for chunk in _tar_chunks(_archive_members(files)):  # noqa: FURB122 -- `out` needs
        out.write(chunk)                                 # only write(), not writelines()
    return config_digest


def _archive_members(files: dict[str, tuple[int, Iterable[bytes]]]
                     ) -> list[tuple[tarfile.TarInfo, Iterable[bytes]]]:
    """The outer tar's members, sorted by name as ``docker save`` writes them (its tar of a
    folder): ``blobs/``, ``blobs/sha256/``, the blobs, ``index.json``, ``manifest.json``,
    ``oci-layout``. Loaders read the members in any order."""
    members: list[tuple[tarfile.TarInfo, Iterable[bytes]]] = [
        (_info("blobs/", "dir", 0o755), ()), (_info("blobs/sha256/", "dir", 0o755), ())]
    members += [(_info(name, "file", 0o644, size), chunks)
                for name, (size, chunks) in sorted(files.items())]
    return members


def _reference(repo_tag: str) -> tuple[str, str, str]:
    """``(familiar, full, tag)`` of a name as ``docker tag`` reads it.

    ``web`` -> ``("web:latest", "docker.io/library/web:latest", "latest")``;
    ``localhost:5000/a/web:1`` keeps its registry. ``manifest.json`` takes the familiar form
    (as ``docker save`` writes it), ``io.containerd.image.name`` the full one.
    """
    if "@" in repo_tag:
        raise ValueError(f"{repo_tag!r}: an image is loaded under a tag, not a digest")
    name, tag = repo_tag, "latest"
    colon = repo_tag.rfind(":")
    if colon > repo_tag.rfind("/"):
        name, tag = repo_tag[:colon], repo_tag[colon + 1:]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
    else:
        domain, path = "docker.io", name
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain == "docker.io" and "/" not in path:
        path = "library/" + path
    if not _TAG.fullmatch(tag) or not all(_NAME_COMPONENT.fullmatch(part)
                                          for part in path.split("/")):
        raise ValueError(f"{repo_tag!r} is not a valid image name (lowercase name, tag "
                         "of letters, digits, '_', '.', '-')")
    short = path
    if domain == "docker.io" and path.startswith("library/") and path.count("/") == 1:
        short = path[len("library/"):]
    familiar = short if domain == "docker.io" else f"{domain}/{path}"
    return f"{familiar}:{tag}", f"{domain}/{path}:{tag}", tag


def _history(created_by: Sequence[str] | None, count: int) -> list[str]:
    """One ``created_by`` per layer: the caller's, or the default."""
    if created_by is None:
        return [DEFAULT_CREATED_BY.format(number=n) for n in range(1, count + 1)]
    if isinstance(created_by, str) or len(created_by) != count:
        raise ValueError(f"created_by needs one text per layer ({count})")
    return list(created_by)


def _clean(path: str) -> str:
    """An absolute path without ``.``, ``..``, doubled or trailing slashes."""
    cleaned = posixpath.normpath("/" + path.lstrip("/"))
    return "/" if cleaned == "//" else cleaned


def _plan_layer(entries: Iterable[FileEntry]) -> list[FileEntry]:
    """The entries of one layer in tar order, missing parents added, links checked.

    Order: by path component by component (a folder, then what it holds, as ``docker
    build``'s tars walk the tree), hard links last so that their target is extracted first.
    A hard link shares its target's inode, so its header takes the target's mode and owner
    (as a tar of the real files would; loaders apply the last header they meet). The root
    ``/`` itself is never stored (engines' layers do not hold it either).
    """
    by_path: dict[str, FileEntry] = {}
    links: dict[str, FileEntry] = {}
    for entry in entries:
        path = _clean(entry.path)
        if path == "/":
            continue
        if path in by_path:
            raise ValueError(f"{path} appears twice in one layer")
        if entry.kind == "file" and not entry.has_bytes:
            raise ImageWriteError(
                f"{path}: its bytes are not recorded (only its size, {entry.size:,} bytes)",
                "It comes from a recorded base image whose contents were not kept; build "
                "on a machine with Docker or Podman to copy it.")
        by_path[path] = entry if entry.path == path else dataclasses.replace(entry, path=path)
    for path in list(by_path):
        parent = posixpath.dirname(path)
        while parent != "/" and parent not in by_path:
            by_path[parent] = FileEntry(parent, "dir", 0o755)
            parent = posixpath.dirname(parent)
    for path, entry in by_path.items():
        parent = posixpath.dirname(path)
        if parent != "/" and by_path[parent].kind != "dir":
            raise ValueError(f"{path}: its parent {parent} is a {by_path[parent].kind}, "
                             "not a folder")
        if entry.kind == "hardlink":
            target = by_path.get(_clean(entry.linkname))
            if not entry.linkname or target is None or target.kind != "file":
                raise ValueError(f"{path}: a hard link must point to a regular file of the "
                                 f"same layer, not {entry.linkname!r}")
            links[path] = dataclasses.replace(entry, mode=target.mode, uid=target.uid,
                                              gid=target.gid)
    by_path.update(links)
    return sorted(by_path.values(),
                  key=lambda e: (e.kind == "hardlink", e.path.split("/")))


def _info(name: str, kind: str, mode: int, size: int = 0, uid: int = 0, gid: int = 0,
          linkname: str = "") -> tarfile.TarInfo:
    """A tar header with every field that could vary fixed (mtime 0, no user names)."""
    info = tarfile.TarInfo(name)
    info.type = _TYPES[kind]
    info.mode = mode & 0o7777
    info.size = size if kind == "file" else 0
    info.uid, info.gid = uid, gid
    info.uname = info.gname = ""
    info.mtime = 0
    info.linkname = linkname
    return info


def _layer_members(plan: list[FileEntry]
                   ) -> Iterator[tuple[tarfile.TarInfo, Iterable[bytes]]]:
    """``(header, contents)`` of each entry of a planned layer, contents read lazily."""
    for entry in plan:
        name = entry.path.lstrip("/")
        if entry.kind == "hardlink":  # a hard link names the member it links to
            linkname = _clean(entry.linkname).lstrip("/")
        else:
            linkname = entry.linkname if entry.kind == "symlink" else ""
        size = _size_of(entry)
        yield (_info(name, entry.kind, entry.mode, size, entry.uid, entry.gid, linkname),
               _contents(entry) if size else ())


def _size_of(entry: FileEntry) -> int:
    """The entry's size, with a missing ``source`` reported as the kit's error."""
    try:
        return entry.size
    except OSError as exc:
        raise ImageWriteError(f"cannot read {entry.source} for {entry.path}: {exc}") from None


def _contents(entry: FileEntry) -> Iterator[bytes]:
    """The bytes of a regular file: ``data`` at once, or ``source`` in COPY_CHUNK pieces."""
    if entry.data is not None:
        yield entry.data
        return
    try:
        with open(entry.source, "rb") as source:
            while chunk := source.read(COPY_CHUNK):
                yield chunk
    except OSError as exc:
        raise ImageWriteError(f"cannot read {entry.source} for {entry.path}: {exc}") from None


def _tar_chunks(members: Iterable[tuple[tarfile.TarInfo, Iterable[bytes]]]
                ) -> Iterator[bytes]:
    """A tar stream, chunk by chunk: each header, its contents, padding; the end blocks.

    The contents must add up to the size in the header (a file that grew or shrank since
    it was measured raises :class:`ImageWriteError`). The archive ends with the two zero
    blocks and no further record padding, as Go's ``archive/tar`` writes it.
    """
    for info, contents in members:
        yield info.tobuf(TAR_FORMAT, "utf-8", "surrogateescape")
        written = 0
        for chunk in contents:
            written += len(chunk)
            if written > info.size:
                break
            yield chunk
        if written != info.size:
            raise ImageWriteError(f"/{info.name} changed size while the image was written "
                                  f"({info.size} bytes expected)",
                                  "Write the image again once nothing writes that file.")
        if written % _BLOCK:
            yield bytes(_BLOCK - written % _BLOCK)
    yield bytes(2 * _BLOCK)


def _digest_of(chunks: Iterable[bytes]) -> tuple[str, int]:
    """``(sha256:<hex>, size)`` of a stream, keeping none of it."""
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return "sha256:" + digest.hexdigest(), size


def _checked(plan: list[FileEntry], digest: str, size: int) -> Iterator[bytes]:
    """The layer tar again (second pass), raising if it differs from the first pass."""
    hasher, written = hashlib.sha256(), 0
    for chunk in _tar_chunks(_layer_members(plan)):
        hasher.update(chunk)
        written += len(chunk)
        yield chunk
    if written != size or "sha256:" + hasher.hexdigest() != digest:
        raise ImageWriteError("a file of the image changed while the image was written",
                              "Write the image again once the build has finished.")


def _json(value: object) -> bytes:
    """Canonical JSON: sorted keys, no spaces, ASCII only (the same value, the same bytes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("ascii")


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blob(digest: str) -> str:
    """``sha256:<hex>`` -> its member name in the OCI layout (``blobs/sha256/<hex>``)."""
    algorithm, _, hexdigest = digest.partition(":")
    return f"blobs/{algorithm}/{hexdigest}"


def _descriptor(media_type: str, digest: str, size: int) -> dict:
    return {"mediaType": media_type, "digest": digest, "size": size}


def _config_json(run_config: dict, diff_ids: list[str], history: list[str],
                 architecture: str) -> bytes:
    """The image config: the run config plus platform, rootfs and history, canonical JSON.

    ``os`` is always ``linux``: engines run only Linux images of a Go server, whatever the
    machine writing the archive (the toolchain builds with ``GOOS=linux``).
    """
    if not isinstance(run_config, dict):
        raise TypeError(f"config must be a dict, not {type(run_config).__name__}")
    return _json({
        "architecture": architecture,
        "config": {key: value for key, value in run_config.items() if value is not None},
        "created": CREATED,
        "history": [{"created": CREATED, "created_by": text} for text in history],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    })


def _index_json(manifest_digest: str, manifest_size: int, full: str, tag: str,
                image: dict) -> bytes:
    """``index.json`` as ``docker save`` writes it: one manifest, named two ways."""
    descriptor = _descriptor(MEDIA_MANIFEST, manifest_digest, manifest_size)
    descriptor["platform"] = {"architecture": image["architecture"], "os": image["os"]}
    descriptor["annotations"] = {ANNOTATION_IMAGE_NAME: full, ANNOTATION_REF_NAME: tag}
    return _json({"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": [descriptor]})
