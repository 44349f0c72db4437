"""The ``dep-cache`` verdict derived from Docker's cache rules: the exercise's Dockerfiles, and
small contexts for each rule (.dockerignore, bind mounts, unused stages, ``COPY --from``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.build.engineless.context import BuildContext
from helpers.build.engineless.depcache import (
    DERIVED_NOTE,
    derive_dep_cache,
    edited_source,
)
from helpers.config import EXERCISE_DIR, REPO_ROOT, SOLUTIONS_DIR, kit_labels
from helpers.dockerfile import parse, parse_text

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "dockerfiles"
LABELS = len(kit_labels())  # the classic builder's LABEL steps after the final stage
NO_DOWNLOAD = "There is no `go mod download` step to reuse." + DERIVED_NOTE
RAN_AGAIN = ("After editing a .go file the `go mod download` step ran again instead of coming "
             "from the cache." + DERIVED_NOTE)
NOTHING = "After editing a .go file nothing was rebuilt: is the source copied?" + DERIVED_NOTE


def passed(edited: str, steps: int) -> tuple[str, str]:
    return "pass", (f"After editing {edited} the download step came from the cache; {steps} "
                    f"later step(s) re-ran." + DERIVED_NOTE)


def exercise(dockerfile: Path) -> tuple[str, str]:
    return derive_dep_cache(parse(dockerfile), BuildContext(EXERCISE_DIR))


@pytest.fixture
def project(tmp_path):
    """A small Go context: ``derive(dockerfile, **extra_files)`` gives the verdict."""
    files = {"go.mod": "module example.com/app\n\ngo 1.22\n", "go.sum": "",
             "main.go": "package main\n\nfunc main() {}\n", "util/util.go": "package util\n",
             "main_test.go": "package main\n"}

    def derive(dockerfile: str, **extra: str) -> tuple[str, str]:
        for rel, text in {**files, **extra}.items():
            path = tmp_path / rel.replace("__", "/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return derive_dep_cache(parse_text(dockerfile), BuildContext(tmp_path))

    return derive


GOOD = """\
FROM golang:1.22 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/app .
FROM scratch
COPY --from=build /out/app /app
ENTRYPOINT ["/app"]
"""


# ---- the exercise's Dockerfiles ---------------------------------------------------------

def test_reference_solution_passes_with_the_classic_builders_step_count():
    # COPY . ., ARG, RUN go build; COPY /server, USER, EXPOSE, HEALTHCHECK, ENTRYPOINT: the
    # CA bundle's COPY --from stays cached (go build does not write /etc/ssl).
    assert exercise(SOLUTIONS_DIR / "Dockerfile.multistage") == passed(
        "cmd/server/main.go", 8 + LABELS)


def test_shipped_starter_has_no_download_step():
    assert exercise(EXERCISE_DIR / "Dockerfile.multistage") == ("fail", NO_DOWNLOAD)


def test_source_copied_before_the_download_runs_it_again():
    assert exercise(SOLUTIONS_DIR / "Dockerfile.wrong-order") == ("fail", RAN_AGAIN)


def test_three_stages_follow_the_from_chain():
    # deps (download) stays cached; compile FROM deps re-runs copy + build; the final stage
    # re-runs the binary's copy and its metadata.
    assert exercise(FIXTURES / "solution-three-stages.Dockerfile") == passed(
        "cmd/server/main.go", 6 + LABELS)


def test_global_args_count_as_steps_like_the_classic_builder():
    assert exercise(FIXTURES / "solution-builder-numeric.Dockerfile") == passed(
        "cmd/server/main.go", 1 + 5 + LABELS)


def test_a_typo_in_copy_from_fails_the_rebuild():
    status, message = exercise(FIXTURES / "mistake-copy-from-missing.Dockerfile")
    assert status == "fail"
    assert message.startswith("The rebuild after a source edit would fail: line 13: "
                              "--from=builder names no stage")
    assert "did you mean `build`?" in message and message.endswith(DERIVED_NOTE)


# ---- which file is edited ---------------------------------------------------------------

def test_edited_file_is_the_first_non_test_source_even_if_ignored(tmp_path):
    for rel in ("b.go", "a_test.go", "sub/a.go", "vendor/z.go"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("package x\n")
    (tmp_path / ".dockerignore").write_text("b.go\n")
    assert edited_source(tmp_path) == "b.go"
    assert edited_source(tmp_path / "sub") == "a.go"


def test_no_go_source_fails(tmp_path):
    (tmp_path / "go.mod").write_text("module x\n")
    assert derive_dep_cache(parse_text(GOOD), BuildContext(tmp_path)) == (
        "fail", "No Go source in the context to edit." + DERIVED_NOTE)


def test_no_model_skips(project, tmp_path):
    project(GOOD)
    status, message = derive_dep_cache(None, BuildContext(tmp_path))
    assert (status, message) == ("skip", "Not derived: the Dockerfile could not be read."
                                 + DERIVED_NOTE)


# ---- COPY from the context, .dockerignore -----------------------------------------------

def test_good_order_passes(project):
    # COPY . ., RUN go build; COPY --from, ENTRYPOINT.
    assert project(GOOD) == passed("main.go", 4 + LABELS)


def test_dockerignore_excluding_the_edited_file_rebuilds_nothing(project):
    assert project(GOOD, **{".dockerignore": "main.go\n"}) == ("fail", NOTHING)


def test_dockerignore_exception_brings_the_edited_file_back(project):
    assert project(GOOD, **{".dockerignore": "*.go\n!main.go\n"})[0] == "pass"


def test_source_never_copied_rebuilds_nothing(project):
    dockerfile = GOOD.replace("COPY . .", "COPY util ./util")
    assert project(dockerfile) == ("fail", NOTHING)


def test_a_glob_copy_matches_the_edited_file(project):
    dockerfile = GOOD.replace("COPY . .", "COPY *.go ./")
    assert project(dockerfile)[0] == "pass"


def test_copying_the_source_before_the_download_runs_it_again(project):
    dockerfile = GOOD.replace("COPY go.mod go.sum ./", "COPY . .")
    assert project(dockerfile) == ("fail", RAN_AGAIN)


def test_a_missing_copy_source_fails_the_rebuild(project):
    status, message = project(GOOD.replace("go.mod go.sum", "go.mod go.work"))
    assert status == "fail"
    assert message.startswith("The rebuild after a source edit would fail: `COPY go.mod "
                              "go.work ./`: failed to compute cache key: \"/go.work\": not found")


# ---- RUN --mount ------------------------------------------------------------------------

def test_bind_mount_of_the_whole_context_reruns_the_download(project):
    dockerfile = GOOD.replace("RUN go mod download",
                              "RUN --mount=type=bind,target=. go mod download")
    assert project(dockerfile) == ("fail", RAN_AGAIN)


def test_bind_mounts_of_the_module_files_keep_the_download_cached(project):
    dockerfile = """\
FROM golang:1.22 AS build
WORKDIR /src
RUN --mount=type=bind,source=go.mod,target=go.mod \\
    --mount=type=bind,source=go.sum,target=go.sum \\
    --mount=type=cache,target=/go/pkg/mod go mod download
RUN --mount=type=bind,target=. --mount=type=cache,target=/go/pkg/mod \\
    CGO_ENABLED=0 go build -o /out/app .
FROM scratch
COPY --from=build /out/app /app
"""
    assert project(dockerfile) == passed("main.go", 2 + LABELS)


def test_secret_and_tmpfs_mounts_are_not_inputs(project):
    dockerfile = GOOD.replace(
        "RUN go mod download",
        "RUN --mount=type=secret,id=netrc --mount=type=tmpfs,target=/tmp go mod download")
    assert project(dockerfile)[0] == "pass"


# ---- stages -----------------------------------------------------------------------------

def test_a_download_in_a_stage_the_final_stage_does_not_use_does_not_count(project):
    dockerfile = """\
FROM golang:1.22 AS deps
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
FROM golang:1.22 AS build
WORKDIR /src
COPY . .
RUN go build -o /out/app .
FROM scratch
COPY --from=build /out/app /app
"""
    assert project(dockerfile) == ("fail", NO_DOWNLOAD)


def test_a_download_in_a_stage_copied_from_counts(project):
    dockerfile = """\
FROM golang:1.22 AS deps
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
FROM golang:1.22 AS build
COPY --from=deps /go/pkg/mod /go/pkg/mod
WORKDIR /src
COPY . .
RUN go build -o /out/app .
FROM scratch
COPY --from=build /out/app /app
"""
    assert project(dockerfile) == passed("main.go", 3 + LABELS)


def test_a_download_after_a_copy_from_a_rebuilt_stage_runs_again(project):
    dockerfile = """\
FROM golang:1.22 AS src
WORKDIR /src
COPY . .
FROM golang:1.22 AS build
WORKDIR /src
COPY --from=src /src /src
RUN go mod download
RUN go build -o /out/app .
FROM scratch
COPY --from=build /out/app /app
"""
    assert project(dockerfile) == ("fail", RAN_AGAIN)


def test_copy_from_an_unchanged_path_of_a_rebuilt_stage_stays_cached(project):
    with_certs = GOOD.replace("FROM scratch\n", "FROM scratch\nCOPY --from=build "
                              "/etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/\n")
    assert project(with_certs) == passed("main.go", 4 + LABELS)


def test_a_run_that_may_write_anywhere_reruns_every_copy_from(project):
    dockerfile = GOOD.replace("FROM scratch\n", "RUN apt-get update\nFROM scratch\nCOPY "
                              "--from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/\n")
    # COPY . ., go build, apt-get; both COPY --from (apt-get may have written anywhere), ENTRYPOINT.
    assert project(dockerfile) == passed("main.go", 3 + 3 + LABELS)


def test_copy_from_an_image_never_reruns(project):
    dockerfile = GOOD.replace("COPY go.mod go.sum ./",
                              "COPY --from=golang:1.22 /usr/local/go/VERSION /\n"
                              "COPY go.mod go.sum ./")
    assert project(dockerfile) == passed("main.go", 4 + LABELS)


# ---- what the rules cannot decide -------------------------------------------------------

def test_a_remote_add_before_the_download_skips(project):
    dockerfile = GOOD.replace("COPY go.mod go.sum ./",
                              "ADD https://example.com/tool.tar.gz /opt/\nCOPY go.mod go.sum ./")
    status, message = project(dockerfile)
    assert status == "skip"
    assert message.startswith("Not derived: whether `go mod download` stays cached depends on "
                              "line 3 (`ADD https://example.com/tool.tar.gz /opt/`")


def test_a_remote_add_after_the_download_still_decides(project):
    dockerfile = GOOD.replace("COPY . .", "COPY . .\nADD https://example.com/x.txt /x.txt")
    # The ADD re-runs anyway (it follows COPY . .): the count includes it.
    assert project(dockerfile) == passed("main.go", 5 + LABELS)


def test_onbuild_in_a_base_stage_skips(project):
    dockerfile = GOOD.replace("FROM scratch", "FROM build AS child\nFROM scratch").replace(
        "WORKDIR /src", "WORKDIR /src\nONBUILD COPY . .")
    dockerfile = dockerfile.replace("--from=build", "--from=child")
    assert project(dockerfile)[0] == "skip"


def test_go_run_as_another_user_may_write_anywhere(project):
    dockerfile = GOOD.replace("RUN CGO_ENABLED", "USER 1000\nRUN CGO_ENABLED").replace(
        "FROM scratch\n", "FROM scratch\nCOPY --from=build /etc/passwd /etc/passwd\n")
    # COPY . ., USER, go build; both COPY --from (Go's caches are not under /root for user
    # 1000, so the build may have written anywhere), ENTRYPOINT.
    assert project(dockerfile) == passed("main.go", 3 + 3 + LABELS)
