"""Go build facts (helpers.dockerfile.go): build flags, CGO, output path, dependency order."""

from __future__ import annotations

import pytest

from helpers import dockerfile as df
from tests.unit.dockerfile.samples import (
    ORIGINAL,
    REFERENCE,
    STARTER,
    THREE_STAGES,
    model,
    only_build,
)

# ---------------------------------------------------------------------------------------------
# The kit's own Dockerfiles
# ---------------------------------------------------------------------------------------------

def test_reference_solution():
    m = df.parse(REFERENCE)
    assert [(s.index, i.line) for s, i in df.go_build_commands(m)] == [(0, 20)]
    assert df.build_flags(m, *df.go_build_commands(m)[0]) == {
        "cgo_disabled": True, "ldflags": "-s -w -X main.version=dev", "strip": True,
        "trimpath": True, "goos": "linux", "goarch": None, "output": "/out/server",
        "subcommand": "build", "packages": ["./cmd/server"]}
    assert df.dependency_order(m) == {
        "stage": 0, "download_line": 13, "copies_go_mod": True, "copies_go_sum": True,
        "copy_all_line": 16, "source_copy_line": 16, "download_before_source": True}


def test_learner_starter():
    m = df.parse(STARTER)
    assert df.build_flags(m, *df.go_build_commands(m)[0]) == {
        "cgo_disabled": None, "ldflags": None, "strip": False, "trimpath": False,
        "goos": None, "goarch": None, "output": "/out/server", "subcommand": "build",
        "packages": ["./cmd/server"]}
    assert df.dependency_order(m) == {
        "stage": 0, "download_line": None, "copies_go_mod": False, "copies_go_sum": False,
        "copy_all_line": 14, "source_copy_line": 14, "download_before_source": False}


def test_original_single_stage():
    m = df.parse(ORIGINAL)
    assert only_build(m)["output"] == "/app/server"
    assert df.dependency_order(m)["download_before_source"] is True


# ---------------------------------------------------------------------------------------------
# go build: flags, CGO, output
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command, ldflags, strip", [
    ('go build -ldflags="-s -w" .', "-s -w", True),
    ("go build -ldflags '-s -w' .", "-s -w", True),
    ("go build -ldflags '-s -w -X main.version=1' .", "-s -w -X main.version=1", True),
    ("go build -ldflags=-s\\ -w .", "-s -w", True),
    ('go build --ldflags "-w -s" .', "-w -s", True),
    ('go build -ldflags="all=-s -w" .', "all=-s -w", True),
    ('go build -ldflags "-s" .', "-s", False),
    ('go build -ldflags="-X main.version=1" .', "-X main.version=1", False),
    ("go build .", None, False),
    ('go build -ldflags "-s -w" -ldflags "-X a.b=c" .', "-X a.b=c", False),  # last one wins
])
def test_ldflags_forms(command, ldflags, strip):
    flags = only_build(model(f"FROM golang:1.22\nRUN {command}\n"))
    assert (flags["ldflags"], flags["strip"]) == (ldflags, strip)


@pytest.mark.parametrize("lines, cgo_disabled", [
    (["RUN CGO_ENABLED=0 go build ."], True),
    (["RUN CGO_ENABLED=1 go build ."], False),
    (["RUN go build ."], None),
    (["ENV CGO_ENABLED=0", "RUN go build ."], True),
    (["ENV CGO_ENABLED 0", "RUN go build ."], True),
    (["ARG CGO_ENABLED=0", "RUN go build ."], True),
    (["ENV CGO_ENABLED=0", "RUN CGO_ENABLED=1 go build ."], False),  # inline wins
    (["RUN export CGO_ENABLED=0 && go build ."], True),
    (["RUN CGO_ENABLED=0; go build ."], None),  # a shell variable, not exported
    (["RUN env CGO_ENABLED=0 GOOS=linux go build ."], True),
    (["RUN go env -w CGO_ENABLED=0", "RUN go build ."], True),
    (["RUN go env -w CGO_ENABLED=0 && go build ."], True),
    (["RUN go build . && CGO_ENABLED=0 go build ./x"], None),  # the first go build counts
    (["RUN sh -c 'CGO_ENABLED=0 go build .'"], True),
    (['RUN ["/bin/sh", "-c", "CGO_ENABLED=0 go build ."]'], True),
])
def test_cgo_disabled(lines, cgo_disabled):
    m = model("FROM golang:1.22 AS build\n" + "\n".join(lines) + "\n")
    assert only_build(m)["cgo_disabled"] is cgo_disabled


def test_env_cgo_inherited_by_child_stage():
    m = model("""
        FROM golang:1.22 AS base
        ENV CGO_ENABLED=0 GOFLAGS=-trimpath
        FROM base AS build
        RUN go build -o /server .
        """)
    flags = only_build(m)
    assert (flags["cgo_disabled"], flags["trimpath"]) == (True, True)
    assert m.state_at(m.stages[1], 4).env == {"CGO_ENABLED": "0", "GOFLAGS": "-trimpath"}


def test_arg_inherited_by_child_stage_but_not_by_unrelated_stage():
    # Docker: "Arguments and variables are inherited from parent stages" (FROM <stage>).
    m = model("""
        FROM golang:1.22 AS base
        ARG CGO_ENABLED=0
        FROM base AS build
        RUN go build -o /a .
        FROM golang:1.22 AS other
        RUN go build -o /b .
        """)
    assert [df.build_flags(m, s, i)["cgo_disabled"] for s, i in df.go_build_commands(m)] == [
        True, None]
    assert m.state_at(m.stages[1], 4).args == {"CGO_ENABLED": "0"}
    assert m.state_at(m.stages[2], 6).args == {}


def test_build_args_override_stage_arg_defaults():
    text = """
        FROM golang:1.22
        ARG CGO_ENABLED=0
        RUN go build -o /server .
        """
    assert only_build(model(text))["cgo_disabled"] is True
    assert only_build(model(text, {"CGO_ENABLED": "1"}))["cgo_disabled"] is False


@pytest.mark.parametrize("lines, output", [
    (["WORKDIR /app", "RUN go build -o server ./cmd/server"], "/app/server"),
    (["WORKDIR /app", "RUN go build -o ./bin/server ."], "/app/bin/server"),
    (["WORKDIR /app", "RUN go build ./cmd/server"], "/app/server"),
    (["WORKDIR /app", "RUN go build ."], None),  # named after go.mod: unknown here
    (["WORKDIR /app", "RUN go build -o /out/ ./cmd/server"], "/out/server"),
    (["WORKDIR /app", "RUN cd cmd/server && go build -o ../../bin/server ."], "/app/bin/server"),
    (["WORKDIR /app", "RUN go build -C cmd/server -o server ."], "/app/cmd/server/server"),
    (["RUN go build -o server ./cmd/server"], "/go/server"),  # golang's WORKDIR is /go
    (["RUN go install ./cmd/server"], "/go/bin/server"),
    (["ENV GOBIN=/out", "RUN go install ./cmd/server"], "/out/server"),
    (["RUN go install example.com/tool/v2@v2.1.0"], "/go/bin/tool"),
    (["ARG OUT=/out/server", "RUN go build -o $OUT ./cmd/server"], "/out/server"),
    (["RUN /usr/local/go/bin/go build -o /s ."], "/s"),
])
def test_build_output(lines, output):
    m = model("FROM golang:1.22\n" + "\n".join(lines) + "\n")
    assert only_build(m)["output"] == output


def test_goos_goarch_and_platform_args():
    m = model("""
        FROM --platform=$BUILDPLATFORM golang:1.22 AS b
        ARG TARGETOS
        ARG TARGETARCH
        RUN GOOS=$TARGETOS GOARCH=${TARGETARCH} go build -o /s .
        FROM scratch
        COPY --from=b /s /s
        """)
    stage = m.stages[0]
    assert (stage.name, stage.base, stage.platform) == ("b", "golang:1.22", "$BUILDPLATFORM")
    assert stage.from_instruction.flags == {"platform": "$BUILDPLATFORM"}
    flags = only_build(m)
    assert (flags["goos"], flags["goarch"]) == ("$TARGETOS", "${TARGETARCH}")
    m2 = model("""
        FROM --platform=$BUILDPLATFORM golang:1.22 AS b
        ARG TARGETARCH
        RUN GOARCH=$TARGETARCH go build -o /s .
        """, {"BUILDPLATFORM": "linux/amd64", "TARGETARCH": "arm64"})
    assert m2.stages[0].platform == "linux/amd64"
    assert only_build(m2)["goarch"] == "arm64"


@pytest.mark.parametrize("run, found", [
    ("go build .", True),
    ("go install ./cmd/server", True),
    ("apk add git && go build -o /s .", True),
    ("cd /src && CGO_ENABLED=0 go build .", True),
    ('["go", "build", "."]', True),
    ("sh -c 'go build .'", True),
    ("go test ./...", False),
    ("go mod download", False),
    ("echo go build", False),
])
def test_go_build_commands(run, found):
    m = model(f"FROM golang:1.22\nRUN {run}\n")
    assert [(s.index, i.line) for s, i in df.go_build_commands(m)] == ([(0, 2)] if found else [])


# ---------------------------------------------------------------------------------------------
# Dependency caching order
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lines, expected", [
    # go.mod and go.sum first, then the download, then the source: right
    (["COPY go.mod go.sum ./", "RUN go mod download", "COPY . .", "RUN go build ."],
     {"download_line": 4, "copies_go_mod": True, "copies_go_sum": True, "copy_all_line": 5,
      "source_copy_line": 5, "download_before_source": True}),
    # whole source first: the download is re-run on every edit
    (["COPY . .", "RUN go mod download", "RUN go build ."],
     {"download_line": 4, "copies_go_mod": False, "copies_go_sum": False, "copy_all_line": 3,
      "source_copy_line": 3, "download_before_source": False}),
    # go.sum forgotten
    (["COPY go.mod ./", "RUN go mod download", "COPY ./ ./", "RUN go build ."],
     {"download_line": 4, "copies_go_mod": True, "copies_go_sum": False, "copy_all_line": 5,
      "source_copy_line": 5, "download_before_source": True}),
    # glob, download variants, cache mount, ADD . .
    (["COPY go.* ./", "RUN --mount=type=cache,target=/go/pkg/mod go mod download -x && "
      "go mod verify", "ADD . .", "RUN go build ."],
     {"download_line": 4, "copies_go_mod": True, "copies_go_sum": True, "copy_all_line": 5,
      "source_copy_line": 5, "download_before_source": True}),
    # no download at all
    (["COPY . .", "RUN go build ."],
     {"download_line": None, "copies_go_mod": False, "copies_go_sum": False,
      "copy_all_line": 3, "source_copy_line": 3, "download_before_source": False}),
    # only the needed folders copied
    (["COPY ./go.mod ./go.sum ./", "RUN go mod download", "COPY cmd/ cmd/", "RUN go build ."],
     {"download_line": 4, "copies_go_mod": True, "copies_go_sum": True, "copy_all_line": None,
      "source_copy_line": 5, "download_before_source": True}),
    # Docker's Go guide: bind mounts instead of COPY
    (["RUN --mount=type=cache,target=/go/pkg/mod --mount=type=bind,source=go.sum,target=go.sum "
      "--mount=type=bind,source=go.mod,target=go.mod go mod download",
      "RUN --mount=type=bind,target=. go build -o /s ./cmd/server"],
     {"download_line": 3, "copies_go_mod": True, "copies_go_sum": True, "copy_all_line": None,
      "source_copy_line": None, "download_before_source": True}),
])
def test_dependency_order(lines, expected):
    m = model("FROM golang:1.22 AS build\nWORKDIR /src\n" + "\n".join(lines) + "\n")
    assert df.dependency_order(m) == {"stage": 0, **expected}


def test_dependency_order_without_go_build():
    assert df.dependency_order(model("FROM scratch\nCOPY . .\n")) == {
        "stage": None, "download_line": None, "copies_go_mod": False, "copies_go_sum": False,
        "copy_all_line": None, "source_copy_line": None, "download_before_source": False}


def test_dependency_order_follows_the_from_chain():
    m = model(THREE_STAGES)
    assert df.dependency_order(m) == {
        "stage": 1, "download_line": 4, "copies_go_mod": True, "copies_go_sum": True,
        "copy_all_line": 6, "source_copy_line": 6, "download_before_source": True}


def test_dependency_order_prefers_the_stage_the_final_image_uses():
    m = model("""
        FROM golang:1.22 AS tools
        RUN go install example.com/lint@v1.0.0
        FROM golang:1.22 AS build
        COPY go.mod go.sum ./
        RUN go mod download
        COPY . .
        RUN go build -o /s .
        FROM scratch
        COPY --from=build /s /s
        """)
    assert df.dependency_order(m)["stage"] == 1
    assert df.dependency_order(m)["download_line"] == 5
