"""Image references (helpers.dockerfile.refs): tags, Docker Hub spellings, pinning, toolchains."""

from __future__ import annotations

import pytest

from helpers import dockerfile as df
from helpers.dockerfile import refs
from tests.unit.dockerfile.samples import REFERENCE, STARTER


def test_reference_solution():
    assert df.uses_latest_or_unpinned(df.parse(REFERENCE)) == []


def test_learner_starter():
    assert df.is_toolchain_image(df.parse(STARTER).final.base) is True


@pytest.mark.parametrize("image, repository, tag", [
    ("golang", "golang", None),
    ("golang:1.22", "golang", "1.22"),
    ("localhost:5000/golang", "localhost:5000/golang", None),  # a registry port is not a tag
    ("localhost:5000/golang:1.22", "localhost:5000/golang", "1.22"),
    ("alpine@sha256:" + "a" * 64, "alpine", None),  # the digest is dropped
    ("alpine:latest@sha256:" + "a" * 64, "alpine", "latest"),
])
def test_split_ref(image, repository, tag):
    assert df.split_ref(image) == (repository, tag)


def test_normalize_ref_identifies_the_same_image():
    # Docker Hub prefixes are ignored and a missing tag means latest, as Docker reads FROM.
    builder, runtime = (refs.normalize_ref(s.base) for s in df.parse(REFERENCE).stages)
    assert refs.normalize_ref("golang:1.22") == builder
    assert refs.normalize_ref("docker.io/library/golang:1.22") == builder
    assert refs.split_ref(refs.normalize_ref("golang"))[0] == refs.split_ref(builder)[0]
    assert refs.normalize_ref("golang:1.21") != builder
    assert refs.normalize_ref("scratch") == runtime == "scratch:latest"
    assert refs.is_official_golang("docker.io/library/golang:1.22-alpine") is True
    assert refs.is_official_golang("example.com/golang:1.22") is False


@pytest.mark.parametrize("base, unpinned", [
    ("golang", True),
    ("golang:latest", True),
    ("docker.io/library/alpine", True),
    ("localhost:5000/golang", True),  # a registry port is not a tag
    ("localhost:5000/golang:1.22", False),
    ("golang:1.22", False),
    ("golang:1.22-alpine", False),
    ("alpine@sha256:" + "a" * 64, False),
    ("alpine:latest@sha256:" + "a" * 64, False),
    ("scratch", False),
    ("SCRATCH", False),
])
def test_uses_latest_or_unpinned(base, unpinned):
    m = df.parse_text(f"FROM {base} AS one\nFROM one\n")  # the stage reference is never reported
    assert [(s.index, b) for s, b in df.uses_latest_or_unpinned(m)] == (
        [(0, base)] if unpinned else [])


@pytest.mark.parametrize("image, toolchain", [
    ("golang:1.22", True),
    ("golang:1.22-alpine", True),
    ("docker.io/library/golang:1.22@sha256:" + "b" * 64, True),
    ("myregistry.example/ci/golang-builder:3", True),
    ("cgr.dev/chainguard/go:latest", True),
    ("mcr.microsoft.com/dotnet/sdk:8.0", True),
    ("buildpack-deps:bookworm", True),
    ("tinygo/tinygo:0.31.0", True),
    ("scratch", False),
    ("alpine:3.20", False),
    ("busybox:1.36", False),
    ("gcr.io/distroless/static-debian12:nonroot", False),
    ("gcr.io/distroless/base", False),
    ("debian:bookworm-slim", False),
    ("build", False),  # a stage name
])
def test_is_toolchain_image(image, toolchain):
    assert df.is_toolchain_image(image) is toolchain
