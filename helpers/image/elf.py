"""What a binary's ELF headers say about how it was built, Go build information included.

The checks and the Go-flags lesson need to know whether the server is static, stripped and
built for the right CPU without running it: :func:`elf_facts` reads that from the file's bytes
with pyelftools, and :func:`go_build_info` reads the ``go version -m`` text a Go binary
carries. Pure: bytes in, facts out, no engine.
"""

from __future__ import annotations

import ast
import io
import re
from dataclasses import dataclass, field

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection, DynamicSegment
from elftools.elf.elffile import ELFFile

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
        data: The whole file (for instance from :func:`helpers.image.files.read_file`).
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
