"""Which line a failing check names, on the shipped mistakes, and what a solution quotes."""

from pathlib import Path

import pytest

from helpers import dockerfile as df
from helpers.config import EXERCISE_DIR, SOLUTIONS_DIR
from helpers.grading.lines import concern_line, excerpt, solution_spans

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dockerfiles"


def line_text(path: Path, line: int) -> str:
    return path.read_text().splitlines()[line - 1]


@pytest.mark.parametrize("fixture, check_id, expected", [
    ("mistake-copy-before-download", "dep-cache", "COPY . ."),
    ("mistake-go-sum-missing", "dep-cache", "COPY go.mod ./"),
    ("mistake-latest-base", "base-images", "FROM golang AS build"),
    ("mistake-no-ca-certs", "ca-certs", "COPY --from=build /out/server /server"),
    ("mistake-cgo-dynamic", "static-binary", "RUN GOOS=linux go build -trimpath \\"),
    ("mistake-toolchain-runtime", "multi-stage", "FROM golang:1.22"),
    ("mistake-shell-form-scratch", "runs", "ENTRYPOINT /server"),
    ("mistake-root-user", "non-root", "FROM scratch"),
    ("mistake-healthcheck-shell", "healthcheck", "HEALTHCHECK"),
])
def test_each_classic_mistake_points_at_its_line(fixture, check_id, expected):
    path = FIXTURES / f"{fixture}.Dockerfile"
    line = concern_line(check_id, df.parse(path))
    assert line_text(path, line).startswith(expected)


def test_the_starter_points_at_its_todos():
    path = EXERCISE_DIR / "Dockerfile.multistage"
    model = df.parse(path)
    assert line_text(path, concern_line("dep-cache", model)) == "COPY . ."
    assert line_text(path, concern_line("size", model)) == "FROM golang:1.22"
    assert "go build" in line_text(path, concern_line("static-binary", model))


def test_no_line_without_a_model_or_for_other_files():
    assert concern_line("size", None) is None
    assert concern_line("dockerignore", df.parse(EXERCISE_DIR / "Dockerfile.multistage")) is None
    lint = [{"line": 3, "level": "info"}, {"line": 7, "level": "warning"}]
    assert concern_line("lint", None, lint) == 7


def test_solution_spans_follow_named_and_numbered_stages():
    text = ("FROM golang:1.22\nWORKDIR /src\nCOPY go.* ./\nRUN go mod download\n"
            "COPY . .\nRUN CGO_ENABLED=0 go build -o /server ./cmd/server\n"
            "FROM scratch\nCOPY --from=0 /server /server\nENTRYPOINT [\"/server\"]\n")
    model = df.parse_text(text)
    assert solution_spans("dep-cache", model) == [(3, 3), (4, 4), (5, 5)]
    assert solution_spans("static-binary", model) == [(6, 6)]
    assert solution_spans("multi-stage", model) == [(7, 9)]
    assert concern_line("dep-cache", model) == 4


def test_excerpt_numbers_lines_and_marks_gaps():
    path = SOLUTIONS_DIR / "Dockerfile.multistage"
    shown = excerpt(path.read_text(), [(12, 13), (16, 16)])
    assert shown.splitlines() == ["12 | COPY go.mod go.sum ./", "13 | RUN go mod download",
                                  "     ...", "16 | COPY . ."]
