"""The Dockerfile model (helpers.dockerfile.model): stages, COPY --from, FROM chains, state."""

from __future__ import annotations

import pytest

from helpers import dockerfile as df
from helpers.dockerfile import shell
from tests.unit.dockerfile.samples import (
    ORIGINAL,
    REFERENCE,
    STARTER,
    THREE_STAGES,
    model,
)

# ---------------------------------------------------------------------------------------------
# The kit's own Dockerfiles
# ---------------------------------------------------------------------------------------------

def test_reference_solution():
    m = df.parse(REFERENCE)
    assert m.path == REFERENCE
    assert [(s.index, s.name, s.base, s.base_stage, s.line) for s in m.stages] == [
        (0, "build", "golang:1.22", None, 7), (1, None, "scratch", None, 26)]
    assert m.global_args == {}
    assert m.final is m.stages[1]
    assert m.copies_from() == [
        df.CopyFrom(1, "build", 0, False, ["/etc/ssl/certs/ca-certificates.crt"],
                    "/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/ca-certificates.crt",
                    27, "COPY", {"from": "build"}),
        df.CopyFrom(1, "build", 0, False, ["/out/server"], "/server", "/server", 28, "COPY",
                    {"from": "build"}),
    ]
    assert m.final_copies_from() == m.copies_from()
    assert [s.index for s in m.builder_stages()] == [0]
    assert m.workdir_at(m.stages[0], 20) == "/src"
    assert m.state_at(m.stages[0], 20).args == {"VERSION": "dev"}
    assert m.state_at(m.stages[0], 20).env == {}


def test_learner_starter():
    m = df.parse(STARTER)
    assert [(s.name, s.base, s.base_stage) for s in m.stages] == [
        ("build", "golang:1.22", None), (None, "golang:1.22", None)]
    assert [(c.source, c.source_stage, c.sources, c.dest_abs, c.line)
            for c in m.final_copies_from()] == [("build", 0, ["/out/server"], "/server", 26)]
    assert m.workdir_at(m.final, 99) == "/go"  # the golang image's own WORKDIR


def test_original_single_stage():
    m = df.parse(ORIGINAL)
    assert [(s.name, s.base) for s in m.stages] == [(None, "golang:1.22")]
    assert m.copies_from() == [] and m.builder_stages() == []


def test_stage_lookup():
    m = df.parse(REFERENCE)
    assert m.stage("BUILD") is m.stages[0] and m.stage(1) is m.final and m.stage("x") is None


# ---------------------------------------------------------------------------------------------
# Stages and COPY --from
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("from_line, copy_from, name, source_stage", [
    ("FROM golang:1.22 AS builder", "builder", "builder", 0),
    ("FROM golang:1.22 AS build", "build", "build", 0),
    ("FROM golang:1.22", "0", None, 0),
    ("FROM golang:1.22 AS builder", "0", "builder", 0),
    ("FROM golang:1.22 as Builder", "BUILDER", "builder", 0),  # names are case-insensitive
    ("from golang:1.22 As build", "build", "build", 0),
])
def test_stage_names_and_numeric_from(from_line, copy_from, name, source_stage):
    m = model(f"""
        {from_line}
        RUN go build -o /server .
        FROM scratch
        COPY --from={copy_from} /server /server
        """)
    assert m.stages[0].name == name
    (copy,) = m.final_copies_from()
    assert (copy.source, copy.source_stage, copy.source_is_image) == (copy_from, source_stage,
                                                                      False)
    assert [s.index for s in m.builder_stages()] == [0]


def test_copy_from_unknown_name_is_an_image():
    # Docker treats a --from that names no stage as an image reference and tries to pull it.
    m = model("""
        FROM golang:1.22 AS build
        RUN go build -o /server .
        FROM scratch
        COPY --from=builder /server /server
        COPY --from=alpine:3.20 /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
        """)
    assert [(c.source, c.source_stage, c.source_is_image, c.dest_abs)
            for c in m.copies_from()] == [
        ("builder", None, True, "/server"),
        ("alpine:3.20", None, True, "/etc/ssl/certs/")]
    assert m.builder_stages() == []


def test_copy_from_with_chown_and_other_flags():
    m = model("""
        FROM golang:1.22 AS builder
        FROM scratch
        COPY --from=builder --chown=65534:65534 --chmod=0555 --link /out/server /server
        """)
    (copy,) = m.copies_from()
    assert copy == df.CopyFrom(1, "builder", 0, False, ["/out/server"], "/server", "/server", 3,
                               "COPY", {"from": "builder", "chown": "65534:65534",
                                        "chmod": "0555", "link": "true"})
    (instruction,) = m.final.instructions
    assert instruction.flag_list == [("from", "builder"), ("chown", "65534:65534"),
                                     ("chmod", "0555"), ("link", "true")]
    assert instruction.arguments == ["/out/server", "/server"]


@pytest.mark.parametrize("workdir, dest, dest_abs, target", [
    ("", "/server", "/server", "/server"),
    ("WORKDIR /app", "./", "/app/", "/app/server"),
    ("WORKDIR /app", ".", "/app/", "/app/server"),
    ("WORKDIR /app", "bin/server", "/app/bin/server", "/app/bin/server"),
    ("WORKDIR /app", "/usr/local/bin/", "/usr/local/bin/", "/usr/local/bin/server"),
    ("WORKDIR /app", "../srv", "/srv", "/srv"),
])
def test_copy_destination_resolved_against_workdir(workdir, dest, dest_abs, target):
    m = model(f"""
        FROM golang:1.22 AS build
        FROM scratch
        {workdir}
        COPY --from=build /out/server {dest}
        """)
    (copy,) = m.copies_from()
    assert (copy.dest, copy.dest_abs, copy.target_path("/out/server")) == (dest, dest_abs, target)


def test_copy_from_exec_form():
    m = model("""
        FROM golang:1.22 AS build
        FROM scratch
        COPY --from=build ["/out/my server", "/srv/"]
        """)
    (copy,) = m.copies_from()
    assert (copy.sources, copy.dest, copy.dest_abs, copy.source_stage) == (
        ["/out/my server"], "/srv/", "/srv/", 0)
    assert copy.target_path("/out/my server") == "/srv/my server"


def test_forward_reference_by_name_and_three_stages():
    # BuildKit resolves --from names against all stages; a stage FROM another inherits it.
    m = model(THREE_STAGES)
    assert [(s.name, s.base, s.base_stage) for s in m.stages] == [
        ("deps", "golang:1.22", None), ("compile", "deps", 0), ("runtime", "scratch", None)]
    assert [s.index for s in m.builder_stages()] == [0, 1]
    assert m.root_image(m.stages[1]) == "golang:1.22"
    assert m.workdir_at(m.stages[1], 6) == "/src"
    assert m.copied_from() == {0: [], 1: [], 2: [1]}


def test_run_mount_from_a_stage_is_a_dependency():
    m = model("""
        FROM golang:1.22 AS build
        RUN go build -o /out/server .
        FROM alpine:3.20
        RUN --mount=type=bind,from=BUILD,source=/out,target=/mnt cp /mnt/server /server
        """)
    assert m.copied_from() == {0: [], 1: [0]}
    assert [s.index for s in m.builder_stages()] == [0]


def test_final_stage_from_earlier_stage_inherits_entrypoint_env_workdir():
    m = model("""
        FROM alpine:3.20 AS base
        WORKDIR /app
        ENV MODE=prod
        ENTRYPOINT ["./server"]
        FROM golang:1.22 AS build
        RUN go build -o /out/server .
        FROM base
        COPY --from=build /out/server ./server
        """)
    assert (m.final.base, m.final.base_stage) == ("base", 0)
    assert shell.entrypoint(m).line == 4
    assert shell.command_path(m) == "/app/server"
    assert m.state_at(m.final, 99).env == {"MODE": "prod"}
    assert m.final_copies_from()[0].dest_abs == "/app/server"
    assert [s.index for s in m.builder_stages()] == [1]


# ---------------------------------------------------------------------------------------------
# WORKDIR and the state each line sees
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("workdirs, expected", [
    (["/app"], ["/app"]),
    (["/app", "bin"], ["/app", "/app/bin"]),
    (["/a", "b", "../c", "./d/"], ["/a", "/a/b", "/a/c", "/a/c/d"]),
    (["rel"], ["/rel"]),
    (["/a/", "/b"], ["/a", "/b"]),
])
def test_relative_workdir_chains(workdirs, expected):
    lines = "\n".join(f"WORKDIR {w}" for w in workdirs)
    m = model(f"FROM scratch\n{lines}\nCOPY x y\n")
    stage = m.stages[0]
    assert m.workdir_at(stage, 1) == "/"
    assert m.workdir_at(stage, 2) == "/"  # before the first WORKDIR runs
    assert [m.workdir_at(stage, 3 + i) for i in range(len(workdirs))] == expected
    assert [i.line for i in stage.instructions if i.keyword == "COPY"] == [2 + len(workdirs)]


def test_state_at_is_a_copy():
    m = model("FROM golang:1.22\nENV A=1\n")
    state = m.state_at(m.stages[0], 99)
    state.env["A"] = "changed"
    assert (state.image_env, m.state_at(m.stages[0], 99).env) == ({"GOPATH": "/go"}, {"A": "1"})


def test_run_mounts_parsed():
    m = model("FROM golang:1.22\nRUN --mount=type=cache,target=/go/pkg/mod,sharing=locked "
              "--mount=type=bind,source=go.sum,target=go.sum,readonly go mod download\n")
    assert m.stages[0].instructions[0].mounts() == [
        {"type": "cache", "target": "/go/pkg/mod", "sharing": "locked"},
        {"type": "bind", "source": "go.sum", "target": "go.sum", "readonly": "true"}]
