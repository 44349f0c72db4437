"""The build-cache lab: what a rebuild costs, for three Dockerfiles and four edits.

Three *variants* build the same server image:

* ``wrong-order`` -- ``COPY . .`` before ``RUN go mod download``, classic builder (the
  counter-example ``exercises/solutions/Dockerfile.wrong-order``);
* ``reference`` -- the reference order (``go.mod``/``go.sum`` first), classic builder;
* ``cache-mounts`` -- the reference order with BuildKit cache mounts for Go's module and build
  caches (``Dockerfile.cache-mounts``).

Each goes through four *scenarios*, in this order, in one temporary copy of the build context
(the learner's files are never touched):

1. ``cold`` -- ``nocache=True`` after making the cache cold. For the classic builder that is
   all it takes (Go's build cache only lives inside layers). For BuildKit the cache mounts
   outlive ``--no-cache``, so they are emptied first with
   ``docker builder prune -f --filter type=exec.cachemount``: **this empties the cache mounts
   of every build on the engine**, not only the lab's.
2. ``no-change`` -- the same build again.
3. ``code-edit`` -- after appending a unique comment line to the first non-test ``.go`` file.
4. ``go.mod-edit`` -- after appending a unique ``// comment`` line to ``go.mod``.

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

Builds that fail are recorded (status ``"error"``, the engine's message as ``reason``) and the
rest of that variant is skipped; without a BuildKit-capable docker CLI the ``cache-mounts``
variant is skipped with the reason. No number is ever made up. Importing this module does
nothing but define names.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import docker
import pandas as pd
from docker.errors import APIError

from ..build import BuildResult, EventHandler, StepResult, build_image
from ..config import EXERCISE_DIR, MANAGED_LABEL, SOLUTIONS_DIR, image_tag
from ..errors import BuildError, KitError

__all__ = ["SCENARIOS", "VARIANTS", "ScenarioResult", "Variant",
           "count_steps", "edit_go_mod", "edit_go_source", "empty_cache_mounts", "explain",
           "key_lines", "matrix_frame", "notebook_matrix", "ratios", "rerun_steps",
           "run_matrix", "run_variant", "self_check", "step_state", "timelines"]


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

#: Prefix of the kit's own labels (see :func:`helpers.config.kit_labels`).
KIT_LABEL_PREFIX = MANAGED_LABEL.rsplit(".", 1)[0] + "."

#: Status values of a :class:`ScenarioResult`.
STATUSES = ("ok", "skip", "error")

EventFactory = Callable[[Variant, str], "EventHandler | None"]


@dataclass
class ScenarioResult:
    """One measured build of one variant.

    Attributes:
        variant: The variant's key.
        scenario: One of :data:`SCENARIOS`.
        status: ``"ok"`` (measured), ``"skip"`` (not run; see ``reason``) or ``"error"``
            (the build failed; ``reason`` is the engine's message).
        seconds: Wall-clock build time (``BuildResult.duration_s``), None unless ``ok``.
        steps: Counted steps (every step but ``FROM``; see the module docstring).
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


# --------------------------------------------------------------------------------------------
# Counting steps
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# The temporary context and its edits
# --------------------------------------------------------------------------------------------

def prepare_context(context: Path, workdir: Path, dockerfile: Path) -> tuple[Path, Path]:
    """Copy ``context`` into ``workdir`` and put ``dockerfile`` inside the copy.

    The Dockerfile goes in as ``Dockerfile.cachelab``: inside the context (so the classic
    builder does not ship it under a random name that ``COPY . .`` would pick up and that would
    defeat the cache) and matched by the exercise's ``.dockerignore`` (``Dockerfile*``).

    Returns:
        ``(context_copy, dockerfile_copy)``.

    Raises:
        KitError: ``context`` is not a folder or ``dockerfile`` is not a file.
    """
    context, dockerfile = Path(context), Path(dockerfile)
    if not context.is_dir():
        raise KitError(f"The build context {context} is not a folder.",
                       "Pass the folder that holds go.mod and cmd/.")
    if not dockerfile.is_file():
        raise KitError(f"No Dockerfile at {dockerfile}.", "Check the path of the variant.")
    copy = Path(workdir) / "context"
    shutil.copytree(context, copy, symlinks=True)
    target = copy / "Dockerfile.cachelab"
    shutil.copyfile(dockerfile, target)
    return copy, target


def edit_go_source(context: Path) -> Path:
    """Append a unique comment line to the first non-test ``.go`` file under ``context``.

    Files are taken in path order (``cmd/server/main.go`` for the exercise). The comment holds
    a random UUID, so the edited content never matches a cache entry of an earlier run.

    Returns:
        The edited file.

    Raises:
        KitError: There is no non-test Go source to edit.
    """
    sources = sorted(p for p in Path(context).rglob("*.go") if not p.name.endswith("_test.go"))
    if not sources:
        raise KitError(f"No Go source (other than tests) under {context} to edit.",
                       "The cache lab edits a .go file; use the exercise folder as context.")
    with sources[0].open("a") as handle:
        handle.write(f"\n// cache lab edit {uuid.uuid4()}\n")
    return sources[0]


def edit_go_mod(context: Path) -> Path:
    """Append a unique ``// comment`` line to ``go.mod`` (valid go.mod syntax).

    Returns:
        The edited go.mod.

    Raises:
        KitError: ``context`` has no go.mod.
    """
    go_mod = Path(context) / "go.mod"
    if not go_mod.is_file():
        raise KitError(f"No go.mod in {context}.", "Use the exercise folder as context.")
    text = go_mod.read_text()
    separator = "" if text.endswith("\n") or not text else "\n"
    go_mod.write_text(f"{text}{separator}// cache lab edit {uuid.uuid4()}\n")
    return go_mod


# --------------------------------------------------------------------------------------------
# Running the builds
# --------------------------------------------------------------------------------------------

def empty_cache_mounts() -> str:
    """Empty BuildKit's cache mounts (``RUN --mount=type=cache``) on the engine.

    Runs ``docker builder prune -f --filter type=exec.cachemount`` with the BuildKit-capable
    CLI of :func:`helpers.engine.cli.buildkit_client`. **Engine-wide**: every build's cache
    mounts go (not only the lab's); layer cache records and images are kept.

    Returns:
        The CLI's last output line (``Total reclaimed space: ...``).

    Raises:
        KitError: No BuildKit-capable CLI, or the prune failed.
    """
    from ..engine import cli as engine_cli
    from ..engine.cli import UNAVAILABLE_HINT

    cli = engine_cli.buildkit_client()
    if cli is None:
        raise KitError("No BuildKit-capable docker CLI: cannot empty the cache mounts.",
                       UNAVAILABLE_HINT)
    command = ([cli.path, "buildx", "prune"] if cli.buildx else [cli.path, "builder", "prune"])
    command += ["-f", "--filter", "type=exec.cachemount"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "DOCKER_BUILDKIT": "1"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KitError(f"Could not empty the BuildKit cache mounts: {exc}.",
                       "Check that the engine answers (python -m helpers probe).") from None
    if done.returncode != 0:
        raise KitError("Could not empty the BuildKit cache mounts: "
                       f"{(done.stderr or done.stdout).strip()}",
                       "Without an empty cache mount the cold build would not be cold.")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _check_scenarios(scenarios: Sequence[str]) -> tuple[str, ...]:
    scenarios = tuple(scenarios)
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown or not scenarios:
        raise ValueError(f"scenarios must be taken from {SCENARIOS}, got {scenarios!r}")
    positions = [SCENARIOS.index(s) for s in scenarios]
    if positions != sorted(set(positions)):
        raise ValueError(f"scenarios must keep the order of {SCENARIOS} without repeats")
    return scenarios


def _measured(variant: Variant, scenario: str, build: BuildResult) -> ScenarioResult:
    steps, cached, executed = count_steps(build)
    return ScenarioResult(variant.key, scenario, "ok", build.duration_s, steps, cached,
                          executed, rerun_steps(build), build, "", build.backend)


def run_variant(client: docker.DockerClient, variant: Variant, context: str | Path = EXERCISE_DIR,
                on_event_factory: EventFactory | None = None, tag: str | None = None,
                scenarios: Sequence[str] = SCENARIOS) -> list[ScenarioResult]:
    """Build ``variant`` through the scenarios in a temporary copy of ``context``.

    The copy lives in a temporary folder that is removed at the end, on errors and on Ctrl-C
    too; the image tag is removed at the end as well, with the untagged parents only it used
    (layers shared with other images, and BuildKit's cache, stay).

    Args:
        client: A connected client.
        variant: What to build (one of :data:`VARIANTS`, or your own).
        context: The build context to copy (the exercise folder by default).
        on_event_factory: ``factory(variant, scenario)`` returns the ``on_event`` handler of
            that build (a :class:`~helpers.ui.widgets.BuildProgress`, a printer), or None.
        tag: The tag to build as; default ``image_tag("cachelab-<key>")`` (with the
            ``KIT_NAMESPACE`` prefix).
        scenarios: Which of :data:`SCENARIOS` to measure, in their order. When ``"cold"`` is
            not among them, one unmeasured build (with the cache as it is) runs first, so the
            first measured scenario starts from a built image, as it would after ``cold``.

    Returns:
        One :class:`ScenarioResult` per scenario. A failed build gives ``"error"`` with the
        engine's message and skips the rest; without BuildKit, a BuildKit variant gives
        ``"skip"`` results with the reason.

    Raises:
        KitError: ``context`` or the Dockerfile does not exist.
        ValueError: Unknown or unordered ``scenarios``.
    """
    from ..engine import cli as engine_cli
    from ..engine.cli import UNAVAILABLE_HINT

    scenarios = _check_scenarios(scenarios)
    if variant.backend == "buildkit" and engine_cli.buildkit_client() is None:
        reason = f"BuildKit is not available on this machine. {UNAVAILABLE_HINT}"
        return [ScenarioResult(variant.key, s, "skip", reason=reason, backend=variant.backend)
                for s in scenarios]
    tag = tag or image_tag(f"cachelab-{variant.key}")
    results: list[ScenarioResult] = []

    def build(scenario: str | None, nocache: bool = False) -> BuildResult:
        handler = on_event_factory(variant, scenario) if (on_event_factory and scenario) \
            else None
        return build_image(client, work, tag, dockerfile, on_event=handler, nocache=nocache,
                           backend=variant.backend)

    with tempfile.TemporaryDirectory(prefix="kit-cachelab-") as tmp:
        work, dockerfile = prepare_context(Path(context), Path(tmp), variant.dockerfile)
        try:
            failed = ""
            if scenarios[0] != "cold":
                try:
                    build(None)
                except BuildError as exc:
                    failed = f"the first build failed: {exc.message}"
            for scenario in scenarios:
                if failed:
                    results.append(ScenarioResult(variant.key, scenario, "skip",
                                                  reason=f"not run: {failed}",
                                                  backend=variant.backend))
                    continue
                try:
                    if scenario == "cold" and variant.backend == "buildkit":
                        empty_cache_mounts()
                    elif scenario == "code-edit":
                        edit_go_source(work)
                    elif scenario == "go.mod-edit":
                        edit_go_mod(work)
                    results.append(_measured(variant, scenario,
                                             build(scenario, nocache=scenario == "cold")))
                except KitError as exc:  # BuildError included: recorded, never raised
                    failed = f"the {scenario} build failed"
                    results.append(ScenarioResult(variant.key, scenario, "error",
                                                  reason=exc.message, backend=variant.backend))
        finally:
            _remove_tag(client, tag)
    return results


def _remove_tag(client: docker.DockerClient, tag: str) -> None:
    """Remove ``tag`` and the untagged parents only it used (shared cache layers stay)."""
    try:
        client.images.remove(tag)
    except APIError:  # NotFound included: nothing was built
        pass


def run_matrix(client: docker.DockerClient, variants: Iterable[Variant] = VARIANTS,
               context: str | Path = EXERCISE_DIR, on_event_factory: EventFactory | None = None,
               on_error: Callable[[KitError], None] | None = None,
               scenarios: Sequence[str] = SCENARIOS) -> list[ScenarioResult]:
    """Run :func:`run_variant` for each variant, in order, and collect every result.

    A :class:`~helpers.errors.KitError` that stops a whole variant (a missing context) is
    passed to ``on_error`` (raised if there is none) and recorded as ``"error"`` results, so
    the other variants still run.
    """
    results: list[ScenarioResult] = []
    for variant in variants:
        try:
            results += run_variant(client, variant, context, on_event_factory,
                                   scenarios=scenarios)
        except KitError as exc:
            if on_error is None:
                raise
            on_error(exc)
            results += [ScenarioResult(variant.key, s, "error", reason=exc.message,
                                       backend=variant.backend) for s in scenarios]
    return results


def notebook_matrix(client: docker.DockerClient | None, variants: Iterable[Variant] = VARIANTS,
                    context: str | Path = EXERCISE_DIR) -> list[ScenarioResult]:
    """The notebook step: the whole matrix with a live progress widget per build.

    Errors are shown (red box with a hint), never raised: a failing build shows its step and
    hint in its progress widget and is recorded as ``"error"``. Without an engine (``client``
    is None) nothing runs and the result is empty.
    """
    from ..ui.widgets import BuildProgress, show_error

    if client is None:
        print("Skipped the cache lab: no Docker engine (see the first cell).")
        return []
    return run_matrix(client, variants, context,
                      on_event_factory=lambda v, s: BuildProgress(f"{v.key} \u00b7 {s}"),
                      on_error=show_error)


# --------------------------------------------------------------------------------------------
# Tables, ratios, text
# --------------------------------------------------------------------------------------------

def _variant_label(key: str) -> str:
    return next((v.label for v in VARIANTS if v.key == key), key)


def _find(results: Iterable[ScenarioResult], variant: str, scenario: str
          ) -> ScenarioResult | None:
    return next((r for r in results if r.variant == variant and r.scenario == scenario), None)


def _ratio(result: ScenarioResult | None, cold: ScenarioResult | None) -> float | None:
    if result is None or cold is None or not (result.ok and cold.ok) or not cold.seconds:
        return None
    return result.seconds / cold.seconds


def matrix_frame(results: Sequence[ScenarioResult]) -> pd.DataFrame:
    """The measured matrix: one row per variant x scenario, in run order.

    Returns:
        A DataFrame indexed by (``variant`` label, ``scenario``) with columns ``seconds``
        (2 decimals; NaN unless measured), ``cache hits`` (``"k/n"``), ``ratio_to_cold`` (the
        build's seconds over the same variant's cold build, 3 decimals), ``re-ran`` (short
        names of the executed steps) and ``status`` (``ok``, or ``skip``/``error`` with the
        reason).
    """
    rows = []
    for result in results:
        ratio = _ratio(result, _find(results, result.variant, "cold"))
        status = result.status if result.ok else f"{result.status}: {result.reason}"
        rows.append({
            "variant": _variant_label(result.variant), "scenario": result.scenario,
            "seconds": round(result.seconds, 2) if result.ok else math.nan,
            "cache hits": result.hits,
            "ratio_to_cold": round(ratio, 3) if ratio is not None else math.nan,
            "re-ran": ", ".join(step_name(s) for s in result.rerun) if result.ok else "",
            "status": status})
    frame = pd.DataFrame(rows, columns=["variant", "scenario", "seconds", "cache hits",
                                        "ratio_to_cold", "re-ran", "status"])
    return frame.set_index(["variant", "scenario"])


def ratios(results: Sequence[ScenarioResult]) -> dict[str, dict[str, float | None]]:
    """Code-edit rebuild / cold build, and the no-change rebuild's seconds, per variant.

    Returns:
        ``{variant key: {"code_edit_over_cold": float, "no_change_s": float or None}}`` for
        each variant whose cold and code-edit builds were measured (others are left out).
    """
    found: dict[str, dict[str, float | None]] = {}
    for key in dict.fromkeys(r.variant for r in results):
        ratio = _ratio(_find(results, key, "code-edit"), _find(results, key, "cold"))
        if ratio is None:
            continue
        no_change = _find(results, key, "no-change")
        found[key] = {"code_edit_over_cold": ratio,
                      "no_change_s": no_change.seconds if no_change and no_change.ok else None}
    return found


def timelines(results: Sequence[ScenarioResult], scenario: str = "code-edit",
              variants: Iterable[str] | None = None) -> dict[str, BuildResult]:
    """``{variant label: BuildResult}`` of one scenario, for :func:`charts.build_timelines`.

    Variants whose build was not measured are left out.
    """
    keys = list(variants) if variants is not None else [v.key for v in VARIANTS]
    found = {}
    for key in keys:
        result = _find(results, key, scenario)
        if result is not None and result.ok and result.build is not None:
            found[_variant_label(key)] = result.build
    return found


def key_lines(dockerfile: str | Path, width: int = 92) -> str:
    """The build stage's instructions of ``dockerfile``, one per line with its line number.

    Continuation lines are joined, then long instructions are wrapped at ``width``
    characters with an indented continuation.
    """
    import textwrap

    from ..dockerfile import parse

    model = parse(dockerfile)
    stage = model.stages[0]
    first = stage.from_instruction.raw if stage.from_instruction else stage.base
    lines = [f"{stage.line:4}  FROM {first}"]
    for instruction in stage.instructions:
        text = " ".join(f"{instruction.keyword} {instruction.raw}".split())
        lines += textwrap.wrap(text, width, initial_indent=f"{instruction.line:4}  ",
                               subsequent_indent=" " * 10, break_on_hyphens=False)
    return "\n".join(lines)


def _step(build: BuildResult | None, text: str) -> StepResult | None:
    """The first counted step of ``build`` whose instruction contains ``text``."""
    if build is None:
        return None
    return next((s for s in counted_steps(build) if text in s.instruction), None)


def _why(variant: Variant, edit_step: StepResult, cold_step: StepResult) -> str:
    """Why ``go build`` took as long as it did after a code edit."""
    if variant.backend == "buildkit" and edit_step.duration_s < cold_step.duration_s / 2:
        return ("Go reused the packages it had compiled before, kept in the cache mount, and "
                "only recompiled the edited package and linked")
    if variant.backend == "classic":
        return ("Go compiled the standard library again: its build cache lived inside the "
                "layer that the edit invalidated")
    return "Go did not reuse much of its build cache"


def explain(results: Sequence[ScenarioResult]) -> str:
    """What the measured numbers show, as Markdown sentences built from the numbers."""
    if not results:
        return "Nothing was measured (no engine?)."
    lines = []
    for variant in VARIANTS:
        cold = _find(results, variant.key, "cold")
        edit = _find(results, variant.key, "code-edit")
        if edit is None and cold is None:
            continue
        if edit is None or cold is None or not (edit.ok and cold.ok):
            reasons = [r.reason for r in (cold, edit) if r is not None and r.reason]
            lines.append(f"- **{variant.label}**: not measured"
                         + (f" ({reasons[0]})." if reasons else "."))
            continue
        sentence = (f"- **{variant.label}**: after a code edit {edit.executed_steps} of "
                    f"{edit.steps} steps ran, in {edit.seconds:.1f} s "
                    f"({edit.seconds / cold.seconds:.0%} of the {cold.seconds:.1f} s cold "
                    f"build); `go mod download` was "
                    f"**{step_state(edit.build, 'go mod download')}**.")
        edit_step, cold_step = _step(edit.build, "go build"), _step(cold.build, "go build")
        if edit_step is not None and cold_step is not None and not edit_step.cached:
            sentence += (f" `go build` took {edit_step.duration_s:.1f} s (cold: "
                         f"{cold_step.duration_s:.1f} s): {_why(variant, edit_step, cold_step)}.")
        lines.append(sentence)
    for variant in VARIANTS:
        go_mod, cold = _find(results, variant.key, "go.mod-edit"), _find(results, variant.key,
                                                                          "cold")
        if go_mod is not None and go_mod.ok and cold is not None and cold.ok:
            lines.append(f"- **{variant.label}**, go.mod edit: {go_mod.executed_steps} of "
                         f"{go_mod.steps} steps ran, in {go_mod.seconds:.1f} s "
                         f"({go_mod.seconds / cold.seconds:.0%} of cold); `go mod download` "
                         f"was **{step_state(go_mod.build, 'go mod download')}**.")
    no_change = [r for r in results if r.scenario == "no-change" and r.ok]
    if no_change:
        slowest = max(no_change, key=lambda r: r.seconds)
        every = all(r.executed_steps == 0 for r in no_change)
        lines.append(f"- With no change, {'every' if every else 'not every'} rebuild took all "
                     f"its steps from the cache; the slowest took {slowest.seconds:.2f} s "
                     f"({_variant_label(slowest.variant)}).")
    return "\n".join(lines)


#: Targets of the course brief for BuildKit with cache mounts.
TARGET_CODE_EDIT_RATIO = 0.05
TARGET_NO_CHANGE_S = 1.0


def self_check(results: Sequence[ScenarioResult]) -> pd.DataFrame:
    """Measured facts as rows: columns ``claim``, ``measured``, ``status``, ``note``.

    ``status`` is ``pass`` or ``fail`` from the measurement, or ``skip`` with the reason in
    ``note`` when the build behind the claim was not measured (no BuildKit, a failed build).
    """
    rows = []

    def row(claim: str, result: ScenarioResult | None,
            measure: Callable[[ScenarioResult], tuple]) -> None:
        if result is None:
            rows.append({"claim": claim, "measured": "-", "status": "skip",
                         "note": "not measured: no Docker engine, or the lab did not run"})
        elif not result.ok:
            rows.append({"claim": claim, "measured": "-", "status": "skip",
                         "note": f"{result.status}: {result.reason}"})
        else:
            measured, passed = measure(result)
            rows.append({"claim": claim, "measured": measured,
                         "status": "pass" if passed else "fail", "note": ""})

    def state(text: str, expected: str):
        return lambda r: (step_state(r.build, text), step_state(r.build, text) == expected)

    edit = {v.key: _find(results, v.key, "code-edit") for v in VARIANTS}
    row("(b) code-edit rebuild reuses `go mod download`", edit["reference"],
        state("go mod download", "cached"))
    row("(b) code-edit rebuild re-runs `go build`", edit["reference"],
        state("go build", "executed"))
    row("(a) re-runs `go mod download` after a code edit", edit["wrong-order"],
        state("go mod download", "executed"))
    row("(c) code-edit rebuild reuses `go mod download`, re-runs `go build`",
        edit["cache-mounts"],
        lambda r: (f"download {step_state(r.build, 'go mod download')}, "
                   f"build {step_state(r.build, 'go build')}",
                   step_state(r.build, "go mod download") == "cached"
                   and step_state(r.build, "go build") == "executed"))
    cold_c = _find(results, "cache-mounts", "cold")
    ratio_source = edit["cache-mounts"] if cold_c is not None and cold_c.ok else cold_c
    row(f"(c) code-edit / cold \u2264 {TARGET_CODE_EDIT_RATIO}", ratio_source,
        lambda r: ((f"{r.seconds:.2f} s / {cold_c.seconds:.2f} s = "
                    f"{r.seconds / cold_c.seconds:.3f}"),
                   r.seconds / cold_c.seconds <= TARGET_CODE_EDIT_RATIO))
    row(f"(c) no-change rebuild \u2264 {TARGET_NO_CHANGE_S:.0f} s",
        _find(results, "cache-mounts", "no-change"),
        lambda r: (f"{r.seconds:.2f} s", r.seconds <= TARGET_NO_CHANGE_S))
    for variant in VARIANTS:
        row(f"{variant.label[:3]} no-change rebuild reuses every step",
            _find(results, variant.key, "no-change"),
            lambda r: (r.hits, r.executed_steps == 0))
    return pd.DataFrame(rows, columns=["claim", "measured", "status", "note"])
