"""Counting the steps of a build: which ones count, which came from the cache, which ran.

Counting rule for steps (``steps``, ``cached_steps``, ``executed_steps``): every step the
builder reports counts, except ``FROM`` lines, which name a base image or an earlier stage and
are neither reused nor run (the classic builder prints no cache line for them; BuildKit reports
them as done in 0 s), and the ``LABEL com.multistage-kit...`` steps the classic builder appends
for the kit's own labels (they are not in the Dockerfile). A counted step is *cached* when the
builder said so (``---> Using cache`` or ``CACHED``) and *executed* otherwise. The classic
builder lists metadata-only instructions (``ARG``, ``USER``, ``EXPOSE``, ``HEALTHCHECK``,
``ENTRYPOINT``) as steps and caches them like any other; BuildKit does not list them at all.
So ``n`` differs between the backends: compare the cache hits within a variant, and the
seconds across variants.
"""

from __future__ import annotations

import re

from ...build import BuildResult, StepResult
from ...config import MANAGED_LABEL

#: Prefix of the kit's own labels (see :func:`helpers.config.kit_labels`).
KIT_LABEL_PREFIX = MANAGED_LABEL.rsplit(".", 1)[0] + "."


def is_base_step(step: StepResult) -> bool:
    """Whether ``step`` is a ``FROM`` line (not counted as cached nor executed)."""
    return step.instruction.lstrip().upper().startswith("FROM ")


def is_kit_label_step(step: StepResult) -> bool:
    """Whether ``step`` is a ``LABEL`` the classic builder appended for the kit's labels.

    The build API's ``labels`` become extra ``LABEL com.multistage-kit...`` steps at the end
    of a classic build; they are not in the Dockerfile, so they are not counted.
    """
    return step.instruction.lstrip().startswith(f"LABEL {KIT_LABEL_PREFIX}")


def counted_steps(build: BuildResult) -> list[StepResult]:
    """The steps that count: every step of ``build`` but ``FROM`` lines and the kit's labels."""
    return [step for step in build.steps
            if not is_base_step(step) and not is_kit_label_step(step)]


def count_steps(build: BuildResult) -> tuple[int, int, int]:
    """``(steps, cached, executed)`` under the counting rule of the module docstring."""
    steps = counted_steps(build)
    cached = sum(1 for step in steps if step.cached)
    return len(steps), cached, len(steps) - cached


def rerun_steps(build: BuildResult) -> list[str]:
    """The instructions of the counted steps that ran (not from the cache), in build order."""
    return [step.instruction for step in counted_steps(build) if not step.cached]


def step_state(build: BuildResult | None, text: str) -> str:
    """Whether the step(s) whose instruction contains ``text`` ran.

    Args:
        build: A build, or None.
        text: A fragment of the instruction, e.g. ``"go mod download"``.

    Returns:
        ``"executed"`` if any matching counted step ran, ``"cached"`` if all came from the
        cache, ``"absent"`` if no step matches (or ``build`` is None).
    """
    if build is None:
        return "absent"
    matching = [step for step in counted_steps(build) if text in step.instruction]
    if not matching:
        return "absent"
    return "executed" if any(not step.cached for step in matching) else "cached"


_MOUNT_FLAG_RE = re.compile(r"\s--mount=\S+")
_ENV_PREFIX_RE = re.compile(r"^(RUN\s+)(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)+")


def step_name(instruction: str, limit: int = 40) -> str:
    """A short name for a step: ``RUN go build``, ``COPY . .``, ``RUN go mod download``.

    ``--mount`` flags and leading ``VAR=value`` assignments of a RUN are dropped; a RUN keeps
    its command words up to the first option (``go build -trimpath`` -> ``go build``).
    """
    text = " ".join(_MOUNT_FLAG_RE.sub("", " " + instruction).split())
    text = _ENV_PREFIX_RE.sub(r"\1", text)
    if text.upper().startswith("RUN "):
        words = []
        for word in text.split()[1:]:
            if word.startswith("-") or len(words) == 3:
                break
            words.append(word)
        text = "RUN " + " ".join(words)
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "\u2026"
