"""helpers.image.categories on paths alone: the friendly category of the real single-stage
image's biggest files, and bytes per category and per directory of a final filesystem."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.image.categories import (CATEGORY_PATTERNS, DEFAULT_CATEGORY, categorize,
                                      category_sizes, directory_sizes)

from .test_breakdown import EXPECTED_FILES


@pytest.fixture(scope="module")
def files():
    """The final filesystem of test_breakdown's scenario, as its ``file_breakdown`` returns
    it (``test_final_filesystem`` checks that): categories need only this table."""
    return pd.DataFrame(EXPECTED_FILES, columns=["path", "size_bytes", "layer"])


def test_directory_sizes(files):
    table = directory_sizes(files)
    assert list(table.itertuples(index=False, name=None)) == [
        ("/usr/local", 2000, 1), ("/usr/bin", 1000, 3), ("/app", 800, 1), ("/etc", 150, 1),
        ("/server", 60, 1), ("/var/cache", 5, 1)]
    assert list(directory_sizes(files, depth=1).itertuples(index=False, name=None)) == [
        ("/usr", 3000, 4), ("/app", 800, 1), ("/etc", 150, 1), ("/server", 60, 1),
        ("/var", 5, 1)]
    assert directory_sizes(files, depth=4)["directory"].tolist()[:2] == [
        "/usr/local/go/bin", "/usr/bin"]
    with pytest.raises(ValueError):
        directory_sizes(files, depth=0)


def test_category_sizes(files):
    assert list(category_sizes(files).itertuples(index=False, name=None)) == [
        ("Go toolchain (/usr/local/go)", 2000, 1), ("Debian base system", 1155, 5),
        ("the app (source + binary)", 800, 1), ("the server binary", 60, 1)]


C_TOOLS = "C compiler, headers, static libs"
DOCS = "docs, man pages, locales"


# The biggest directories and files of the real single-stage image (golang:1.22 stand-in +
# the exercise), and what a learner should see them as.
@pytest.mark.parametrize("path, category", [
    ("/usr/local/go", "Go toolchain (/usr/local/go)"),
    ("/usr/local/go/pkg/tool/linux_amd64/compile", "Go toolchain (/usr/local/go)"),
    ("/usr/local/go/src/net/http/server.go", "Go toolchain (/usr/local/go)"),
    ("/root/.cache/go-build/3f/3f2a9c-d", "Go build cache"),
    ("/go/pkg/mod/cache/download/golang.org/x/net/@v/v0.1.0.zip", "Go module cache"),
    ("/usr/lib/gcc/x86_64-linux-gnu/12/cc1", C_TOOLS),
    ("/usr/lib/gcc/x86_64-linux-gnu/12/lto1", C_TOOLS),
    ("/usr/libexec/gcc/x86_64-linux-gnu/12/cc1", C_TOOLS),
    ("/usr/bin/x86_64-linux-gnu-lto-dump-12", C_TOOLS),
    ("/usr/bin/x86_64-linux-gnu-ld.gold", C_TOOLS),
    ("/usr/bin/gcc-12", C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libasan.so.8.0.0", C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libtsan.so.2.0.0", C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libc.a", C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libm-2.36.a", C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libbfd-2.40-system.so", C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libgprofng.so.0.0.0", C_TOOLS),
    ("/usr/lib/x86_64-linux-gnu/libisl.so.23.2.0", C_TOOLS),
    ("/usr/include/linux/bpf.h", C_TOOLS),
    ("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
     "apt package lists"),
    ("/usr/share/locale/de/LC_MESSAGES/gcc-12.mo", DOCS),
    ("/usr/share/doc/git/RelNotes/2.39.0.txt", DOCS),
    ("/usr/share/man/man1/git.1.gz", DOCS),
    ("/usr/share/info/gcc-12.info.gz", DOCS),
    ("/etc/ssl/certs/ca-certificates.crt", "CA certificates"),
    ("/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt", "CA certificates"),
    ("/app/server", "the app (source + binary)"),
    ("/app/cmd/server/main.go", "the app (source + binary)"),
    ("/server", "the server binary"),
    ("/usr/lib/git-core/git-remote-http", "git"),
    ("/usr/share/git-core/templates/hooks/pre-commit.sample", "git"),
    ("/usr/bin/git", "git"),
    ("/usr/lib/x86_64-linux-gnu/perl/5.36.0/CORE/charclass_invlists.h", "perl"),
    ("/usr/lib/x86_64-linux-gnu/perl-base/unicore/To/NFKCCF.pl", "perl"),
    ("/usr/lib/x86_64-linux-gnu/libperl.so.5.36.0", "perl"),
    ("/usr/share/perl/5.36.0/Unicode/Collate/allkeys.txt", "perl"),
    ("/usr/bin/perl5.36.0", "perl"),
    ("/usr/lib/x86_64-linux-gnu/libcrypto.so.3", DEFAULT_CATEGORY),
    ("/usr/bin/bash", DEFAULT_CATEGORY),
    ("/var/lib/dpkg/status", DEFAULT_CATEGORY),
    ("/bin", DEFAULT_CATEGORY),  # merged-/usr symlinks at the root are not the server
    ("/lib64", DEFAULT_CATEGORY),
    ("/application/x", DEFAULT_CATEGORY),  # prefixes match whole path components
    ("/usr/local/gopher", DEFAULT_CATEGORY),
])
def test_categorize(path, category):
    assert categorize(path) == category


def test_category_table_is_ordered_prefixes_with_known_labels():
    labels = {label for _, label in CATEGORY_PATTERNS}
    assert all(pattern.startswith("/") for pattern, _ in CATEGORY_PATTERNS)
    assert {"Go toolchain (/usr/local/go)", "Go build cache", "Go module cache", C_TOOLS,
            "apt package lists", DOCS, "CA certificates", "the app (source + binary)",
            "the server binary", "git", "perl"} <= labels
