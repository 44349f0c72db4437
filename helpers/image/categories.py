"""Friendly categories of an image's files, and bytes per category or per directory.

The teaching charts group the final filesystem of a breakdown (``ImageBreakdown.files``,
columns ``path`` and ``size_bytes``) into what a learner recognises: the Go toolchain, the C
compiler, docs, the app... Pure: tables in, tables out, no engine, so the patterns are
unit-tested on paths alone.
"""

from __future__ import annotations

import re

import pandas as pd

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
