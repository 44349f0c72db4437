"""Image sizes and layer history, as numbers and pandas DataFrames.

One size, the same on every engine: the **uncompressed bytes of the files in the image's
layers** (a hard link counted once, symlinks and directories 0), read from the image's
export. That is what the brief's "under 15 MB" means and what a container's filesystem is
made of. The engine's own ``Size`` (``docker images``) is shown beside it, because it counts
different things on different stores: on Docker's classic overlay2 store the unpacked layer
folders (symlink targets included, a few kB more on the single-stage image); on the
containerd image store (Docker Desktop, Docker >= 25 new installs) the compressed layers
*plus* the unpacked snapshot (7.35 MB for a 5.07 MB image); on Podman its storage's own
records. MB means 10**6 bytes everywhere in the kit.

File-level breakdown (:func:`file_breakdown`): the image's ``docker save`` archive is streamed
from the engine and every layer's tar is walked, whiteouts included, without keeping file
contents. The final filesystem is computed by stacking the layers as overlayfs does (a
``.wh.NAME`` marker deletes ``NAME`` and everything below it from lower layers; a
``.wh..wh..opq`` marker hides everything lower layers had in its directory). The dive-style
figures are::

    total_bytes  = sum over layers of the bytes of the regular files in the layer's tar
    final_bytes  = sum of the bytes of the files visible in the final filesystem
    wasted_bytes = total_bytes - final_bytes
                 = bytes of the copies that a later layer overwrote or deleted
    efficiency   = final_bytes / total_bytes            (1.0 for an image without bytes)

A layer's ``wasted_bytes`` are the bytes of its own entries that do not survive to the final
filesystem, so the per-layer figures add up to the image's. A hard link weighs 0 (its bytes
count once, on the file it links to, as ``du`` and the engine count them); symlinks,
directories and whiteouts weigh 0. ``total_bytes`` of the single-stage image is 759,894,064
B, what dive 0.13.1 reports too; overlay2's ``Size`` adds the symlinks' target lengths.

How this differs from dive: dive's "potential wasted space" sums, for every path present in
more than one layer, the sizes of *all* its copies, the surviving top copy included (a
whiteout weighing what it deleted); here only the copies that are really hidden count, so
dive's figure can be larger. Dive's efficiency is ``sum over paths of the smallest copy /
sum over paths of all copies``, which credits a deleted file with one useful copy; here a
deleted file is wasted in full. An image in which no file is overwritten or deleted has
``wasted_bytes == 0`` and ``efficiency == 1.0`` in both.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Callable

import docker
import pandas as pd
from docker.errors import APIError, ImageNotFound
from requests.exceptions import RequestException

from ..config import MB
from ..engine.probe import image_store
from ..errors import KitError, engine_error, missing_image
from .archive import ArchiveError, ImageExport, merge, read_export


@dataclass
class ImageSummary:
    """Headline figures of one image.

    ``size_bytes`` is the kit's one size, the same on every engine: the uncompressed bytes of
    the files in the image's layers (what a container's filesystem is made of; a hard link
    counted once), read from the image's export. ``engine_size_bytes`` is what ``docker
    images`` shows on this engine, which counts other things on other stores
    (:func:`engine_size_note`).
    """

    tag: str
    image_id: str
    size_bytes: int
    layers: int
    recorded: bool = False  # True when it comes from a recorded run (no engine here)
    engine_size_bytes: int | None = None
    engine_size_note: str = ""

    @property
    def size_mb(self) -> float:
        return self.size_bytes / MB


def get_image(client: docker.DockerClient, tag: str):
    """The image ``tag``, or a KitError saying how to build it."""
    try:
        return client.images.get(tag)
    except ImageNotFound:
        raise missing_image(tag) from None


def summarize(client: docker.DockerClient, tag: str) -> ImageSummary:
    """Size (uncompressed layer bytes), the engine's own figure, and the layer count of ``tag``.

    The size comes from :func:`file_breakdown` (one export per image, then kept), the layer
    count from ``RootFS.Layers``.
    """
    image = get_image(client, tag)
    layers = image.attrs.get("RootFS", {}).get("Layers") or []
    breakdown = file_breakdown(client, tag)
    return ImageSummary(tag, image.id, breakdown.total_bytes, len(layers),
                        engine_size_bytes=listed_size(client, image),
                        engine_size_note=engine_size_note(image_store(client)))


def listed_size(client: docker.DockerClient, image) -> int:
    """The size ``docker images`` shows for ``image`` (the image list's ``Size``).

    Not always the inspect ``Size``: on the containerd image store the list counts the
    compressed content *and* the unpacked snapshot (7.35 MB for the reference image) where
    ``docker image inspect`` counts the compressed content only (2.26 MB).
    """
    for entry in client.api.images():
        if entry.get("Id") == image.id:
            return int(entry.get("Size") or 0)
    return int(image.attrs.get("Size") or 0)


def engine_size_note(store: str) -> str:
    """What the engine's image ``Size`` (``docker images``) counts on ``store``, in a phrase."""
    if store == "containerd":
        return ("the containerd image store counts the compressed layers it keeps plus "
                "their unpacked snapshot; `docker image inspect` shows the compressed part")
    if store == "podman":
        return "Podman counts the layers as its storage records them"
    if store.startswith("graphdriver:"):
        return (f"the {store.split(':', 1)[1]} store counts the unpacked layer folders, "
                "symlinks included")
    return ""


def history_frame(client: docker.DockerClient, tag: str) -> pd.DataFrame:
    """The image history, oldest step first, one row per Dockerfile instruction.

    Columns: ``step`` (1-based), ``instruction`` (cleaned ``CreatedBy``), ``size_bytes``,
    ``size_mb``, ``empty_layer`` (metadata-only steps such as ENV or CMD make no bytes).
    """
    rows = []
    for entry in reversed(get_image(client, tag).history()):
        size = int(entry.get("Size") or 0)
        rows.append({"instruction": clean_created_by(entry.get("CreatedBy", "")),
                     "size_bytes": size, "size_mb": size / MB,
                     "empty_layer": size == 0})
    frame = pd.DataFrame(rows, columns=["instruction", "size_bytes", "size_mb", "empty_layer"])
    frame.insert(0, "step", range(1, len(frame) + 1))
    return frame


#: ``COPY dir:<sha> in /app`` as the classic builder records it, and what each source kind means.
COPY_HASH_RE = re.compile(r"^(COPY|ADD) (file|dir|multi):[0-9a-f]+ in ")
COPY_SOURCE_KINDS = {"file": "file", "dir": "folder", "multi": "several files"}


#: The classic builder records HEALTHCHECK as a Go struct:
#: ``HEALTHCHECK &{["CMD" "/server" "-healthcheck"] "10s" "3s" "2s" '\x03'}``.
HEALTHCHECK_STRUCT_RE = re.compile(
    r'HEALTHCHECK &\{\[(?P<test>.*?)\] "(?P<interval>[^"]*)" "(?P<timeout>[^"]*)" '
    r'"(?P<start>[^"]*)" \'?(?P<retries>[^\'}]*)\'?\}')
_GO_QUOTED_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _healthcheck_instruction(match: re.Match) -> str:
    """The Dockerfile HEALTHCHECK line back from the builder's struct text."""
    test = _GO_QUOTED_RE.findall(match["test"])
    retries = match["retries"]
    if retries.startswith("\\x"):
        retries = str(int(retries[2:], 16))
    options = [f"--{name}={value}" for name, value in (
        ("interval", match["interval"]), ("timeout", match["timeout"]),
        ("start-period", match["start"]), ("retries", retries))
        if value and value not in ("0s", "0")]
    if test[:1] == ["CMD"]:
        command = "CMD " + json.dumps(test[1:], separators=(",", ":"))
    elif test[:1] == ["CMD-SHELL"]:
        command = "CMD " + " ".join(test[1:])
    else:
        command = " ".join(test) or "NONE"
    return " ".join(["HEALTHCHECK", *options, command])


def clean_created_by(created_by: str) -> str:
    """Turn the builder's ``CreatedBy`` text into the Dockerfile instruction a learner wrote.

    ``/bin/sh -c #(nop) COPY dir:3f2a… in /app`` -> ``COPY <folder> /app`` (the classic
    builder records a content hash, not the source names);
    ``/bin/sh -c go build -o server ./cmd/server`` -> ``RUN go build -o server ./cmd/server``;
    BuildKit's ``RUN /bin/sh -c ... # buildkit`` -> ``RUN ...``.
    """
    text = " ".join(created_by.split())
    if not text:
        return "(imported base filesystem)"
    text = text.removesuffix(" # buildkit")
    if text.startswith("/bin/sh -c #(nop) "):
        text = text[len("/bin/sh -c #(nop) "):]
        if (healthcheck := HEALTHCHECK_STRUCT_RE.fullmatch(text)) is not None:
            return _healthcheck_instruction(healthcheck)
        return COPY_HASH_RE.sub(lambda m: f"{m[1]} <{COPY_SOURCE_KINDS[m[2]]}> ", text)
    if text.startswith("/bin/sh -c "):
        return "RUN " + text[len("/bin/sh -c "):]
    if text.startswith("RUN /bin/sh -c "):
        return "RUN " + text[len("RUN /bin/sh -c "):]
    return text


# ---------------------------------------------------------------------------------------------
# File-level breakdown, streamed from `docker save`
# ---------------------------------------------------------------------------------------------
#: Bytes asked of the engine per read of the `docker save` stream.
SAVE_CHUNK_SIZE = 1 << 20

_C_TOOLS = "C compiler, headers, static libs"
_DOCS = "docs, man pages, locales"
_BASE = "Debian base system"

#: Friendly categories for teaching charts: ``(pattern, label)``, first match wins.
#: A pattern is an absolute path in which ``*`` matches within one path component; a pattern
#: ending in ``/`` matches that path and everything below it, otherwise the path alone.
CATEGORY_PATTERNS: tuple[tuple[str, str], ...] = (
    ("/usr/local/go/", "Go toolchain (/usr/local/go)"),
    ("/root/.cache/go-build/", "Go build cache"),
    ("/go/pkg/mod/", "Go module cache"),
    ("/root/go/pkg/mod/", "Go module cache"),
    # gcc, cc1 & co, binutils, libc headers and static libraries: only needed to compile C
    ("/usr/lib/gcc/", _C_TOOLS),
    ("/usr/libexec/gcc/", _C_TOOLS),
    ("/usr/include/", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/*.a", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/*.o", _C_TOOLS),
    ("/usr/bin/x86_64-linux-gnu-*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libbfd*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libopcodes*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libctf*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libsframe*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libgprofng*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/gprofng/", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libisl*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libmpc*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libmpfr*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libasan*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libtsan*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/liblsan*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libubsan*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libhwasan*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libcc1*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libgomp*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libitm*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libquadmath*", _C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libatomic*", _C_TOOLS),
    ("/usr/lib/bfd-plugins/", _C_TOOLS),
    ("/usr/share/gcc/", _C_TOOLS),
    ("/usr/bin/gcc*", _C_TOOLS),
    ("/usr/bin/cpp*", _C_TOOLS),
    ("/usr/bin/cc", _C_TOOLS),
    ("/usr/bin/c89*", _C_TOOLS),
    ("/usr/bin/c99*", _C_TOOLS),
    ("/usr/bin/gcov*", _C_TOOLS),
    ("/usr/bin/lto-dump*", _C_TOOLS),
    ("/var/lib/apt/lists/", "apt package lists"),
    ("/usr/share/doc/", _DOCS),
    ("/usr/share/man/", _DOCS),
    ("/usr/share/locale/", _DOCS),
    ("/usr/share/info/", _DOCS),
    ("/usr/share/lintian/", _DOCS),
    ("/etc/ssl/certs/", "CA certificates"),
    ("/usr/share/ca-certificates/", "CA certificates"),
    ("/app/", "the app (source + binary)"),
    ("/usr/lib/git-core/", "git"),
    ("/usr/share/git-core/", "git"),
    ("/usr/bin/git*", "git"),
    ("/usr/bin/scalar", "git"),
    ("/usr/lib/x86_64-linux-gnu/perl*/", "perl"),
    ("/usr/share/perl*/", "perl"),
    ("/usr/bin/perl*", "perl"),
    ("/usr/lib/x86_64-linux-gnu/libperl*", "perl"),
    # Debian's merged-/usr symlinks sit at the root too; any other root-level file is taken
    # for the ENTRYPOINT/CMD binary (/server in the scratch image)
    ("/bin", _BASE),
    ("/sbin", _BASE),
    ("/lib*", _BASE),
    ("/*", "the server binary"),
)
#: Category of every path no pattern matches.
DEFAULT_CATEGORY = _BASE


@dataclass
class ImageBreakdown:
    """What is inside an image, file by file, from its ``docker save`` archive.

    Attributes:
        tag: The image analysed.
        layers: One row per filesystem layer, oldest first. Columns ``layer`` (1-based),
            ``instruction`` (the Dockerfile instruction that made it), ``size_bytes`` (regular
            files in the layer's tar), ``files`` (regular files, hard links and symlinks),
            ``whiteouts`` (deletion markers), ``wasted_bytes`` (bytes of this layer's files
            that a later layer overwrote or deleted).
        files: The final filesystem: ``path``, ``size_bytes`` and ``layer`` of every regular
            file, hard link and symlink that is visible, sorted by path.
        total_bytes: Sum of ``size_bytes`` over all layers.
        final_bytes: Sum of ``size_bytes`` over ``files`` (what a container sees).
        wasted_bytes: ``total_bytes - final_bytes``.
        efficiency: ``final_bytes / total_bytes`` (1.0 for an image without bytes).
    """

    tag: str
    layers: pd.DataFrame
    files: pd.DataFrame
    total_bytes: int
    final_bytes: int
    wasted_bytes: int
    efficiency: float
    recorded: bool = False  # True when it comes from a recorded run (no engine here)
    layout: str = ""        # how the engine exported it (see helpers.image.archive.ImageExport)
    compression: dict[str, int] = field(default_factory=dict)  # layers per compression


def file_breakdown(client: docker.DockerClient, tag: str,
                   on_progress: Callable[[int], None] | None = None) -> ImageBreakdown:
    """Every file of every layer of ``tag``, from its ``docker save`` archive, streamed.

    The archive is read once, sequentially, in 1 MiB chunks (:func:`helpers.image.archive.
    read_export`, which reads every engine's layout and compressed layers): it is never held
    in memory nor written to disk, and file contents are skipped. Layers are named after the
    image config's ``history`` entries that made a filesystem layer. Image ids name content,
    so the result is kept per image id and a second call for the same image costs nothing.

    Args:
        client: A connected docker client.
        tag: Image tag or id.
        on_progress: Called with the number of archive bytes read so far, at most once per
            :data:`helpers.image.archive.PROGRESS_EVERY` bytes.

    Returns:
        The :class:`ImageBreakdown`.

    Raises:
        KitError: The image does not exist, or the engine could not export it (or sent an
            export the kit cannot read: the message says what is wrong with it).
    """
    image_id = get_image(client, tag).id  # a missing image -> KitError with a hint
    key = (getattr(client.api, "base_url", ""), image_id)
    if (known := _BREAKDOWNS.get(key)) is not None:
        return dataclasses.replace(known, tag=tag)
    chunks = client.api.get_image(tag, chunk_size=SAVE_CHUNK_SIZE)
    try:
        export = read_export(chunks, on_progress)
    except APIError as exc:  # raised by the first read, when the engine refuses the export
        raise KitError(f"The engine could not export {tag!r}: {exc.explanation or exc}",
                       "`docker save` stages the archive in the engine's data root: check "
                       f"there is free disk space and that `docker save {tag} > /dev/null` "
                       "works.") from None
    except RequestException as exc:
        raise engine_error(exc, f"exporting {tag!r}") from None
    except ArchiveError as exc:
        raise KitError(f"The export the engine sent for {tag!r} cannot be read: {exc}.",
                       f"Retry; if it persists, `docker save {tag} | tar -t` shows what the "
                       "engine writes (please report it with the engine's version).") from None
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:  # let go of the HTTP response even on an early exit
            close()
    breakdown = breakdown_of(tag, export)
    if len(_BREAKDOWNS) >= _KEEP_BREAKDOWNS:
        _BREAKDOWNS.pop(next(iter(_BREAKDOWNS)))
    _BREAKDOWNS[key] = breakdown
    return breakdown


#: Breakdowns of the last images seen, by (engine, image id): an id names the image's content,
#: so an entry never goes stale; a rebuilt tag has a new id.
_BREAKDOWNS: dict[tuple[str, str], ImageBreakdown] = {}
_KEEP_BREAKDOWNS = 8


def forget_breakdowns() -> None:
    """Empty the breakdown cache (tests whose fake images share ids call it)."""
    _BREAKDOWNS.clear()


def breakdown_of(tag: str, export: ImageExport) -> ImageBreakdown:
    """The :class:`ImageBreakdown` of an export read by :func:`helpers.image.archive.read_export`."""
    ordered = export.layers
    instructions = [clean_created_by(entry.get("created_by", ""))
                    for entry in export.config.get("history") or []
                    if not entry.get("empty_layer")]
    instructions += ["(unknown)"] * (len(ordered) - len(instructions))
    final, wasted = merge(ordered)
    layers = pd.DataFrame(
        [(number, instruction, sum(table.files.values()), len(table.files), table.whiteouts,
          lost)
         for number, (table, instruction, lost)
         in enumerate(zip(ordered, instructions, wasted), start=1)],
        columns=["layer", "instruction", "size_bytes", "files", "whiteouts", "wasted_bytes"])
    final.sort()
    files = pd.DataFrame(final, columns=["path", "size_bytes", "layer"])
    layers = layers.astype({"layer": "int64", "size_bytes": "int64", "files": "int64",
                            "whiteouts": "int64", "wasted_bytes": "int64"})
    files = files.astype({"size_bytes": "int64", "layer": "int64"})
    total = int(layers["size_bytes"].sum())
    final_bytes = int(files["size_bytes"].sum())
    return ImageBreakdown(tag=tag, layers=layers, files=files, total_bytes=total,
                          final_bytes=final_bytes, wasted_bytes=total - final_bytes,
                          efficiency=final_bytes / total if total else 1.0,
                          layout=export.layout, compression=dict(export.compression))


def directory_sizes(files: pd.DataFrame, depth: int = 2) -> pd.DataFrame:
    """Bytes and file count per directory, cut at ``depth`` path components.

    ``/usr/local/go/bin/go`` counts for ``/usr/local`` at depth 2; a file shallower than that
    counts for its parent directory (``/etc/passwd`` -> ``/etc``), and a file at the root
    stands for itself (``/server``).

    Args:
        files: ``ImageBreakdown.files`` (columns ``path`` and ``size_bytes``).
        depth: How many leading directory components to keep (>= 1).

    Returns:
        Columns ``directory``, ``size_bytes``, ``files``; biggest first.
    """
    if depth < 1:
        raise ValueError("depth must be >= 1")
    keys = []
    for path in files["path"]:
        parts = path.split("/", depth + 1)  # ["", c1, ..., c_depth, rest?]
        if len(parts) > depth + 1:  # deeper than depth: keep depth directory components
            keys.append("/".join(parts[:depth + 1]))
        else:  # its parent directory, or the file itself at the root
            parent = path[:path.rfind("/")]
            keys.append(parent or path)
    return _grouped(files, "directory", keys)


def categorize(path: str) -> str:
    """The friendly category of ``path`` (first match in :data:`CATEGORY_PATTERNS`).

    >>> categorize("/usr/local/go/bin/go")
    'Go toolchain (/usr/local/go)'
    """
    match = _CATEGORY_RE.match(path)
    return _CATEGORY_LABELS[match.lastindex - 1] if match else DEFAULT_CATEGORY


def category_sizes(files: pd.DataFrame) -> pd.DataFrame:
    """Bytes and file count per :func:`categorize` category; biggest first.

    Args:
        files: ``ImageBreakdown.files`` (columns ``path`` and ``size_bytes``).

    Returns:
        Columns ``category``, ``size_bytes``, ``files``.
    """
    return _grouped(files, "category", [categorize(path) for path in files["path"]])


def _grouped(files: pd.DataFrame, key: str, keys: list[str]) -> pd.DataFrame:
    """Sum ``size_bytes`` and count files per key, biggest first (ties by key)."""
    frame = pd.DataFrame({key: keys, "size_bytes": files["size_bytes"].to_numpy()},
                         columns=[key, "size_bytes"])
    grouped = frame.groupby(key, sort=False)["size_bytes"].agg(["sum", "size"]).reset_index()
    grouped.columns = [key, "size_bytes", "files"]
    grouped = grouped.astype({"size_bytes": "int64", "files": "int64"})
    return grouped.sort_values(["size_bytes", key], ascending=[False, True],
                               ignore_index=True)


def _pattern_regex(pattern: str) -> str:
    """One :data:`CATEGORY_PATTERNS` pattern as a regex group."""
    subtree = pattern.endswith("/")
    body = re.escape(pattern.rstrip("/")).replace(r"\*", "[^/]*")
    return f"({body}{'(?:/|$)' if subtree else '$'})"


_CATEGORY_RE = re.compile("|".join(_pattern_regex(p) for p, _ in CATEGORY_PATTERNS))
_CATEGORY_LABELS = [label for _, label in CATEGORY_PATTERNS]
