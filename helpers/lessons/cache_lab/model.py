"""The lab's vocabulary: the three Dockerfile variants, the four scenarios, one measured build."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...build import BuildResult
from ...config import SOLUTIONS_DIR


@dataclass(frozen=True)
class Variant:
    """One way of writing (and building) the Dockerfile.

    Attributes:
        key: Short identifier (``"reference"``), used in tags and JSON.
        label: What a learner reads in tables and charts.
        dockerfile: The Dockerfile (anywhere; it is copied into the temporary context).
        backend: ``"classic"`` or ``"buildkit"`` (see :func:`helpers.build.build_image`).
    """

    key: str
    label: str
    dockerfile: Path
    backend: str


#: The three variants, in the order the course discusses them.
VARIANTS: list[Variant] = [
    Variant("wrong-order", "(a) COPY . . first, classic builder",
            SOLUTIONS_DIR / "Dockerfile.wrong-order", "classic"),
    Variant("reference", "(b) reference order, classic builder",
            SOLUTIONS_DIR / "Dockerfile.multistage", "classic"),
    Variant("cache-mounts", "(c) BuildKit + cache mounts",
            SOLUTIONS_DIR / "Dockerfile.cache-mounts", "buildkit"),
]

#: The four builds of each variant, in the order they run.
SCENARIOS = ("cold", "no-change", "code-edit", "go.mod-edit")


@dataclass
class ScenarioResult:
    """One measured build of one variant.

    Attributes:
        variant: The variant's key.
        scenario: One of :data:`SCENARIOS`.
        status: ``"ok"`` (measured), ``"skip"`` (not run; see ``reason``) or ``"error"``
            (the build failed; ``reason`` is the engine's message).
        seconds: Wall-clock build time (``BuildResult.duration_s``), None unless ``ok``.
        steps: Counted steps (every step but ``FROM``; the rule is in :mod:`.steps`).
        cached_steps: Counted steps the builder took from its cache.
        executed_steps: Counted steps that ran.
        rerun: The instructions of the executed steps, in build order.
        build: The BuildResult (per-step times for the timeline chart), None unless ``ok``.
        reason: Why the scenario was skipped or failed ("" when ``ok``).
        backend: The builder used (``"classic"`` or ``"buildkit"``).
    """

    variant: str
    scenario: str
    status: str = "ok"
    seconds: float | None = None
    steps: int = 0
    cached_steps: int = 0
    executed_steps: int = 0
    rerun: list[str] = field(default_factory=list)
    build: BuildResult | None = field(default=None, repr=False)
    reason: str = ""
    backend: str = ""

    @property
    def ok(self) -> bool:
        """Whether the build ran and was measured."""
        return self.status == "ok"

    @property
    def hits(self) -> str:
        """Cache hits as ``"k/n"`` (``"-"`` unless ``ok``)."""
        return f"{self.cached_steps}/{self.steps}" if self.ok else "-"

    def to_dict(self) -> dict:
        """A JSON-ready dict (without the BuildResult and its log)."""
        return {"variant": self.variant, "scenario": self.scenario, "status": self.status,
                "seconds": None if self.seconds is None else round(self.seconds, 3),
                "steps": self.steps, "cached_steps": self.cached_steps,
                "executed_steps": self.executed_steps, "rerun": list(self.rerun),
                "reason": self.reason, "backend": self.backend}
