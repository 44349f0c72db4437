"""Facts about a built image, read from the image itself: a file's bytes, the ELF binary, the
CA bundle Go would load, and the run configuration (ENTRYPOINT/CMD, USER, HEALTHCHECK...).

Nothing here runs the image. :func:`read_file` *creates* a container (never starts it) and
asks the engine for one path as a tar archive, the API behind ``docker cp``; that works for a
``FROM scratch`` image that has no shell, no ``cat`` and no ``ls``. The container carries the
kit's labels and is removed on every path out.

The pure functions (:func:`elf_facts`, :func:`parse_ca_bundle`, :class:`ImageConfig`'s
methods) take bytes or image metadata and never talk to the engine, so they are unit-tested on
their own.
"""

from __future__ import annotations

import ast
import base64
import binascii
import hashlib
import io
import posixpath
import re
import shlex
import tarfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Collection, Iterable, Iterator

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection, DynamicSegment
from elftools.elf.elffile import ELFFile
from requests.exceptions import RequestException

from ..config import MB, image_tag, kit_labels
from ..errors import KitError, engine_error, missing_image
from .layers import get_image

# ---------------------------------------------------------------------------------------------
# One file of an image, without running it
# ---------------------------------------------------------------------------------------------
#: The entrypoint given to the inspection container: it is never started, so it need not exist;
#: it only lets the engine create a container from an image that has no ENTRYPOINT/CMD.
_NEVER_RUN = ["/nonexistent"]
#: Default size limit of :func:`read_file`.
DEFAULT_MAX_BYTES = 64 * MB


@contextmanager
def _created_container(client: docker.DockerClient, image: str) -> Iterator[object]:
    """A created, never started, kit-labelled container of ``image``; removed on exit."""
    container = None
    try:
        try:
            container = client.containers.create(
                image, entrypoint=_NEVER_RUN, command=[], labels=kit_labels(),
                name=image_tag(f"kit-inspect-{uuid.uuid4().hex[:8]}"),
                network_disabled=True)
        except ImageNotFound:
            raise missing_image(image) from None
        except APIError as exc:
            raise engine_error(exc, f"creating a container of {image!r}") from None
        yield container
    finally:
        if container is not None:
            try:
                container.remove(force=True)
            except NotFound:
                pass


class _ChunkReader(io.RawIOBase):
    """A read-only file object over an iterator of ``bytes`` chunks (for ``tarfile`` "r|")."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(target), len(self._buf))
        target[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _fetch(container, path: str, max_bytes: int) -> tuple[str, bytes | str] | None:
    """One ``get_archive`` round: ``("file", bytes)``, ``("symlink", target)`` or None."""
    try:
        chunks, stat = container.get_archive(path)
    except NotFound:
        return None
    except APIError as exc:
        raise engine_error(exc, f"reading {path} from the image") from None
    try:
        if stat and int(stat.get("mode") or 0) & (1 << 27) == 0 \
                and int(stat.get("size") or 0) > max_bytes:  # 1<<27: Go's os.ModeSymlink
            raise _too_big(path, int(stat["size"]), max_bytes)
        with tarfile.open(fileobj=io.BufferedReader(_ChunkReader(chunks), 1 << 16),
                          mode="r|") as archive:
            member = archive.next()
            if member is None:
                return None
            if member.issym():
                return "symlink", member.linkname
            if member.islnk():  # a hard link to a file outside the archive: not expected
                raise KitError(f"{path} came back as a hard link to {member.linkname}.",
                               "Read the link's target path instead.")
            if not member.isfile():
                raise KitError(f"{path} is not a regular file in the image "
                               f"({'a directory' if member.isdir() else 'a special file'}).",
                               "Pass the path of a file.")
            if member.size > max_bytes:
                raise _too_big(path, member.size, max_bytes)
            data = archive.extractfile(member).read()
            for _ in archive:  # the rest of the stream (padding): let the response finish
                pass
            return "file", data
    except tarfile.TarError as exc:
        raise KitError(f"The engine sent a damaged archive for {path}: {exc}",
                       "Retry; if it persists, restart the engine.") from None
    except RequestException as exc:
        raise engine_error(exc, f"reading {path}") from None
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _too_big(path: str, size: int, max_bytes: int) -> KitError:
    return KitError(f"{path} is {size:,} bytes, more than the {max_bytes:,} bytes read_file "
                    "accepts.", "Pass a larger max_bytes if you really need it.")


def _read_in(container, path: str, max_bytes: int) -> bytes | None:
    """:func:`read_file` on an already created container."""
    if not path.startswith("/"):
        raise ValueError(f"read_file needs an absolute path, not {path!r}")
    found = _fetch(container, path, max_bytes)
    if found is not None and found[0] == "symlink":  # follow one level, as documented
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path), found[1]))
        found = _fetch(container, target, max_bytes)
        if found is not None and found[0] == "symlink":
            return None  # a chain of links: not followed further
    return found[1] if found is not None else None


def read_file(client: docker.DockerClient, image: str, path: str,
              max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | None:
    """The contents of one file of ``image``, without running the image.

    A container is created (never started; its entrypoint is overridden with a path that does
    not exist, so even an image without ENTRYPOINT/CMD can be created), the engine's archive
    API returns ``path`` as a tar stream, the member's bytes are extracted, and the container
    is removed (``force=True``) on every path out. Works on ``FROM scratch`` images.

    A symlink is followed one level: its target is resolved relative to the link's directory
    (an absolute target is taken inside the image) and fetched again. If that target is a
    symlink too, the chain is not followed and the result is None. Symlinked parent
    directories are resolved by the engine itself.

    Args:
        client: A connected docker client.
        image: Image tag or id.
        path: Absolute path of the file inside the image.
        max_bytes: Refuse files larger than this.

    Returns:
        The file's bytes, or None if the path (or the link's target) does not exist.

    Raises:
        KitError: The image does not exist, the path is a directory or special file, the file
            is larger than ``max_bytes``, or the engine failed.
        ValueError: ``path`` is not absolute.
    """
    with _created_container(client, image) as container:
        return _read_in(container, path, max_bytes)


# ---------------------------------------------------------------------------------------------
# ELF binaries
# ---------------------------------------------------------------------------------------------
#: ELF ``e_machine`` -> (machine as ``uname -m`` says it, GOARCH); entries may depend on the
#: class (32/64 bit) and the byte order, see :func:`_machine_names`.
_MACHINES = {
    "EM_X86_64": ("x86_64", "amd64"),
    "EM_AARCH64": ("aarch64", "arm64"),
    "EM_386": ("i386", "386"),
    "EM_ARM": ("arm", "arm"),
    "EM_RISCV": ("riscv64", "riscv64"),
    "EM_S390": ("s390x", "s390x"),
    "EM_LOONGARCH": ("loongarch64", "loong64"),
}


def _machine_names(elf: ELFFile) -> tuple[str, str | None]:
    """(machine, goarch) of an ELF file; goarch None for a CPU Go does not know."""
    em = elf["e_machine"]
    little = elf.little_endian
    if em == "EM_PPC64":
        return ("ppc64le", "ppc64le") if little else ("ppc64", "ppc64")
    if em == "EM_MIPS":
        name = ("mips64" if elf.elfclass == 64 else "mips") + ("le" if little else "")
        return name.replace("mips64le", "mips64el").replace("mipsle", "mipsel"), name
    if em in _MACHINES:
        return _MACHINES[em]
    return (em.removeprefix("EM_").lower() if isinstance(em, str) else str(em)), None


@dataclass
class ElfFacts:
    """What the ELF headers of a binary say about how it was built.

    Attributes:
        path: Where the binary was read from (informative only).
        is_elf: False for anything that is not a parseable ELF file (a script, text...); all
            other fields are then None/False/empty, except ``size_bytes``.
        machine: The CPU as ``uname -m`` names it (``x86_64``, ``aarch64``...).
        goarch: The same CPU in Go's terms (``amd64``, ``arm64``, ``386``, ``arm``...), None
            for a CPU Go does not build for.
        elf_type: ``ET_EXEC`` (fixed address) or ``ET_DYN`` (PIE or shared object).
        interpreter: The dynamic loader named by ``PT_INTERP``
            (``/lib64/ld-linux-x86-64.so.2``), None for a static binary.
        needed: ``DT_NEEDED`` shared libraries (``libc.so.6``...), in file order.
        static: No ``PT_INTERP`` and no ``DT_NEEDED``: runs without any library, in scratch.
        has_symtab: A ``.symtab`` symbol table is present (``SHT_SYMTAB``).
        has_debug: A ``.debug_*`` or ``.zdebug_*`` (DWARF) section is present.
        stripped: Neither a symbol table nor debug sections (``go build -ldflags="-s -w"``,
            ``strip``, ``gcc -s``).
        size_bytes: Size of the file.
        go_build_info: For a Go binary, the build information ``go version -m`` prints,
            read from the ``.go.buildinfo`` blob: ``go_version`` (``go1.22.10``), ``path``
            (the main package), ``main_module``, and every ``build`` setting under its own
            name, unquoted (``CGO_ENABLED``: ``"0"``, ``-ldflags``: ``"-s -w"``,
            ``-trimpath``: ``"true"``, ``GOOS``, ``GOARCH``...; a setting absent from the
            build is absent from the dict). None for a binary that is not Go, or Go older
            than 1.18 whose blob holds pointers instead of text.
    """

    path: str
    is_elf: bool
    machine: str | None = None
    goarch: str | None = None
    elf_type: str | None = None
    interpreter: str | None = None
    needed: list[str] = field(default_factory=list)
    static: bool = False
    has_symtab: bool = False
    has_debug: bool = False
    stripped: bool = False
    size_bytes: int = 0
    go_build_info: dict | None = None


def elf_facts(data: bytes, path: str = "") -> ElfFacts:
    """The :class:`ElfFacts` of a binary, from its bytes (no engine, no file system).

    Args:
        data: The whole file (for instance from :func:`read_file`).
        path: Where it came from, copied into the result.

    Returns:
        The facts; ``is_elf`` False if ``data`` is not an ELF file pyelftools can parse.
    """
    if not data.startswith(b"\x7fELF"):
        return ElfFacts(path=path, is_elf=False, size_bytes=len(data))
    try:
        elf = ELFFile(io.BytesIO(data))
        machine, goarch = _machine_names(elf)
        interpreter = None
        needed: list[str] = []
        dynamic = None
        for segment in elf.iter_segments():
            if segment["p_type"] == "PT_INTERP":
                interpreter = segment.get_interp_name()
            elif segment["p_type"] == "PT_DYNAMIC" and isinstance(segment, DynamicSegment):
                dynamic = segment
        has_symtab = has_debug = False
        for section in elf.iter_sections():
            if section["sh_type"] == "SHT_SYMTAB":
                has_symtab = True
            if section.name.startswith((".debug_", ".zdebug_")):
                has_debug = True
            if isinstance(section, DynamicSection):
                dynamic = section  # the section resolves names without the segments' help
        if dynamic is not None:
            needed = [tag.needed for tag in dynamic.iter_tags() if tag.entry.d_tag == "DT_NEEDED"]
        elf_type = elf["e_type"]
    except (ELFError, ValueError, KeyError, IndexError, AssertionError, EOFError, OSError):
        # pyelftools' own error, or a header pointing outside the file (construct errors)
        return ElfFacts(path=path, is_elf=False, size_bytes=len(data))
    return ElfFacts(
        path=path, is_elf=True, machine=machine, goarch=goarch, elf_type=elf_type,
        interpreter=interpreter, needed=needed,
        static=interpreter is None and not needed,
        has_symtab=has_symtab, has_debug=has_debug,
        stripped=not has_symtab and not has_debug,
        size_bytes=len(data), go_build_info=go_build_info(data))


# Go's build information blob (src/debug/buildinfo/buildinfo.go): a 32-byte header starting
# with this magic, 16-byte aligned; with flag 2 set (Go >= 1.18) two varint-prefixed strings
# follow, the Go version and the module information framed by two 16-byte sentinels.
_BUILDINFO_MAGIC = b"\xff Go buildinf:"
_FLAG_VERSION_INLINE = 2


def _uvarint_bytes(data: bytes, pos: int) -> tuple[bytes, int] | None:
    """A Go ``uvarint`` length followed by that many bytes, from ``pos``; None if cut short."""
    length = shift = 0
    while pos < len(data) and shift <= 63:
        byte = data[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            end = pos + length
            return (data[pos:end], end) if end <= len(data) else None
        shift += 7
    return None


def go_build_info(data: bytes) -> dict | None:
    """Go build information of a binary (see :attr:`ElfFacts.go_build_info`), or None."""
    pos = data.find(_BUILDINFO_MAGIC)
    while pos >= 0 and pos % 16:  # the blob is 16-byte aligned in the file
        pos = data.find(_BUILDINFO_MAGIC, pos + 1)
    if pos < 0 or len(data) < pos + 32 or not data[pos + 15] & _FLAG_VERSION_INLINE:
        return None
    version = _uvarint_bytes(data, pos + 32)
    if version is None or not version[0]:
        return None
    modinfo = _uvarint_bytes(data, version[1])
    mod = modinfo[0] if modinfo else b""
    # strip the sentinels framing the module information, as debug/buildinfo does
    mod = mod[16:-16] if len(mod) >= 33 and mod[-17:-16] == b"\n" else b""
    info: dict = {"go_version": version[0].decode("utf-8", "replace")}
    info.update(parse_modinfo(mod.decode("utf-8", "replace")))
    return info


def _go_unquote(text: str) -> str:
    """Undo Go's ``strconv.Quote`` (used by ``go version -m`` for values with spaces)."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text[1:-1]
    return text


def parse_modinfo(text: str) -> dict[str, str]:
    """The ``path``, ``mod`` and ``build`` lines of Go module information, as a flat dict.

    >>> parse_modinfo('path\\tex.com/x\\nbuild\\t-ldflags="-s -w"\\nbuild\\tCGO_ENABLED=0\\n')
    {'path': 'ex.com/x', '-ldflags': '-s -w', 'CGO_ENABLED': '0'}
    """
    info: dict[str, str] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "path":
            info["path"] = rest
        elif kind == "mod":
            info["main_module"] = rest.split("\t", 1)[0]
        elif kind == "build":
            if rest.startswith('"'):  # a quoted key (holds '=' or spaces)
                match = re.match(r'("(?:[^"\\]|\\.)*")=(.*)$', rest)
                if not match:
                    continue
                key, value = _go_unquote(match[1]), match[2]
            else:
                key, _, value = rest.partition("=")
            info[key] = _go_unquote(value)
    return info


# ---------------------------------------------------------------------------------------------
# The CA bundle Go's crypto/x509 loads
# ---------------------------------------------------------------------------------------------
#: The files Go's crypto/x509 tries on Linux, in order (root_linux.go); the first that can be
#: read is loaded, the others are ignored. ``SSL_CERT_FILE`` replaces this list.
GO_CERT_FILES: tuple[str, ...] = (
    "/etc/ssl/certs/ca-certificates.crt",                # Debian/Ubuntu/Gentoo etc.
    "/etc/pki/tls/certs/ca-bundle.crt",                  # Fedora/RHEL 6
    "/etc/ssl/ca-bundle.pem",                            # OpenSUSE
    "/etc/pki/tls/cacert.pem",                           # OpenELEC
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # CentOS/RHEL 7
    "/etc/ssl/cert.pem",                                 # Alpine Linux
)
#: Directories whose every file Go *also* loads, after the bundle (``SSL_CERT_DIR`` replaces
#: the list). Not read by :func:`find_ca_bundle`: the scratch image has none, and in Debian
#: they hold the same certificates as the bundle, which Go de-duplicates.
GO_CERT_DIRS: tuple[str, ...] = ("/etc/ssl/certs", "/etc/pki/tls/certs")

_PEM_BLOCK_RE = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)


@dataclass
class CaBundle:
    """The CA bundle a Go program in the image would load, and how many roots it holds.

    Attributes:
        path: The first of :data:`GO_CERT_FILES` that exists in the image, None if none does
            (then a Go program has no trusted roots and every HTTPS call fails).
        certificates: PEM ``CERTIFICATE`` blocks that decode to a well-formed DER X.509
            certificate (the blocks Go's ``AppendCertsFromPEM`` would add).
        invalid_blocks: ``CERTIFICATE`` blocks that do not (bad base64, not DER, truncated).
        size_bytes: Size of the bundle file.
        checked_paths: The paths looked at, in order, the found one last.
        unique_certificates: Distinct valid certificates (Go's pool, and so the server's
            ``/health`` ``ca_roots``, counts a duplicate once).
    """

    path: str | None
    certificates: int
    invalid_blocks: int
    size_bytes: int
    checked_paths: list[str]
    unique_certificates: int = 0


def _der_length(der: bytes, pos: int) -> tuple[int, int] | None:
    """(length, offset of contents) of the DER element whose length octets start at ``pos``."""
    if pos >= len(der):
        return None
    first = der[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 4 or pos + 1 + count > len(der):  # indefinite or absurd
        return None
    return int.from_bytes(der[pos + 1:pos + 1 + count], "big"), pos + 1 + count


def looks_like_x509(der: bytes) -> bool:
    """True if ``der`` has the outer shape of an X.509 certificate.

    ``SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE, signature BIT STRING }``
    with definite lengths that add up exactly to the bytes given. A structural check, not a
    full parse: enough to tell a certificate from damaged or truncated base64.
    """
    if len(der) < 2 or der[0] != 0x30:
        return False
    outer = _der_length(der, 1)
    if outer is None or outer[1] + outer[0] != len(der):
        return False
    pos, expected_tags = outer[1], (0x30, 0x30, 0x03)
    for tag in expected_tags:
        if pos >= len(der) or der[pos] != tag:
            return False
        element = _der_length(der, pos + 1)
        if element is None:
            return False
        pos = element[1] + element[0]
        if pos > len(der):
            return False
    return pos == len(der)


def parse_ca_bundle(data: bytes, path: str) -> CaBundle:
    """Count the certificates of a PEM bundle, as Go's ``AppendCertsFromPEM`` would see them.

    Only ``-----BEGIN CERTIFICATE-----`` blocks count (Go skips other types such as
    ``TRUSTED CERTIFICATE`` or keys). A block is valid if its body is strict base64 and the
    DER has the shape of an X.509 certificate (:func:`looks_like_x509`).

    Args:
        data: The bundle's bytes.
        path: Where it came from.

    Returns:
        A :class:`CaBundle` with ``checked_paths == [path]``.
    """
    valid = invalid = 0
    digests: set[bytes] = set()
    for match in _PEM_BLOCK_RE.finditer(data):
        if match[1] != b"CERTIFICATE":
            continue
        body = b"".join(match[2].split())
        try:
            der = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            der = b""
        if der and looks_like_x509(der):
            valid += 1
            digests.add(hashlib.sha256(der).digest())
        else:
            invalid += 1
    return CaBundle(path=path, certificates=valid, invalid_blocks=invalid,
                    size_bytes=len(data), checked_paths=[path],
                    unique_certificates=len(digests))


def find_ca_bundle(client: docker.DockerClient, image: str,
                   files: Collection[str] | None = None) -> CaBundle:
    """The CA bundle Go would load in ``image`` (first readable file of :data:`GO_CERT_FILES`).

    Go stops at the first file it can read, so this does too; a dangling symlink counts as
    missing. The directories of :data:`GO_CERT_DIRS` and the ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR`` variables, which Go also honours, are not looked at.

    Args:
        client: A connected docker client.
        image: Image tag or id.
        files: The paths of the image's final filesystem, if the caller already has them
            (``set(file_breakdown(client, tag).files["path"])``): then only paths in it are
            fetched. Otherwise each candidate is asked of the engine in turn (one container
            for all of them).

    Returns:
        The :class:`CaBundle`; ``path`` None if the image has none of the files.

    Raises:
        KitError: The image does not exist, or the engine failed.
    """
    known = None if files is None else set(files)
    checked: list[str] = []
    if known is None or known.intersection(GO_CERT_FILES):  # else no container is needed
        with _created_container(client, image) as container:
            for path in GO_CERT_FILES:
                checked.append(path)
                if known is not None and path not in known:
                    continue
                data = _read_in(container, path, DEFAULT_MAX_BYTES)
                if data is not None:
                    bundle = parse_ca_bundle(data, path)
                    bundle.checked_paths = checked
                    return bundle
    return CaBundle(path=None, certificates=0, invalid_blocks=0, size_bytes=0,
                    checked_paths=list(GO_CERT_FILES))


# ---------------------------------------------------------------------------------------------
# Run configuration
# ---------------------------------------------------------------------------------------------
#: The PATH Docker gives a Linux container whose image sets none.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_SHELL_PREFIX = ["/bin/sh", "-c"]
_ASSIGNMENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass
class ImageConfig:
    """How the engine will run the image: the ``Config`` part of ``docker image inspect``.

    Attributes:
        entrypoint: ``ENTRYPOINT`` as a list (shell form already wrapped in
            ``["/bin/sh", "-c", ...]`` by the builder), None if unset.
        cmd: ``CMD`` likewise.
        workdir: ``WORKDIR`` ("" means ``/``).
        user: ``USER`` ("" means root).
        env: ``ENV`` variables.
        healthcheck: ``HEALTHCHECK``'s test (``["CMD", "/server", "-healthcheck"]``,
            ``["CMD-SHELL", "..."]`` or ``["NONE"]``), None if unset.
        exposed_ports: ``EXPOSE`` ports as the engine names them (``"8080/tcp"``), sorted.
        labels: Image labels.
        os: ``linux``...
        architecture: GOARCH-style (``amd64``, ``arm64``...).
        size_bytes: The engine's ``Size``.
    """

    entrypoint: list[str] | None
    cmd: list[str] | None
    workdir: str
    user: str
    env: dict[str, str]
    healthcheck: list[str] | None
    exposed_ports: list[str]
    labels: dict[str, str]
    os: str
    architecture: str
    size_bytes: int

    def command(self) -> list[str]:
        """ENTRYPOINT followed by CMD, the argv Docker starts (CMD alone without ENTRYPOINT)."""
        return list(self.entrypoint or []) + list(self.cmd or [])

    def shell_form(self) -> bool:
        """True if the command is the shell form (``["/bin/sh", "-c", ...]``)."""
        return self.command()[:2] == _SHELL_PREFIX

    def runs_as_root(self) -> bool:
        """True if the container's process runs as root (``""``, ``root``, ``0``, ``0:0``...)."""
        return self.user.split(":", 1)[0].strip() in ("", "root", "0")

    def program(self) -> str | None:
        """The program as written: the command's first word, or in shell form the first word
        of the shell string (after ``exec`` and ``VAR=value`` prefixes). None if no command."""
        words = self.command()
        if words[:2] == _SHELL_PREFIX:
            try:
                words = shlex.split(words[2]) if len(words) > 2 else []
            except ValueError:  # unbalanced quotes: the shell would fail too
                words = words[2].split()
            while words and (words[0] == "exec" or _ASSIGNMENT_RE.match(words[0])):
                words = words[1:]
        return words[0] if words and words[0] else None

    def path_dirs(self) -> list[str]:
        """The directories of the container's ``PATH`` (Docker's default if ENV sets none)."""
        return [d for d in self.env.get("PATH", DEFAULT_PATH).split(":") if d]

    def program_candidates(self, files: Collection[str] | None = None) -> list[str]:
        """Absolute paths the program may be, in the order the runtime would try them.

        A name with a slash is a path: absolute as it is, relative (``./server``,
        ``bin/server``) resolved against ``workdir``; it is returned whether or not it
        exists. A bare name (``server``) is looked up in each ``PATH`` directory; with
        ``files`` (the image's final filesystem paths) only the existing ones are kept.
        Symlinked directories (Debian's ``/bin`` -> ``usr/bin``) are not resolved.
        """
        program = self.program()
        if program is None:
            return []
        if files is not None and not isinstance(files, (set, frozenset)):
            files = set(files)  # a pandas Series' `in` would look at its index
        if "/" in program:
            return [posixpath.normpath(posixpath.join(self.workdir or "/", program))]
        candidates = [posixpath.join(d if d.startswith("/") else
                                     posixpath.join(self.workdir or "/", d), program)
                      for d in self.path_dirs()]
        if files is not None:
            candidates = [c for c in candidates if c in files]
        return candidates

    def program_path(self, files: Collection[str] | None = None) -> str | None:
        """The absolute path of the program the container starts, None if unknown.

        See :meth:`program_candidates`. A bare name resolves only with ``files`` given (the
        first ``PATH`` directory holding it); without ``files`` it is None.
        """
        program = self.program()
        if program is None or ("/" not in program and files is None):
            return None
        candidates = self.program_candidates(files)
        return candidates[0] if candidates else None


def image_config(client: docker.DockerClient, image: str) -> ImageConfig:
    """The :class:`ImageConfig` of ``image``, from the engine's image inspect.

    Raises:
        KitError: The image does not exist.
    """
    attrs = get_image(client, image).attrs
    config = attrs.get("Config") or {}
    env = dict(item.partition("=")[::2] for item in config.get("Env") or [])
    health = (config.get("Healthcheck") or {}).get("Test")
    return ImageConfig(
        entrypoint=list(config["Entrypoint"]) if config.get("Entrypoint") else None,
        cmd=list(config["Cmd"]) if config.get("Cmd") else None,
        workdir=config.get("WorkingDir") or "",
        user=config.get("User") or "",
        env=env,
        healthcheck=list(health) if health else None,
        exposed_ports=sorted(config.get("ExposedPorts") or {}),
        labels=dict(config.get("Labels") or {}),
        os=attrs.get("Os") or "",
        architecture=attrs.get("Architecture") or "",
        size_bytes=int(attrs.get("Size") or 0),
    )
