"""A static model of a learner's Dockerfile: stages, instructions and the facts checks need.

The self-checks (:mod:`helpers.grading.checks`) and the diagnosis of classic mistakes
(:mod:`helpers.grading.mistakes`) ask "which stage does the final stage copy from?", "is
``CGO_ENABLED=0`` in effect for ``go build``?" or "is ``go mod download`` run before the source
is copied?", and the answers must not depend on how the learner wrote the solution. Pure: no
engine, no network. The rest of the kit imports from here; the work is done in:

* :mod:`.model` — the data: stages, instructions, ``COPY --from``, the state each line sees;
* :mod:`.parser` — Dockerfile text to model, substituting ARG/ENV the way Docker does;
* :mod:`.words` — the one quote-aware lexer: words, variable expansion, quote removal;
* :mod:`.refs` — image references: repository and tag, pinning, toolchain images;
* :mod:`.shell` — what the final image runs: ENTRYPOINT/CMD and HEALTHCHECK command lines;
* :mod:`.go` — what ``go build`` is asked to do, and whether modules are downloaded first.
"""

from __future__ import annotations

from .go import build_flags, dependency_order, go_build_commands
from .model import KEYWORDS, CopyFrom, DockerfileModel, Instruction, Stage
from .parser import parse, parse_text
from .refs import is_toolchain_image, split_ref, uses_latest_or_unpinned
from .shell import healthcheck_commands, healthcheck_tools

__all__ = [
    "KEYWORDS", "CopyFrom", "DockerfileModel", "Instruction", "Stage",
    "parse", "parse_text",
    "build_flags", "dependency_order", "go_build_commands",
    "is_toolchain_image", "split_ref", "uses_latest_or_unpinned",
    "healthcheck_commands", "healthcheck_tools",
]
