"""The truncated Dockerfile the dep-cache probe builds (helpers.grading.probeplan), and how
the probe reads its result (helpers.grading.depprobe), without an engine.

Each shape learners write must give a file that holds every step the download depends on,
ends with the download, and keeps the learner's own lines (continuations, case, directives);
where truncating could change what is measured the plan gives up, and the probe then
rebuilds the whole Dockerfile.
"""

from __future__ import annotations

import shutil

import pytest

from helpers.build import StepResult
from helpers.build.engineless.context import BuildContext
from helpers.config import EXERCISE_DIR, REPO_ROOT, SOLUTIONS_DIR
from helpers.dockerfile import parse_text
from helpers.grading import depprobe
from helpers.grading.depprobe import download_steps, order_problem, verdict_key
from helpers.grading.probeplan import ProbePlan, is_download, plan_probe
from tests.unit.fakes import FakeClient

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "dockerfiles"
EDITED = "cmd/server/main.go"


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    target = tmp_path_factory.mktemp("ctx") / "multistage-go"
    shutil.copytree(EXERCISE_DIR, target)
    return target


def plan_of(text: str, context=None) -> ProbePlan | str:
    ctx = BuildContext(context) if context is not None else None
    return plan_probe(parse_text(text), text, ctx, EDITED if context is not None else None)


def last_instruction(text: str):
    model = parse_text(text)
    return model.final.instructions[-1]


# ---------------------------------------------------------------------------------------------
# Shapes that truncate
# ---------------------------------------------------------------------------------------------
def test_the_reference_stops_at_its_download_and_drops_the_runtime_stage(context):
    text = (SOLUTIONS_DIR / "Dockerfile.multistage").read_text()
    plan = plan_of(text, context)
    assert isinstance(plan, ProbePlan), plan
    assert plan.text.rstrip().endswith("RUN go mod download")
    assert "go build" not in plan.text and "FROM scratch" not in plan.text
    assert plan.text == "\n".join(text.splitlines()[:plan.download.line]) + "\n"
    assert plan.built == [0]
    assert (plan.source_read.keyword, plan.source_read.raw) == ("COPY", ". .")
    assert [r.sources for r in plan.reads] == [["go.mod", "go.sum"]]


def test_the_cache_mount_download_keeps_its_continuation_lines(context):
    plan = plan_of((SOLUTIONS_DIR / "Dockerfile.cache-mounts").read_text(), context)
    assert plan.text.rstrip().endswith("RUN --mount=type=cache,target=/go/pkg/mod \\\n"
                                       "    go mod download")
    assert last_instruction(plan.text).mounts() == [{"type": "cache", "target": "/go/pkg/mod"}]
    assert plan.source_read.line == 14


def test_a_deps_stage_in_lower_case_is_built_alone(context):
    plan = plan_of((FIXTURES / "solution-three-stages.Dockerfile").read_text(), context)
    assert plan.text.rstrip().endswith("run go mod download && go mod verify")
    assert "compile" not in plan.text and plan.built == [0]
    assert plan.stage.name == "deps"
    assert plan.source_read.keyword == "COPY" and plan.source_read.raw == ". ."


def test_an_arg_before_from_and_download_x_are_kept(context):
    text = (FIXTURES / "solution-builder-numeric.Dockerfile").read_text()
    plan = plan_of(text, context)
    assert "ARG GO_VERSION=1.22" in plan.text
    assert plan.text.rstrip().endswith("RUN go mod download -x")
    assert parse_text(plan.text).stages[0].base == "golang:1.22"
    assert plan.source_read.raw == "cmd ./cmd"


def test_platform_flags_and_directives_stay_as_written(context):
    text = ("# syntax=docker/dockerfile:1\n# escape=\\\n"
            + (FIXTURES / "solution-cross-platform.Dockerfile").read_text())
    plan = plan_of(text, context)
    assert plan.text.startswith("# syntax=docker/dockerfile:1\n# escape=\\\n")
    assert "FROM --platform=$BUILDPLATFORM golang:1.22 AS build" in plan.text
    assert "ARG TARGETARCH" in plan.text and "GOARCH" not in plan.text


def test_an_unused_stage_before_becomes_its_from_line_so_indexes_keep_their_meaning():
    text = """\
FROM golang:1.22 AS lint
WORKDIR /src
COPY . .
RUN go vet ./...

FROM golang:1.22
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -o /out/server ./cmd/server
FROM scratch
COPY --from=1 /out/server /server
"""
    plan = plan_of(text)
    assert plan.text == ("FROM golang:1.22 AS lint\nFROM golang:1.22\nWORKDIR /src\n"
                         "COPY go.mod go.sum ./\nRUN go mod download\n")
    assert plan.built == [1] and plan.stage.index == 1
    assert [s.index for s in parse_text(plan.text).stages] == [0, 1]


def test_a_stage_copied_from_before_the_download_is_built_whole():
    text = """\
FROM alpine:3.19 AS netrc
RUN echo machine example.com > /netrc
FROM golang:1.22 AS build
COPY --from=netrc /netrc /root/.netrc
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN go build -o /out/server ./cmd/server
FROM scratch
COPY --from=build /out/server /server
"""
    plan = plan_of(text)
    assert plan.built == [0, 1]
    assert "RUN echo machine example.com > /netrc" in plan.text
    assert plan.text.rstrip().endswith("go mod download")


def test_a_stage_copied_from_only_after_the_download_is_not_built():
    text = """\
FROM alpine:3.19 AS certs
RUN apk add ca-certificates
FROM golang:1.22 AS build
COPY go.mod go.sum ./
RUN go mod download
COPY --from=certs /etc/ssl/certs /etc/ssl/certs
COPY . .
RUN go build -o /out/server ./cmd/server
FROM scratch
COPY --from=build /out/server /server
"""
    plan = plan_of(text)
    assert plan.built == [1]
    assert plan.text.startswith("FROM alpine:3.19 AS certs\nFROM golang:1.22 AS build\n")
    assert "apk add" not in plan.text


def test_a_download_stage_built_from_a_base_stage_keeps_the_base():
    text = """\
FROM golang:1.22 AS base
ENV CGO_ENABLED=0
WORKDIR /src
FROM base AS deps
COPY go.mod go.sum ./
RUN go mod download
FROM deps AS build
COPY . .
RUN go build -o /out/server ./cmd/server
FROM scratch
COPY --from=build /out/server /server
"""
    plan = plan_of(text)
    assert plan.built == [0, 1] and "ENV CGO_ENABLED=0" in plan.text
    assert "FROM deps AS build" not in plan.text


def test_crlf_line_endings_and_a_bom_give_a_plain_file_that_parses_the_same():
    text = "\ufeffFROM golang:1.22 AS build\r\nWORKDIR /src\r\nCOPY go.mod go.sum ./\r\n" \
           "RUN go mod \\\r\n    download\r\nCOPY . .\r\nRUN go build ./...\r\n"
    plan = plan_of(text)
    assert "\r" not in plan.text and not plan.text.startswith("\ufeff")
    assert plan.text.endswith("RUN go mod \\\n    download\n")
    assert is_download(last_instruction(plan.text))


def test_every_download_is_kept_and_the_last_one_ends_the_file():
    text = """\
FROM golang:1.22 AS build
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go mod download && go build -o /out/server ./cmd/server
FROM scratch
COPY --from=build /out/server /server
"""
    plan = plan_of(text)
    assert [d.line for d in plan.downloads] == [3, 5]
    assert plan.download.line == 5 and "COPY . ." in plan.text


@pytest.mark.parametrize("run", [
    'RUN ["go", "mod", "download"]', "RUN go mod download -x", "RUN sh -c 'go mod download'",
    "RUN /usr/local/go/bin/go mod download", "run go mod download && go mod verify",
    "RUN --mount=type=cache,target=/go/pkg/mod GOFLAGS=-mod=mod go mod download",
])
def test_every_way_of_writing_the_download_is_found(run):
    assert is_download(last_instruction(f"FROM golang:1.22\n{run}\n"))


@pytest.mark.parametrize("run", ["RUN go mod tidy", "RUN echo go-mod-download",
                                 "RUN go build ./...", "COPY go.mod ./"])
def test_other_steps_are_not_the_download(run):
    assert not is_download(last_instruction(f"FROM golang:1.22\n{run}\n"))


# ---------------------------------------------------------------------------------------------
# Where the plan gives up (the probe then rebuilds the whole Dockerfile)
# ---------------------------------------------------------------------------------------------
def test_no_download_gives_up():
    assert "no `go mod download`" in plan_of("FROM golang:1.22\nCOPY . .\nRUN go build ./...\n")


def test_a_download_only_in_a_stage_the_image_does_not_use_gives_up():
    text = """\
FROM golang:1.22 AS unused
RUN go mod download
FROM golang:1.22 AS build
COPY . .
RUN go build -o /out/server ./cmd/server
FROM scratch
COPY --from=build /out/server /server
"""
    assert "no `go mod download`" in plan_of(text)


def test_downloads_in_two_unrelated_stages_give_up():
    text = """\
FROM golang:1.22 AS tools
COPY go.mod go.sum ./
RUN go mod download
FROM golang:1.22 AS build
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -o /out/server ./cmd/server
FROM scratch
COPY --from=tools /go/bin /bin
COPY --from=build /out/server /server
"""
    assert "no single cut" in plan_of(text)


def test_a_heredoc_download_gives_up():
    text = ("FROM golang:1.22\nCOPY go.mod go.sum ./\n"
            "RUN cat <<EOF > note.txt && go mod download\nhello\nEOF\nCOPY . .\n")
    assert "heredoc" in plan_of(text)


def test_no_later_step_reading_the_source_leaves_source_read_empty(context):
    plan = plan_of((SOLUTIONS_DIR / "Dockerfile.wrong-order").read_text(), context)
    assert isinstance(plan, ProbePlan) and plan.source_read is None
    assert "COPY . ." in plan.text  # copied before the download: part of what is measured


def test_a_later_bind_mount_of_the_context_reads_the_source(context):
    text = """\
FROM golang:1.22 AS build
WORKDIR /src
RUN --mount=type=bind,source=go.mod,target=go.mod --mount=type=bind,source=go.sum,target=go.sum \\
    go mod download
RUN --mount=type=bind,target=. go build -o /out/server ./cmd/server
FROM scratch
COPY --from=build /out/server /server
"""
    plan = plan_of(text, context)
    assert plan.source_read.line == 5
    assert [r.sources for r in plan.reads] == [["go.mod", "go.sum"]]


def test_a_later_copy_of_other_files_is_not_a_source_read(context):
    text = ("FROM golang:1.22\nCOPY go.mod go.sum ./\nRUN go mod download\n"
            "COPY go.mod /tmp/again\n")
    assert plan_of(text, context).source_read is None


# ---------------------------------------------------------------------------------------------
# Reading the probe's build: which step is the download
# ---------------------------------------------------------------------------------------------
def steps(*texts, cached=True):
    return [StepResult(i + 1, t, cached=cached) for i, t in enumerate(texts)]


def test_the_download_step_is_found_by_its_text_case_and_spacing_aside():
    plan = plan_of("FROM golang:1.22 AS build\ncopy go.mod go.sum ./\n"
                   "run --mount=type=cache,target=/go/pkg/mod \\\n    go mod download\n")
    built = steps("FROM golang:1.22 AS build", "copy go.mod go.sum ./",
                  "RUN --mount=type=cache,target=/go/pkg/mod go mod download",
                  "LABEL com.multistage-kit.managed=true")
    assert download_steps(built, plan) == [built[2]]


def test_a_download_printed_differently_is_the_last_run_before_the_labels():
    plan = plan_of("FROM golang:1.22\nCOPY go.mod go.sum ./\nRUN go mod download\n")
    built = steps("FROM golang:1.22", "COPY go.mod go.sum ./", "RUN /bin/sh -c go mod download",
                  "LABEL a=b")
    assert download_steps(built, plan) == [built[2]]
    assert download_steps(steps("FROM golang:1.22", "COPY go.mod go.sum ./"), plan) is None


def test_order_problem_is_the_static_half():
    reference = (SOLUTIONS_DIR / "Dockerfile.multistage").read_text()
    assert order_problem(parse_text(reference)) is None
    wrong = parse_text((SOLUTIONS_DIR / "Dockerfile.wrong-order").read_text())
    assert "before `go mod download`" in order_problem(wrong)[0]
    no_sum = parse_text((FIXTURES / "mistake-go-sum-missing.Dockerfile").read_text())
    assert order_problem(no_sum)[0] == "go.sum is not copied before `go mod download`."


# ---------------------------------------------------------------------------------------------
# The key a verdict is kept under
# ---------------------------------------------------------------------------------------------
def key_for(context, backend="classic", client=None):
    text = (SOLUTIONS_DIR / "Dockerfile.multistage").read_text()
    ctx = BuildContext(context)
    plan = plan_probe(parse_text(text), text, ctx, EDITED)
    return verdict_key(client or FakeClient(), plan, ctx, EDITED, backend, parse_text(text))


def test_the_key_follows_what_the_truncated_build_reads(tmp_path):
    context = tmp_path / "ctx"
    shutil.copytree(EXERCISE_DIR, context)
    first = key_for(context)
    assert first == key_for(context)
    (context / EDITED).write_text((context / EDITED).read_text() + "// a code edit\n")
    assert key_for(context) == first  # main.go is not read before the download
    (context / "go.sum").write_text("example.com/x v1.0.0 h1:abc=\n")
    changed = key_for(context)
    assert changed != first
    assert key_for(context, backend="buildkit") != changed
    other = FakeClient(base_url="unix:///run/other.sock")
    assert key_for(context, client=other) != changed
    (context / "go.sum").unlink()
    assert key_for(context) is None  # the build will fail and say so: nothing to keep


def test_the_probe_gives_the_full_rebuild_the_reason_truncation_gave_up(monkeypatch, tmp_path):
    context = tmp_path / "ctx"
    shutil.copytree(EXERCISE_DIR, context)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM golang:1.22\nCOPY . .\nRUN go build ./...\n")
    monkeypatch.setattr(depprobe, "rebuild_after_edit",
                        lambda *a, **k: ("fail", "There is no `go mod download` step to reuse."))
    status, message = depprobe.probe_dep_cache(FakeClient(), context, dockerfile, "t")
    assert status == "fail"
    assert message.endswith("(The whole Dockerfile was rebuilt to tell: no `go mod download` "
                            "step in the stages the image is built from.)")


def test_the_truncated_probe_builds_with_a_first_label_of_its_own(monkeypatch, context):
    """The classic builder adds labels as LABEL steps in key order: the truncated probe's own
    label (naming the learner) must come before the kit's shared ``managed`` one, so removing
    one learner's probe never prunes a LABEL image another learner's build shares. The full
    rebuild keeps the kit's labels only (the engine-less derivation counts those)."""
    from helpers.build import BuildResult
    from helpers.config import MANAGED_LABEL, NAMESPACE_LABEL

    monkeypatch.setenv("KIT_NAMESPACE", "learner7")
    builds, removed = [], []

    def build(client, context, tag, dockerfile, *, backend, labels):
        builds.append((tag, labels))
        return BuildResult(tag, "sha256:1", [], [], 0.0)

    client = FakeClient()
    client.images.remove = removed.append
    monkeypatch.setattr(depprobe, "build_image", build)
    reference = SOLUTIONS_DIR / "Dockerfile.multistage"
    plan = plan_of(reference.read_text(), context)
    assert depprobe._measure_truncated(client, context, reference, plan, EDITED, "t",
                                       "classic") == depprobe.NO_STEPS
    (tag, labels), = builds
    keys = sorted([*labels, MANAGED_LABEL, NAMESPACE_LABEL])
    assert keys[0] == depprobe.PROBE_LABEL and labels == {keys[0]: "learner7"}
    assert removed == [tag] == ["t-depcache-probe"]
    depprobe.rebuild_after_edit(client, context, reference, "t")
    assert builds[1][1] is None
