"""Dockerfiles and helpers the dockerfile tests share: the kit's files and a correct solution."""

from __future__ import annotations

import textwrap

from helpers import dockerfile as df
from helpers.config import EXERCISE_DIR, SOLUTIONS_DIR

STARTER = EXERCISE_DIR / "Dockerfile.multistage"
ORIGINAL = EXERCISE_DIR / "Dockerfile"
REFERENCE = SOLUTIONS_DIR / "Dockerfile.multistage"


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


# Download, compile and runtime in three named stages, each FROM the one before.
THREE_STAGES = """
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
    """
