"""Running the lab's builds: each variant through its scenarios, in a temporary context.

Builds that fail are recorded (status ``"error"``, the engine's message as ``reason``) and the
rest of that variant is skipped; without a BuildKit-capable docker CLI the ``cache-mounts``
variant is skipped with the reason. No number is ever made up. What a build shows while it
runs is the caller's choice (an ``on_event`` handler per build): this layer draws nothing.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Sequence

import docker
from docker.errors import APIError

from ...build import BuildResult, EventHandler, build_image
from ...config import EXERCISE_DIR, image_tag
from ...engine import cli as engine_cli
from ...engine.cli import UNAVAILABLE_HINT
from ...errors import BuildError, KitError
from .context import edit_go_mod, edit_go_source, prepare_context
from .model import SCENARIOS, VARIANTS, ScenarioResult, Variant
from .steps import count_steps, rerun_steps

#: ``factory(variant, scenario)`` -> the ``on_event`` handler of that build, or None.
EventFactory = Callable[[Variant, str], "EventHandler | None"]
#: ``progress(title)`` -> the ``on_event`` handler that shows one build (a progress widget).
ProgressFactory = Callable[[str], "EventHandler | None"]
#: One build of the lab: ``build(scenario or None, nocache)`` (None: an unmeasured warm-up).
Builder = Callable[..., BuildResult]


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
    scenarios = _check_scenarios(scenarios)
    if variant.backend == "buildkit" and engine_cli.buildkit_client() is None:
        reason = f"BuildKit is not available on this machine. {UNAVAILABLE_HINT}"
        return [ScenarioResult(variant.key, s, "skip", reason=reason, backend=variant.backend)
                for s in scenarios]
    tag = tag or image_tag(f"cachelab-{variant.key}")
    with tempfile.TemporaryDirectory(prefix="kit-cachelab-") as tmp:
        work, dockerfile = prepare_context(Path(context), Path(tmp), variant.dockerfile)
        build = _builder(client, variant, work, dockerfile, tag, on_event_factory)
        try:
            return _run_scenarios(variant, scenarios, work, build)
        finally:
            _remove_tag(client, tag)


def _builder(client: docker.DockerClient, variant: Variant, work: Path, dockerfile: Path,
             tag: str, on_event_factory: EventFactory | None) -> Builder:
    """The one way the lab builds: same context copy, tag and backend for every scenario."""
    def build(scenario: str | None, nocache: bool = False) -> BuildResult:
        handler = on_event_factory(variant, scenario) if (on_event_factory and scenario) \
            else None
        return build_image(client, work, tag, dockerfile, on_event=handler, nocache=nocache,
                           backend=variant.backend)
    return build


def _run_scenarios(variant: Variant, scenarios: tuple[str, ...], work: Path,
                   build: Builder) -> list[ScenarioResult]:
    """Each scenario in order: prepare, build, measure; after a failure the rest is skipped."""
    results: list[ScenarioResult] = []
    failed = ""
    if scenarios[0] != "cold":
        try:
            build(None)
        except BuildError as exc:
            failed = f"the first build failed: {exc.message}"
    for scenario in scenarios:
        if failed:
            results.append(ScenarioResult(variant.key, scenario, "skip",
                                          reason=f"not run: {failed}", backend=variant.backend))
            continue
        try:
            _prepare_scenario(variant, scenario, work)
            results.append(_measured(variant, scenario,
                                     build(scenario, nocache=scenario == "cold")))
        except KitError as exc:  # BuildError included: recorded, never raised
            failed = f"the {scenario} build failed"
            results.append(ScenarioResult(variant.key, scenario, "error",
                                          reason=exc.message, backend=variant.backend))
    return results


def _prepare_scenario(variant: Variant, scenario: str, work: Path) -> None:
    """What comes before a scenario's build: empty the cache mounts (cold), or edit the copy."""
    if scenario == "cold" and variant.backend == "buildkit":
        empty_cache_mounts()
    elif scenario == "code-edit":
        edit_go_source(work)
    elif scenario == "go.mod-edit":
        edit_go_mod(work)


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
                    context: str | Path = EXERCISE_DIR, *,
                    progress: ProgressFactory | None = None,
                    on_error: Callable[[KitError], None] = print) -> list[ScenarioResult]:
    """The notebook step: the whole matrix, one ``progress(title)`` handler per build.

    The caller brings the display (:meth:`helpers.course.Course.cache_matrix` passes the
    BuildProgress widget and the red error box), so the lesson never imports the UI. Errors
    go to ``on_error``, never raised: a failing build shows its step and hint in its progress
    handler and is recorded as ``"error"``. Without an engine (``client`` is None) nothing
    runs and the result is empty.
    """
    if client is None:
        print("Skipped the cache lab: no Docker engine (see the first cell).")
        return []
    factory = None if progress is None else (lambda v, s: progress(f"{v.key} \u00b7 {s}"))
    return run_matrix(client, variants, context, on_event_factory=factory, on_error=on_error)
