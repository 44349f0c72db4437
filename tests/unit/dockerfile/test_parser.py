"""Reading Dockerfiles (helpers.dockerfile.parser): every reasonable way to write the solution."""

from __future__ import annotations

import pytest

from helpers import dockerfile as df
from helpers.dockerfile import shell
from helpers.errors import KitError
from tests.unit.dockerfile.samples import REFERENCE, SOLUTION, model, only_build


def instructions(m: df.DockerfileModel, keyword: str) -> list[df.Instruction]:
    """Every instruction with ``keyword`` after the FROMs, in file order."""
    return [i for s in m.stages for i in s.instructions if i.keyword == keyword]


# ---------------------------------------------------------------------------------------------
# ARG substitution
# ---------------------------------------------------------------------------------------------

ARG_TAG = """\
ARG GO_VERSION=1.22
ARG RUNTIME
FROM golang:${GO_VERSION} AS builder
FROM ${RUNTIME:-scratch}
"""


@pytest.mark.parametrize("build_args, builder, runtime, global_args", [
    (None, "golang:1.22", "scratch", {"GO_VERSION": "1.22", "RUNTIME": None}),
    ({"GO_VERSION": "1.21"}, "golang:1.21", "scratch", {"GO_VERSION": "1.21", "RUNTIME": None}),
    ({"RUNTIME": "alpine:3.20"}, "golang:1.22", "alpine:3.20",
     {"GO_VERSION": "1.22", "RUNTIME": "alpine:3.20"}),
])
def test_arg_based_tags(build_args, builder, runtime, global_args):
    m = model(ARG_TAG, build_args)
    assert [s.base for s in m.stages] == [builder, runtime]
    assert m.global_args == global_args
    assert m.stages[0].from_instruction.value == f"golang:{builder.split(':')[1]} AS builder"
    assert m.stages[0].from_instruction.raw == "golang:${GO_VERSION} AS builder"


def test_global_arg_is_only_visible_in_a_stage_after_redeclaring_it():
    m = model("""
        ARG APP=/srv
        FROM golang:1.22
        WORKDIR ${APP}/a
        ARG APP
        WORKDIR $APP/b
        ARG LOCAL=x
        ARG LOCAL2=$LOCAL-y
        """)
    stage = m.stages[0]
    assert [i.value for i in instructions(m, "WORKDIR")] == ["${APP}/a", "/srv/b"]
    assert m.workdir_at(stage, 99) == "/srv/b"
    assert m.state_at(stage, 99).args == {"APP": "/srv", "LOCAL": "x", "LOCAL2": "x-y"}


def test_env_substitution_and_legacy_form():
    m = model("""
        FROM golang:1.22
        ENV APP_HOME=/opt/app BIN=server
        ENV LEGACY some value
        WORKDIR $APP_HOME
        COPY ${BIN} ./$BIN
        ENV NEXT="${APP_HOME}/bin" UNKNOWN=$NOT_SET
        """)
    stage = m.stages[0]
    assert m.state_at(stage, 99).env == {"APP_HOME": "/opt/app", "BIN": "server",
                                         "LEGACY": "some value", "NEXT": "/opt/app/bin",
                                         "UNKNOWN": "$NOT_SET"}
    assert m.state_at(stage, 4).env == {"APP_HOME": "/opt/app", "BIN": "server",
                                        "LEGACY": "some value"}
    copy = instructions(m, "COPY")[0]
    assert (copy.value, copy.arguments) == ("server ./server", ["server", "./server"])
    # GOPATH comes from the golang image itself
    m2 = model("FROM golang:1.22\nWORKDIR $GOPATH/src/app\n")
    assert m2.workdir_at(m2.stages[0], 99) == "/go/src/app"


def test_run_value_is_not_substituted():
    m = model("""
        FROM golang:1.22
        ARG VERSION=1.0
        RUN echo ${VERSION} '$VERSION'
        """)
    (run,) = instructions(m, "RUN")
    assert run.value == "echo ${VERSION} '$VERSION'"
    assert run.arguments == ["echo", "${VERSION}", "$VERSION"]


# ---------------------------------------------------------------------------------------------
# Instruction forms
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line, keyword, value, flags, arguments, exec_form", [
    ('RUN ["go", "build", "-o", "/s"]', "RUN", '["go", "build", "-o", "/s"]', {},
     ["go", "build", "-o", "/s"], True),
    ("RUN go build -o '/my dir/s' .", "RUN", "go build -o '/my dir/s' .", {},
     ["go", "build", "-o", "/my dir/s", "."], False),
    ("run --mount=type=cache,target=/go/pkg/mod go mod download", "RUN",
     "--mount=type=cache,target=/go/pkg/mod go mod download",
     {"mount": "type=cache,target=/go/pkg/mod"}, ["go", "mod", "download"], False),
    ("RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build "
     "--network=none go build .", "RUN",
     "--mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build "
     "--network=none go build .",
     {"mount": "type=cache,target=/go/pkg/mod\ntype=cache,target=/root/.cache/go-build",
      "network": "none"}, ["go", "build", "."], False),
    ("CMD ['./server']", "CMD", "['./server']", {}, ["[./server]"], False),
    ("ENTRYPOINT /server -port 8080", "ENTRYPOINT", "/server -port 8080", {},
     ["/server", "-port", "8080"], False),
    ('HEALTHCHECK CMD wget -qO- http://localhost:8080/health || exit 1', "HEALTHCHECK",
     "CMD wget -qO- http://localhost:8080/health || exit 1", {},
     ["wget", "-qO-", "http://localhost:8080/health", "||", "exit", "1"], False),
    ("HEALTHCHECK NONE", "HEALTHCHECK", "NONE", {}, ["NONE"], None),
    ("user 65534:65534", "USER", "65534:65534", {}, ["65534:65534"], None),
    ('label org.opencontainers.image.title="exercise 2"', "LABEL",
     'org.opencontainers.image.title="exercise 2"', {},
     ["org.opencontainers.image.title=exercise 2"], None),
    ("expose 8080/tcp", "EXPOSE", "8080/tcp", {}, ["8080/tcp"], None),
])
def test_instruction_fields(line, keyword, value, flags, arguments, exec_form):
    m = model(f"FROM golang:1.22\n{line}\n")
    (instruction,) = m.stages[0].instructions
    assert (instruction.keyword, instruction.value, instruction.line, instruction.flags,
            instruction.arguments, instruction.exec_form) == (keyword, value, 2, flags, arguments,
                                                              exec_form)


def test_lowercase_instructions():
    m = model(SOLUTION.lower().replace("cgo_enabled", "CGO_ENABLED"))
    assert [s.name for s in m.stages] == ["build", None]
    assert [i.keyword for i in m.stages[0].instructions] == ["WORKDIR", "COPY", "RUN", "COPY",
                                                            "RUN"]
    assert shell.command_path(m) == "/server"
    assert only_build(m)["cgo_disabled"] is True
    assert df.dependency_order(m)["download_before_source"] is True


def test_line_continuations_comments_and_blank_lines():
    m = model("""
        FROM golang:1.22 \\
            AS build
        RUN CGO_ENABLED=0 \\
            # a comment inside the continuation
            go build \\

            -trimpath \\
            -ldflags "-s -w" \\
            -o /out/server \\
            ./cmd/server
        FROM scratch
        COPY --from=build \\
             /out/server \\
             /server
        ENTRYPOINT ["/server"]
        """)
    assert [(s.name, s.line) for s in m.stages] == [("build", 1), (None, 11)]
    (stage, run), = df.go_build_commands(m)
    assert (run.line, run.end_line) == (3, 10)
    assert df.build_flags(m, stage, run) == {
        "cgo_disabled": True, "ldflags": "-s -w", "strip": True, "trimpath": True,
        "goos": None, "goarch": None, "output": "/out/server", "subcommand": "build",
        "packages": ["./cmd/server"]}
    (copy,) = m.copies_from()
    assert (copy.line, copy.sources, copy.dest) == (12, ["/out/server"], "/server")
    assert shell.entrypoint(m).line == 15


def test_file_ending_inside_a_continuation_keeps_the_instruction():
    m = df.parse_text("FROM scratch\nCOPY a \\\n  b")
    assert instructions(m, "COPY")[0].arguments == ["a", "b"]


def test_keyword_glued_to_the_continuation():
    # dockerfile-parse would report an instruction called "RUN\\".
    m = df.parse_text("FROM golang:1.22\nRUN\\\n  go build -o /s .\n")
    (run,) = instructions(m, "RUN")
    assert (run.keyword, run.arguments, run.line, run.end_line) == (
        "RUN", ["go", "build", "-o", "/s", "."], 2, 3)


def test_heredoc_bodies_are_skipped():
    m = model("""
        FROM golang:1.22
        RUN <<EOF
        go mod download
        EOF
        WORKDIR /app
        """)
    assert [i.keyword for i in m.stages[0].instructions] == ["RUN", "WORKDIR"]
    assert instructions(m, "WORKDIR")[0].line == 5


def test_crlf_and_bom():
    m = df.parse_text("\ufeffFROM scratch\r\nCMD [\"/server\"]\r\n")
    assert shell.command_path(m) == "/server"


def test_from_and_other_instructions_of_the_reference():
    # FROM is kept on its stage (from_instruction), every other instruction in the stage.
    m = df.parse(REFERENCE)
    assert [s.from_instruction.line for s in m.stages] == [7, 26]
    assert [i.line for i in m.final.instructions if i.keyword == "COPY"] == [27, 28]


# ---------------------------------------------------------------------------------------------
# Errors: always a KitError naming the line, never a raw traceback
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("", "The Dockerfile is empty (no instructions, only blank lines or comments)."),
    ("# just a comment\n\n", "The Dockerfile is empty (no instructions, only blank lines or "
                             "comments)."),
    ("ARG A=1\n", "The Dockerfile has no FROM instruction, so it builds nothing."),
    ("WORKDIR /app\nFROM scratch\n", "Line 1: WORKDIR comes before the first FROM; only ARG may."),
    ("# syntax=docker/dockerfile:1\nRUN echo\nFROM scratch\n",
     "Line 2: RUN comes before the first FROM; only ARG may."),
    ("FROM scratch\nCOPPY a b\n", "Line 2: unknown instruction 'COPPY'."),
    ("FROM golang:1.22 AS build\nFROM scratch\nCOPY --from=2 /s /s\n",
     "Line 3: COPY --from=2 names stage index 2, but the Dockerfile has 2 stage(s) (0 to 1)."),
    ("FROM scratch\nCOPY --from=-1 /s /s\n",
     "Line 2: COPY --from=-1 names stage index -1, but the Dockerfile has 1 stage(s) (0 to 0)."),
    ("FROM scratch\nWORKDIR", "Line 2: WORKDIR has no arguments."),
    ("FROM\n", "Line 1: FROM has no image."),
    ("FROM golang:1.22 AS\n", "Line 1: FROM cannot be read: `FROM golang:1.22 AS`."),
    ("FROM golang:1.22 AS 1build\n", "Line 1: '1build' is not a valid stage name."),
    ("FROM golang:1.22 AS b\nFROM scratch AS B\n", "Line 2: a stage named 'b' already exists."),
    ("FROM scratch\nCOPY onlyone\n", "Line 2: COPY needs at least a source and a destination."),
    ("FROM scratch\nENV A=1 B\n", "Line 2: ENV 'B' has no `=`."),
    ("FROM scratch\nENV A\n", "Line 2: ENV A has no value."),
    ("FROM scratch\nHEALTHCHECK --interval=5s\n",
     "Line 2: HEALTHCHECK needs `CMD <command>` or `NONE`."),
    ("FROM alpine AS b\nCOPY --from=b /a /a\n",
     "Line 2: stage 'b' copies from itself (directly or through other stages); Docker reports "
     "a circular dependency."),
    ("FROM ${NOPE:-}\n", "Line 1: the FROM image '${NOPE:-}' is empty after ARG substitution."),
])
def test_parse_errors(text, message):
    with pytest.raises(KitError) as caught:
        df.parse_text(text)
    assert caught.value.message == message
    assert caught.value.hint


def test_parse_missing_file_and_directory(tmp_path):
    with pytest.raises(KitError) as caught:
        df.parse(tmp_path / "Nope")
    assert caught.value.message == f"No Dockerfile at {tmp_path / 'Nope'}."
    with pytest.raises(KitError) as caught:
        df.parse(tmp_path)
    assert caught.value.message == f"{tmp_path} is a directory, not a Dockerfile."
    bad = tmp_path / "Dockerfile"
    bad.write_bytes(b"FROM scratch\n\xff\n")
    with pytest.raises(KitError) as caught:
        df.parse(bad)
    assert caught.value.message == f"{bad} is not UTF-8 text (byte 13)."


def test_parse_reads_a_file_with_build_args(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text(ARG_TAG)
    m = df.parse(str(path), {"GO_VERSION": "1.21"})
    assert (m.path, m.stages[0].base, m.build_args) == (path, "golang:1.21",
                                                        {"GO_VERSION": "1.21"})


def test_import_has_no_side_effects():
    import importlib

    import helpers.dockerfile as module
    assert importlib.reload(module).KEYWORDS >= {"FROM", "COPY", "RUN"}
