"""What a learner achieved once every required check passes, and what to try next."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import MB

#: Where to go after a pass: each a notebook or variant that builds on the exercise.
NEXT_STEPS = (
    "Notebook 03: see which layers your image is made of, file by file.",
    "Notebook 04: cache mounts make a code-edit rebuild several times faster.",
    "Notebook 05: what CGO_ENABLED=0, -trimpath and -ldflags=\"-s -w\" each change.",
    "Try `FROM gcr.io/distroless/static-debian12:nonroot` instead of scratch: "
    "exercises/solutions/Dockerfile.distroless compares the two.",
    "Advice checks still failing (non-root, healthcheck...) are worth fixing for production.",
)


@dataclass
class Achievement:
    """Sizes before and after, and the factor between them.

    Attributes:
        before_bytes: The single-stage original's size (uncompressed layers).
        after_bytes: The learner's image.
        before_label: Where the before figure comes from ("measured now", "recorded run").
    """

    before_bytes: int
    after_bytes: int
    before_label: str = "measured now"

    @property
    def factor(self) -> float:
        return self.before_bytes / self.after_bytes if self.after_bytes else float("inf")

    def headline(self) -> str:
        return (f"Every required check passes: your image is {self.after_bytes / MB:.1f} MB, "
                f"down from {self.before_bytes / MB:.0f} MB for the single-stage original "
                f"({self.before_label}): {self.factor:.0f} times smaller.")

    def text(self) -> str:
        return "\n".join([self.headline(), "What to try next:",
                          *(f"- {step}" for step in NEXT_STEPS)])
