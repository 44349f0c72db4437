"""The static Dockerfile model (helpers.dockerfile): every reasonable way to write the solution."""

from __future__ import annotations

import textwrap

import pytest

from helpers import dockerfile as df
from helpers.config import EXERCISE_DIR, SOLUTIONS_DIR
from helpers.errors import KitError

REFERENCE = SOLUTIONS_DIR / "Dockerfile.multistage"
STARTER = EXERCISE_DIR / "Dockerfile.multistage"
ORIGINAL = EXERCISE_DIR / "Dockerfile"


def model(text: str, build_args: dict[str, str] | None = None) -> df.DockerfileModel:
    return df.parse_text(textwrap.dedent(text).lstrip("\n"), build_args)


def only_build(m: df.DockerfileModel) -> dict:
    (stage, instruction), = df.go_build_commands(m)
    return df.build_flags(m, stage, instruction)


# A correct two-stage solution to vary one thing at a time.
SOLUTION = """\
FROM golang:1.22 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -ldflags="-s -w" -o /out/server ./cmd/server
FROM scratch
COPY --from=build /out/server /server
ENTRYPOINT ["/server"]
"""


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
    assert m.entrypoint().line == 35 and m.entrypoint().arguments == ["/server"]
    assert m.cmd() is None
    assert m.command_path() == "/server"
    assert m.shell_form() is False
    assert m.workdir_at(m.stages[0], 20) == "/src"
    assert m.args_at(m.stages[0], 20) == {"VERSION": "dev"}
    assert m.env_at(m.stages[0], 20) == {}
    assert [(s.index, i.line) for s, i in df.go_build_commands(m)] == [(0, 20)]
    assert df.build_flags(m, *df.go_build_commands(m)[0]) == {
        "cgo_disabled": True, "ldflags": "-s -w -X main.version=dev", "strip": True,
        "trimpath": True, "goos": "linux", "goarch": None, "output": "/out/server",
        "subcommand": "build", "packages": ["./cmd/server"]}
    assert df.dependency_order(m) == {
        "stage": 0, "download_line": 13, "copies_go_mod": True, "copies_go_sum": True,
        "copy_all_line": 16, "source_copy_line": 16, "download_before_source": True}
    assert df.uses_latest_or_unpinned(m) == []
    health = df.healthcheck_commands(m)
    assert (health.line, health.end_line, health.arguments, health.exec_form) == (
        33, 34, ["/server", "-healthcheck"], True)
    assert health.flags == {"interval": "10s", "timeout": "3s", "start-period": "2s",
                            "retries": "3"}
    assert df.healthcheck_tools(m) == {
        "instruction": health, "disabled": False, "exec_form": True, "program": "/server",
        "uses_shell": False, "uses_curl": False, "uses_wget": False}
    assert df.invalid_exec_forms(m) == []


def test_learner_starter():
    m = df.parse(STARTER)
    assert [(s.name, s.base, s.base_stage) for s in m.stages] == [
        ("build", "golang:1.22", None), (None, "golang:1.22", None)]
    assert df.is_toolchain_image(m.final.base) is True
    assert [(c.source, c.source_stage, c.sources, c.dest_abs, c.line)
            for c in m.final_copies_from()] == [("build", 0, ["/out/server"], "/server", 25)]
    assert m.command_path() == "/server"
    assert m.workdir_at(m.final, 99) == "/go"  # the golang image's own WORKDIR
    assert df.build_flags(m, *df.go_build_commands(m)[0]) == {
        "cgo_disabled": None, "ldflags": None, "strip": False, "trimpath": False,
        "goos": None, "goarch": None, "output": "/out/server", "subcommand": "build",
        "packages": ["./cmd/server"]}
    assert df.dependency_order(m) == {
        "stage": 0, "download_line": None, "copies_go_mod": False, "copies_go_sum": False,
        "copy_all_line": 14, "source_copy_line": 14, "download_before_source": False}
    assert df.healthcheck_commands(m) is None


def test_original_single_stage():
    m = df.parse(ORIGINAL)
    assert [(s.name, s.base) for s in m.stages] == [(None, "golang:1.22")]
    assert m.copies_from() == [] and m.builder_stages() == []
    assert m.cmd().arguments == ["./server"] and m.entrypoint() is None
    assert m.command_path() == "/app/server"
    assert only_build(m)["output"] == "/app/server"
    assert df.dependency_order(m)["download_before_source"] is True


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
    instruction = m.find("COPY")[0]
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
    m = model("""
        FROM golang:1.22 AS deps
        WORKDIR /src
        COPY go.* ./
        RUN go mod download
        FROM deps AS compile
        COPY . .
        RUN CGO_ENABLED=0 go build -o /bin/server ./cmd/server
        FROM scratch AS runtime
        COPY --from=compile /bin/server /server
        CMD ["/server"]
        """)
    assert [(s.name, s.base, s.base_stage) for s in m.stages] == [
        ("deps", "golang:1.22", None), ("compile", "deps", 0), ("runtime", "scratch", None)]
    assert [s.index for s in m.builder_stages()] == [0, 1]
    assert m.root_image(m.stages[1]) == "golang:1.22"
    assert m.workdir_at(m.stages[1], 6) == "/src"
    assert df.dependency_order(m) == {
        "stage": 1, "download_line": 4, "copies_go_mod": True, "copies_go_sum": True,
        "copy_all_line": 6, "source_copy_line": 6, "download_before_source": True}


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
    assert m.entrypoint().line == 4
    assert m.command_path() == "/app/server"
    assert m.env_at(m.final, 99) == {"MODE": "prod"}
    assert m.final_copies_from()[0].dest_abs == "/app/server"
    assert [s.index for s in m.builder_stages()] == [1]


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
    assert [i.value for i in m.find("WORKDIR")] == ["${APP}/a", "/srv/b"]
    assert m.workdir_at(stage, 99) == "/srv/b"
    assert m.args_at(stage, 99) == {"APP": "/srv", "LOCAL": "x", "LOCAL2": "x-y"}


def test_build_args_override_stage_arg_defaults():
    text = """
        FROM golang:1.22
        ARG CGO_ENABLED=0
        RUN go build -o /server .
        """
    assert only_build(model(text))["cgo_disabled"] is True
    assert only_build(model(text, {"CGO_ENABLED": "1"}))["cgo_disabled"] is False


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
    assert m.env_at(stage, 99) == {"APP_HOME": "/opt/app", "BIN": "server",
                                   "LEGACY": "some value", "NEXT": "/opt/app/bin",
                                   "UNKNOWN": "$NOT_SET"}
    assert m.env_at(stage, 4) == {"APP_HOME": "/opt/app", "BIN": "server",
                                  "LEGACY": "some value"}
    copy = m.find("COPY")[0]
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
    (run,) = m.find("RUN")
    assert run.value == "echo ${VERSION} '$VERSION'"
    assert run.arguments == ["echo", "${VERSION}", "$VERSION"]


# ---------------------------------------------------------------------------------------------
# ENTRYPOINT / CMD / WORKDIR
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tail, command_path, shell_form", [
    ('ENTRYPOINT ["/server"]', "/server", False),
    ('CMD ["/server"]', "/server", False),
    ('WORKDIR /app\nCMD ["./server"]', "/app/server", False),
    ('WORKDIR /app\nENTRYPOINT ["./server", "-port", "8080"]', "/app/server", False),
    ("WORKDIR /app\nCMD ./server --port 8080", "/app/server", True),
    ("CMD exec /server", "/server", True),
    ("ENTRYPOINT PORT=8080 /server", "/server", True),
    ('CMD ["server"]', "server", False),  # a bare name is looked up in PATH
    ('ENTRYPOINT ["/server"]\nCMD ["-healthcheck"]', "/server", False),
    ('ENTRYPOINT []\nCMD ["/server"]', "/server", False),
    ("EXPOSE 8080", None, None),
])
def test_command_path(tail, command_path, shell_form):
    m = model("FROM golang:1.22 AS b\nFROM scratch\n" + tail + "\n")
    assert m.command_path() == command_path
    assert m.shell_form() is shell_form


def test_cmd_instead_of_entrypoint():
    m = model(SOLUTION.replace('ENTRYPOINT ["/server"]', 'CMD ["/server"]'))
    assert m.entrypoint() is None
    assert (m.cmd().keyword, m.cmd().line, m.cmd().exec_form) == ("CMD", 9, True)
    assert m.command_path() == "/server"


def test_entrypoint_in_child_stage_resets_inherited_cmd():
    m = model("""
        FROM alpine:3.20 AS base
        CMD ["/bin/sh"]
        FROM base
        ENTRYPOINT ["/server"]
        """)
    assert m.cmd() is None
    assert m.entrypoint().line == 4
    same_stage = model('FROM scratch\nCMD ["-v"]\nENTRYPOINT ["/server"]\n')
    assert same_stage.cmd().arguments == ["-v"]


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
    assert m.find("COPY")[0].line == 2 + len(workdirs)


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


def test_run_mounts_parsed():
    m = model("FROM golang:1.22\nRUN --mount=type=cache,target=/go/pkg/mod,sharing=locked "
              "--mount=type=bind,source=go.sum,target=go.sum,readonly go mod download\n")
    assert m.find("RUN")[0].mounts() == [
        {"type": "cache", "target": "/go/pkg/mod", "sharing": "locked"},
        {"type": "bind", "source": "go.sum", "target": "go.sum", "readonly": "true"}]


def test_lowercase_instructions():
    m = model(SOLUTION.lower().replace("cgo_enabled", "CGO_ENABLED"))
    assert [s.name for s in m.stages] == ["build", None]
    assert [i.keyword for i in m.stages[0].instructions] == ["WORKDIR", "COPY", "RUN", "COPY",
                                                            "RUN"]
    assert m.command_path() == "/server"
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
    assert m.entrypoint().line == 15


def test_file_ending_inside_a_continuation_keeps_the_instruction():
    m = df.parse_text("FROM scratch\nCOPY a \\\n  b")
    assert m.find("COPY")[0].arguments == ["a", "b"]


def test_keyword_glued_to_the_continuation():
    # dockerfile-parse would report an instruction called "RUN\\".
    m = df.parse_text("FROM golang:1.22\nRUN\\\n  go build -o /s .\n")
    (run,) = m.find("RUN")
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
    assert m.find("WORKDIR")[0].line == 5


def test_crlf_and_bom():
    m = df.parse_text("\ufeffFROM scratch\r\nCMD [\"/server\"]\r\n")
    assert m.command_path() == "/server"


def test_find_and_stage_of_image():
    m = df.parse(REFERENCE)
    assert [i.line for i in m.find("from")] == [7, 26]
    assert [i.line for i in m.find("COPY", m.final)] == [27, 28]
    assert [s.index for s in m.stage_of_image("golang:1.22")] == [0]
    assert [s.index for s in m.stage_of_image("docker.io/library/golang:1.22")] == [0]
    assert [s.index for s in m.stage_of_image("golang")] == [0]
    assert m.stage_of_image("golang:1.21") == []
    assert [s.index for s in m.stage_of_image("scratch")] == [1]
    assert m.stage("BUILD") is m.stages[0] and m.stage(1) is m.final and m.stage("x") is None


def test_invalid_exec_form_is_reported():
    m = model("FROM scratch\nCMD ['/server']\n")
    assert [(s.index, i.line) for s, i in df.invalid_exec_forms(m)] == [(0, 2)]
    assert m.shell_form() is True


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
    assert m.env_at(m.stages[1], 4) == {"CGO_ENABLED": "0", "GOFLAGS": "-trimpath"}


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
    assert m.args_at(m.stages[1], 4) == {"CGO_ENABLED": "0"}
    assert m.args_at(m.stages[2], 6) == {}


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


# ---------------------------------------------------------------------------------------------
# Base images
# ---------------------------------------------------------------------------------------------

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
    m = model(f"FROM {base} AS one\nFROM one\n")  # the stage reference is never reported
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


# ---------------------------------------------------------------------------------------------
# HEALTHCHECK
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line, expected", [
    ('HEALTHCHECK CMD ["/server", "-healthcheck"]',
     {"disabled": False, "exec_form": True, "program": "/server", "uses_shell": False,
      "uses_curl": False, "uses_wget": False}),
    ("HEALTHCHECK --interval=5s CMD curl -fsS http://localhost:8080/health || exit 1",
     {"disabled": False, "exec_form": False, "program": "curl", "uses_shell": True,
      "uses_curl": True, "uses_wget": False}),
    ('HEALTHCHECK CMD ["wget", "-qO-", "http://localhost:8080/health"]',
     {"disabled": False, "exec_form": True, "program": "wget", "uses_shell": False,
      "uses_curl": False, "uses_wget": True}),
    ('HEALTHCHECK CMD ["/bin/sh", "-c", "wget -qO- http://localhost:8080/health"]',
     {"disabled": False, "exec_form": True, "program": "/bin/sh", "uses_shell": True,
      "uses_curl": False, "uses_wget": True}),
    ('HEALTHCHECK CMD ["./server", "-healthcheck"]',
     {"disabled": False, "exec_form": True, "program": "/app/server", "uses_shell": False,
      "uses_curl": False, "uses_wget": False}),
    ("HEALTHCHECK NONE",
     {"disabled": True, "exec_form": None, "program": None, "uses_shell": False,
      "uses_curl": False, "uses_wget": False}),
])
def test_healthcheck(line, expected):
    m = model(f"FROM scratch\nWORKDIR /app\n{line}\n")
    assert df.healthcheck_commands(m).line == 3
    tools = df.healthcheck_tools(m)
    assert tools.pop("instruction") is df.healthcheck_commands(m)
    assert tools == expected


def test_healthcheck_absent_or_inherited():
    assert df.healthcheck_commands(model("FROM scratch\n")) is None
    m = model('FROM alpine:3.20 AS base\nHEALTHCHECK CMD ["/h"]\nFROM base\n')
    assert df.healthcheck_commands(m).line == 2


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
