"""Image sizes and layer history, as numbers and pandas DataFrames.

Sizes come from the engine's image inspect ``Size`` field: the uncompressed size of all the
image's layers in the engine's image store (with the classic overlay2 graph driver, the bytes
on disk; ``docker images`` shows the same figure). MB means 10**6 bytes everywhere in the kit.

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
filesystem, so the per-layer figures add up to the image's. Hard links weigh what their
target weighs, symlinks, directories and whiteouts weigh 0. So ``total_bytes`` is close to,
not equal to, the engine's ``Size``, which counts a hard-linked file once and a symlink as the
length of its target (+0.5 % on the single-stage image, where /usr/bin/perl is hard-linked).

How this differs from dive: dive's "potential wasted space" sums, for every path present in
more than one layer, the sizes of *all* its copies, the surviving top copy included (a
whiteout weighing what it deleted); here only the copies that are really hidden count, so
dive's figure can be larger. Dive's efficiency is ``sum over paths of the smallest copy /
sum over paths of all copies``, which credits a deleted file with one useful copy; here a
deleted file is wasted in full. An image in which no file is overwritten or deleted has
``wasted_bytes == 0`` and ``efficiency == 1.0`` in both.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import docker
import pandas as pd
from docker.errors import APIError, ImageNotFound
from requests.exceptions import RequestException

from .config import MB
from .errors import KitError


@dataclass
class ImageSummary:
    """Headline figures of one image."""

    tag: str
    image_id: str
    size_bytes: int
    layers: int
    recorded: bool = False  # True when it comes from a recorded run (no engine here)

    @property
    def size_mb(self) -> float:
        return self.size_bytes / MB


def get_image(client: docker.DockerClient, tag: str):
    """The image ``tag``, or a KitError saying how to build it."""
    try:
        return client.images.get(tag)
    except ImageNotFound:
        raise KitError(f"There is no image {tag!r} on this engine.",
                       "Build it first (the build cell above, or `python -m helpers demo`).") \
            from None


def summarize(client: docker.DockerClient, tag: str) -> ImageSummary:
    """Size (inspect ``Size``) and number of filesystem layers (``RootFS.Layers``) of ``tag``."""
    image = get_image(client, tag)
    layers = image.attrs.get("RootFS", {}).get("Layers") or []
    return ImageSummary(tag, image.id, int(image.attrs["Size"]), len(layers))


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
#: ``on_progress`` is called at most once per this many bytes read.
PROGRESS_EVERY = 10 * MB

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


class _TarStream:
    """Forward-only reader over an iterator of ``bytes`` chunks: exact reads and cheap skips.

    Skipping a file's contents only moves an offset through the chunks already received, so
    no byte is copied; only tar headers and small JSON documents are ever sliced out. (The
    standard ``tarfile`` in stream mode ``"r|"``, nested for the layer tars, was measured at
    1.3x the time of a plain read of the 780 MB archive of the single-stage image: per-member
    overhead and copies through its 10 KB stream buffers. This reader with :func:`_walk`
    stays within a few percent.)
    """

    __slots__ = ("_chunks", "_buf", "_pos", "_base", "_on_progress", "_next_report")

    def __init__(self, chunks: Iterable[bytes],
                 on_progress: Callable[[int], None] | None = None) -> None:
        self._chunks = iter(chunks)
        self._buf = b""
        self._pos = 0   # read position in _buf
        self._base = 0  # stream offset of _buf[0]
        self._on_progress = on_progress
        self._next_report = PROGRESS_EVERY

    @property
    def bytes_read(self) -> int:
        """Bytes received from the engine so far."""
        return self._base + len(self._buf)

    def tell(self) -> int:
        return self._base + self._pos

    def _fill(self) -> bool:
        """Move to the next non-empty chunk; False at the end of the stream."""
        self._base += len(self._buf)
        for chunk in self._chunks:
            if chunk:
                self._buf, self._pos = chunk, 0
                if self._on_progress is not None and self.bytes_read >= self._next_report:
                    self._next_report = self.bytes_read + PROGRESS_EVERY
                    self._on_progress(self.bytes_read)
                return True
        self._buf, self._pos = b"", 0
        return False

    def read(self, size: int) -> bytes:
        """The next ``size`` bytes (fewer only at the end of the stream)."""
        pos, end = self._pos, self._pos + size
        if end <= len(self._buf):  # the common case: inside the current chunk
            self._pos = end
            return self._buf[pos:end]
        parts = [self._buf[pos:]]
        size -= len(self._buf) - pos
        self._pos = len(self._buf)
        while size > 0 and self._fill():
            part = self._buf[:size]
            parts.append(part)
            self._pos = len(part)
            size -= len(part)
        return b"".join(parts)

    def peek(self, size: int) -> bytes:
        """Up to ``size`` next bytes without consuming them (at most the rest of a chunk)."""
        if self._pos >= len(self._buf):
            self._fill()
        return self._buf[self._pos:self._pos + size]

    def skip(self, size: int) -> None:
        """Drop the next ``size`` bytes."""
        while size > len(self._buf) - self._pos:
            size -= len(self._buf) - self._pos
            self._pos = len(self._buf)
            if not self._fill():
                raise _TarError("unexpected end of the archive")
        self._pos += size

    def drain(self) -> None:
        """Read the stream to its end (trailing padding), so the engine finishes cleanly."""
        while self._fill():
            pass


class _TarError(Exception):
    """The stream is not the tar archive it should be."""


# Member types (POSIX ustar, GNU and pax), as the header's one-byte type flag.
_REGULAR = frozenset((b"0", b"\0", b"7"))          # file, old-style file, contiguous file
_DIRECTORY, _SYMLINK, _HARDLINK = b"5", b"2", b"1"
_NO_DATA = frozenset((b"1", b"2", b"3", b"4", b"5", b"6"))  # size field ignored, as tarfile does
_NUL_BLOCK = bytes(512)


def _octal(field: bytes) -> int:
    """A numeric header field: octal text, or GNU base-256 when the top bit is set."""
    if field[0] & 0x80:
        return int.from_bytes(field[1:], "big")
    return int(field.split(b"\0", 1)[0].strip() or b"0", 8)


def _pax_records(data: bytes) -> dict[bytes, bytes]:
    """Parse pax extended header records (``"LEN key=value\n"``)."""
    records, pos = {}, 0
    while pos < len(data) and data[pos]:
        space = data.index(b" ", pos)
        length = int(data[pos:space])
        key, _, value = data[space + 1:pos + length - 1].partition(b"=")
        records[key] = value
        pos += length
    return records


def _check_header(header: bytes) -> None:
    """Raise _TarError unless the header checksum is right (unsigned or signed sum)."""
    stored = _octal(header[148:156])
    if sum(header) - sum(header[148:156]) + 256 == stored:
        return
    signed = sum(b - 256 if b > 127 else b for b in header[:148] + header[156:]) + 256
    if signed != stored:
        raise _TarError("bad tar header checksum")


def _walk(stream: _TarStream, end: int | None = None
          ) -> Iterator[tuple[str, bytes, int, str]]:
    """Yield ``(name, type, size, linkname)`` for each member of the tar at ``stream``.

    A minimal ustar/GNU/pax header reader over a forward-only stream (``linkname`` is only
    filled in for hard links). The caller may read part of the member's data before asking
    for the next member; the rest, and the padding to the next 512-byte block, is skipped.
    Stops at the end-of-archive block, at ``end`` (the stream offset where an enclosing
    member ends), or at the end of the stream.
    """
    pax: dict[bytes, bytes] = {}
    long_name = long_link = None
    read, skip, tell = stream.read, stream.skip, stream.tell
    while end is None or tell() + 512 <= end:
        header = read(512)
        if len(header) < 512:
            if header:
                raise _TarError("truncated tar header")
            return
        if header == _NUL_BLOCK:
            return
        if header[257:262] != b"ustar":  # summing every header would cost 1/3 of the walk;
            _check_header(header)         # a misaligned read lacks the magic and fails here
        kind = header[156:157]
        size = _octal(header[124:136])
        if kind in _METADATA:  # extended header / long name for the next member
            data = read(size)
            skip(-size % 512)
            if kind == b"x":
                pax = _pax_records(data)
            elif kind == b"L":
                long_name = data.split(b"\0", 1)[0]
            elif kind == b"K":
                long_link = data.split(b"\0", 1)[0]
            continue
        name = header[:100].split(b"\0", 1)[0]
        if header[345] and header[257:263] == b"ustar\0":  # POSIX: name continues in prefix
            name = header[345:500].split(b"\0", 1)[0] + b"/" + name
        linkname = header[157:257].split(b"\0", 1)[0] if kind == _HARDLINK else b""
        if long_name is not None:
            name, long_name = long_name, None
        if long_link is not None:
            linkname, long_link = long_link, None
        if pax:
            name = pax.get(b"path", name)
            linkname = pax.get(b"linkpath", linkname)
            if b"size" in pax:
                size = int(pax[b"size"])
            pax = {}
        if kind == b"\0" and name.endswith(b"/"):  # old tars mark directories this way
            kind = _DIRECTORY
        data_end = tell() + (0 if kind in _NO_DATA else size + (-size % 512))
        yield (name.decode("utf-8", "surrogateescape"), kind, size,
               linkname.decode("utf-8", "surrogateescape") if linkname else "")
        skip(data_end - tell())


_METADATA = frozenset((b"x", b"g", b"L", b"K"))


class _LayerTable:
    """What one layer's tar holds, as compact path -> size entries."""

    __slots__ = ("files", "dirs", "deleted", "opaque")

    def __init__(self) -> None:
        self.files: dict[str, int] = {}  # regular files, hard links, symlinks (0 bytes)
        self.dirs: set[str] = set()
        self.deleted: list[str] = []     # targets of `.wh.NAME` whiteouts
        self.opaque: list[str] = []      # directories holding `.wh..wh..opq` ("" is the root)

    @property
    def whiteouts(self) -> int:
        return len(self.deleted) + len(self.opaque)


def _normalize(name: str) -> str:
    """Tar member name -> absolute path (``./usr/bin/`` -> ``/usr/bin``); ``""`` for the root."""
    if name.startswith("./"):
        name = name[2:]
    name = name.strip("/")
    return "" if name in ("", ".") else "/" + name


def _add_entry(table: _LayerTable, name: str, kind: bytes, size: int, linkname: str) -> None:
    """Record one member of a layer tar (whiteouts turned into deletions)."""
    path = _normalize(name)
    if not path:
        return
    slash = path.rfind("/")
    if path.startswith(".wh.", slash + 1):  # a whiteout marker, not a file
        parent, target = path[:slash], path[slash + 5:]
        if target == ".wh..opq":
            table.opaque.append(parent)
        elif not target.startswith(".wh."):  # skip aufs metadata like .wh..wh.plnk
            table.deleted.append(parent + "/" + target)
        return
    if kind in _REGULAR:
        table.files[path] = size
    elif kind == _DIRECTORY:
        table.dirs.add(path)
    elif kind == _SYMLINK:
        table.files[path] = 0
    elif kind == _HARDLINK:  # a hard link weighs what its target (same layer) weighs
        table.files[path] = table.files.get(_normalize(linkname), 0)
    # devices and fifos hold no bytes and are not counted


def _read_layer(stream: _TarStream, end: int) -> _LayerTable:
    """Walk the layer tar that fills the stream up to offset ``end``, skipping contents."""
    table = _LayerTable()
    for name, kind, size, linkname in _walk(stream, end):
        _add_entry(table, name, kind, size, linkname)
    return table


def _read_archive(chunks: Iterable[bytes], on_progress: Callable[[int], None] | None
                  ) -> tuple[dict[str, _LayerTable], dict[str, bytes]]:
    """Stream a `docker save` archive: each layer's table, and the small JSON documents.

    Layers are keyed by their member name (``<id>/layer.tar``, or ``blobs/sha256/<hex>`` in
    the OCI layout of Docker >= 25), documents by member name (``manifest.json``, the config,
    ``<id>/json``), whatever order they come in.
    """
    stream = _TarStream(chunks, on_progress)
    tables: dict[str, _LayerTable] = {}
    documents: dict[str, bytes] = {}
    for name, kind, size, _ in _walk(stream):
        if kind not in _REGULAR:
            continue
        if name.endswith("/layer.tar"):
            tables[name] = _read_layer(stream, stream.tell() + size)
        elif name.startswith("blobs/"):  # OCI layout: a JSON document or a layer tar
            if size <= _MAX_DOCUMENT and stream.peek(1) == b"{":
                documents[name] = stream.read(size)
            else:
                tables[name] = _read_layer(stream, stream.tell() + size)
        elif (name.endswith("json") or name == "repositories") and size <= _MAX_DOCUMENT:
            documents[name] = stream.read(size)
    stream.drain()
    return tables, documents


#: Bigger members are never read into memory as documents.
_MAX_DOCUMENT = 16 * MB


def _merge(tables: list[_LayerTable]) -> tuple[list[tuple[str, int, int]], list[int]]:
    """Apply layers like overlayfs does: the visible files, and each layer's lost bytes.

    Walks the layers top-down, as a lookup does: an entry of a lower layer is hidden when an
    upper layer has the same path (file or directory), deleted it (``.wh.``), or hid one of
    its parent directories (``.wh.dir``, an opaque directory, or a non-directory put where
    the directory was).
    """
    all_dirs = set().union(*(table.dirs for table in tables))
    same_path: set[str] = set()  # paths an upper layer holds or deleted
    subtree: set[str] = set()    # paths whose contents upper layers hide
    final: list[tuple[str, int, int]] = []
    wasted = [0] * len(tables)
    for index in range(len(tables) - 1, -1, -1):
        table, number = tables[index], index + 1
        if not same_path and not subtree:  # nothing above hides anything: all visible
            final.extend((path, size, number) for path, size in table.files.items())
        else:
            lost = 0
            for path, size in table.files.items():
                if path in same_path or (subtree and _under(path, subtree)):
                    lost += size
                else:
                    final.append((path, size, number))
            wasted[index] = lost
        if index:  # what this layer hides from the layers below it
            same_path.update(table.files, table.dirs, table.deleted)
            subtree.update(table.deleted, table.opaque)
            subtree.update(path for path in table.files if path in all_dirs)
    return final, wasted


def _under(path: str, roots: set[str]) -> bool:
    """True if a proper parent directory of ``path`` (``""`` being the root) is in ``roots``."""
    cut = path.rfind("/")
    while cut >= 0:
        path = path[:cut]
        if path in roots:
            return True
        cut = path.rfind("/")
    return False


def file_breakdown(client: docker.DockerClient, tag: str,
                   on_progress: Callable[[int], None] | None = None) -> ImageBreakdown:
    """Every file of every layer of ``tag``, from its ``docker save`` archive, streamed.

    The archive is read once, sequentially, in 1 MiB chunks: it is never held in memory nor
    written to disk, and file contents are skipped. Layers are ordered by ``manifest.json``
    (which may come last in the stream) and named after the image config's ``history``
    entries that made a filesystem layer.

    Args:
        client: A connected docker client.
        tag: Image tag or id.
        on_progress: Called with the number of archive bytes read so far, at most once per
            :data:`PROGRESS_EVERY` bytes.

    Returns:
        The :class:`ImageBreakdown`.

    Raises:
        KitError: The image does not exist, or the engine could not export it.
    """
    get_image(client, tag)  # a missing image -> KitError with a hint
    chunks = client.api.get_image(tag, chunk_size=SAVE_CHUNK_SIZE)
    try:
        tables, documents = _read_archive(chunks, on_progress)
    except APIError as exc:  # raised by the first read, when the engine refuses the export
        raise KitError(f"The engine could not export {tag!r}: {exc.explanation or exc}",
                       "`docker save` stages the archive in the engine's data root: check "
                       f"there is free disk space and that `docker save {tag} > /dev/null` "
                       "works.") from None
    except RequestException as exc:
        raise KitError(f"The connection to the engine broke while exporting {tag!r}: {exc}",
                       "Check the engine is still running (`docker info`), then retry.") \
            from None
    except _TarError as exc:
        raise KitError(f"The archive the engine sent for {tag!r} is not a valid tar: {exc}",
                       "Retry; if it persists, restart the engine.") from None
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:  # let go of the HTTP response even on an early exit
            close()

    manifest, config = _manifest_and_config(tag, documents)
    ordered = [tables.get(name) or _LayerTable() for name in manifest.get("Layers") or []]
    instructions = [clean_created_by(entry.get("created_by", ""))
                    for entry in config.get("history") or [] if not entry.get("empty_layer")]
    instructions += ["(unknown)"] * (len(ordered) - len(instructions))

    final, wasted = _merge(ordered)
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
                          efficiency=final_bytes / total if total else 1.0)


def _manifest_and_config(tag: str, documents: dict[str, bytes]) -> tuple[dict, dict]:
    """The image's entry of ``manifest.json`` and its config, from the archive's documents."""
    try:
        manifest = json.loads(documents["manifest.json"])[0]
        config = json.loads(documents.get(manifest.get("Config", ""), b"{}"))
    except (KeyError, IndexError, ValueError) as exc:
        raise KitError(f"The archive of {tag!r} has no usable manifest.json ({exc!r}).",
                       "Retry; the export may have been cut short.") from None
    return manifest, config


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
