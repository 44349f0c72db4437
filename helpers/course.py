"""What a course notebook talks to: a live engine, or, when none answers, images built here
without one and recorded real runs.

``kit = Course.start()`` connects to the engine (2 s at most). When no engine answers
(Binder) and a Go toolchain is here, the learner's Dockerfiles are built here without an
engine (:mod:`helpers.build.engineless`) and measured like an engine's images; an image on
the full golang base (the original) comes from the recording made by
``python -m helpers record`` when that recording is of the same file. Banners say which is
which. The notebook then calls the same methods either way — ``build``, ``summary``,
``history``, ``breakdown``, ``health``, ``check_my_work`` — and every result carries
``recorded=True`` when it was replayed (``cache_matrix``, notebook 04's cache lab, runs live
only: the recording holds no cache lab). A learner's mistake (a Dockerfile that does not build,
a container that exits, an engine that stops answering mid-session) ends in a clear message
and a hint in the cell's output, and the method returns ``None`` so the next cells still run.
Stop (Ctrl-C) is different: once the kit has cleaned up, the method raises
:class:`~helpers.errors.Interrupted`, shown as one short message, so a "Run All" stops there.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence, TypeVar

import docker
import pandas as pd

from . import recorded
from .build import BuildEvent, BuildResult, build_image
from .config import EXERCISE_DIR, ORIGINAL_TAG, image_tag
from .engine import connect, engine_errors
from .engine.containers import HealthReport, check_health
from .errors import BuildError, EngineUnavailable, Interrupted, KitError, RunError
from .image import (
    ImageBreakdown,
    ImageSummary,
    file_breakdown,
    history_frame,
    summarize,
)
from .learner.hints import HintLadder
from .lessons import cache_lab
from .ui.widgets import (
    BuildProgress,
    CheckMyWork,
    install_error_display,
    show_error,
    show_notice,
)

T = TypeVar("T")
D = TypeVar("D")

ENGINELESS_BANNER = (
    "No Docker engine answers here, so your Dockerfiles are built here with the local Go "
    "toolchain, without an engine: the final image is written file by file and measured "
    "like an engine's, and its entrypoint runs as a local process. Results built here say "
    "\"built here\"; images on the full golang base (the original) come from the recorded "
    "run below, and what needs an engine says so.")


class Course:
    """One notebook's connection to the kit: live (``client``) or replaying ``recording``.

    Args:
        client: A connected docker client, or None in engine-less mode.
        recording: The recorded runs (engine-less mode), or None.
        reason: Why there is no engine (shown in messages), when there is none.
    """

    def __init__(self, client: docker.DockerClient | None,
                 recording: recorded.Recording | None = None, reason: str = "",
                 engineless: bool = False) -> None:
        self.client = client
        self.recording = recording
        self.reason = reason
        self.engineless = engineless and client is None  # build here, with the local Go
        self._keys: dict[str, str] = {}  # tag -> recording key, for replayed images
        self._builds: dict = {}          # tag -> EnginelessBuild, for images built here
        self._last_reports: dict[str, object] = {}  # Dockerfile path -> its last CheckReport
        self.hints = HintLadder()  # this learner's hints (out/learners/<namespace>/)

    @classmethod
    def start(cls) -> "Course":
        """Connect, or fall back to the recording with a banner (never raises)."""
        install_error_display()
        try:
            return cls(connect())
        except EngineUnavailable as exc:
            from .build.engineless.toolchain import go_toolchain

            recording = recorded.load()
            here = go_toolchain() is not None
            course = cls(None, recording, reason=exc.message, engineless=here)
            if here:
                show_notice(ENGINELESS_BANNER, title="Built here, without an engine")
            if recording is None and not here:
                show_error(KitError(f"{exc.message} There is no recorded run to show instead.",
                                    exc.hint))
            elif recording is not None:
                show_notice(recording.banner(), title="Recorded run")
                if not recording.is_current():
                    show_notice("The exercise files changed after this recording was made: "
                                "re-record with `python -m helpers record`.", title="Note")
            return course

    @property
    def live(self) -> bool:
        """True when a real engine answers."""
        return self.client is not None

    @property
    def source(self) -> str:
        """Where results come from, for self-check tables: measured now, or a recorded run."""
        if self.live:
            return "measured now"
        if self._builds:
            return "built here without an engine"
        if self.recording is not None:
            return f"recorded run ({self.recording.meta['date']})"
        return "not measured (no engine, no recording)"

    # -- the one guard and the one dispatch ---------------------------------------------------
    def _guarded(self, what: str, call: Callable[[], T], *, default: D = None,
                 on_error: Callable[[KitError], None] | None = None) -> T | D:
        """``call()`` under the notebook's error contract, the same for every method.

        Engine loss becomes a KitError and Ctrl-C becomes :class:`Interrupted`
        (:func:`engine_calls`, named by ``what``). Interrupted is raised, so a "Run All" stops
        there; any other KitError is handed to ``on_error`` (default: the red box with its
        hint) and ``default`` is returned, so the next cells still run.
        """
        try:
            with engine_calls(what):
                return call()
        except Interrupted:
            raise
        except KitError as exc:
            (on_error or show_error)(exc)
            return default

    def _from_image(self, what: str, tag: str, live: Callable[[docker.DockerClient], T],
                    replay: Callable[[str], T], *, here: Callable[[object], T] | None = None,
                    on_error: Callable[[KitError], None] | None = None) -> T | None:
        """``live(client)`` when an engine answers; else ``here(build)`` of the image built
        as ``tag`` without an engine, or ``replay(key)`` of the recorded image built as
        ``tag`` in this session (None, after saying so, when there is none)."""
        if self.live:
            return self._guarded(what, lambda: live(self.client), on_error=on_error)
        if tag in self._builds and here is not None:
            return self._guarded(what, lambda: here(self._builds[tag]), on_error=on_error)
        key = self._key(tag)
        if key is None:
            return None
        return self._guarded(what, lambda: replay(key), on_error=on_error)

    # -- building ---------------------------------------------------------------------------
    def build(self, dockerfile: str | Path, tag: str, context: str | Path = EXERCISE_DIR,
              **kwargs) -> BuildResult | None:
        """Build with the live progress widget (or replay the recorded build)."""
        if self.live:
            progress = BuildProgress(tag)

            def show_unless_shown(exc: KitError) -> None:
                if exc is not progress.error:  # the widget shows its own errors and hint
                    show_error(exc)

            return self._guarded("build", lambda: build_image(
                self.client, context, tag, dockerfile, on_event=progress, **kwargs),
                on_error=show_unless_shown)
        if self.engineless and not self._prefer_recording(dockerfile, context):
            built = self._build_here(dockerfile, tag, context)
            if built is not None:
                return built
        key = self._replayable(dockerfile, context)
        if key is None:
            return None
        self._keys[tag] = key
        return self.recording.replay_build(key, tag, BuildProgress(f"{tag} (recorded run)"))

    def _prefer_recording(self, dockerfile: str | Path, context: str | Path) -> bool:
        """Whether the recorded run of this very file says more than a build here: an image
        on the full golang base can only be described here (its base is a recorded
        manifest), while the recording measured it whole on a real engine."""
        from .dockerfile import parse

        key = recorded.key_for(dockerfile, context) if self.recording is not None else None
        if key is None or recorded.file_digest(recorded.TARGETS[key][0]) != \
                self.recording.image(key)["dockerfile_sha256"]:
            return False
        try:
            model = parse(_dockerfile_path(dockerfile, context))
        except KitError:
            return False
        return model.root_image(model.final) != "scratch"

    def _build_here(self, dockerfile: str | Path, tag: str, context: str | Path):
        """Build without an engine (progress widget); None after saying why it could not."""
        from .build.engineless.build import build_without_engine, line_events
        from .build.engineless.entries import NeedsEngine
        from .grading.engineless import archive_path, build_result_of

        progress = BuildProgress(f"{tag} (built here, no engine)")
        try:
            built = build_without_engine(context, _dockerfile_path(dockerfile, context), tag,
                                         output=archive_path(tag),
                                         on_line=line_events(progress))
        except NeedsEngine as exc:
            show_notice(f"{exc.message}. {exc.hint}", title="Not built here")
            return None
        except BuildError as exc:
            progress(BuildEvent("error", 0.0, error=exc))
            return None
        except Interrupted:
            raise
        except KitError as exc:
            show_error(exc)
            return None
        self._builds[tag] = built
        self._keys.pop(tag, None)
        result = build_result_of(built)
        progress(BuildEvent("done", built.seconds, total=len(result.steps), result=result))
        return result

    def _replayable(self, dockerfile: str | Path, context: str | Path) -> str | None:
        """The recording key for ``dockerfile``, or None after saying why it cannot be shown."""
        if self.recording is None:
            print(f"Skipped: {self.reason or 'no Docker engine'} and no recorded run.")
            return None
        key = recorded.key_for(dockerfile, context)
        if key is None:
            print(f"Skipped: no Docker engine, and no recorded run of {dockerfile}.")
            return None
        path = recorded.TARGETS[key][0]
        if recorded.file_digest(path) != self.recording.image(key)["dockerfile_sha256"]:
            show_notice(f"{path.name} differs from the file that was recorded: what follows is "
                        f"the recorded run of the shipped {path.name}, not of your edits.",
                        title="Recorded run")
        return key

    def _key(self, tag: str) -> str | None:
        key = self._keys.get(tag)
        if key is None:
            print(f"Skipped: {tag} was not built in this session (no Docker engine).")
        return key

    def cache_matrix(self, variants: Sequence[cache_lab.Variant] | None = None,
                     context: str | Path = EXERCISE_DIR) -> list[cache_lab.ScenarioResult]:
        """Notebook 04's builds: each cache-lab variant through its four scenarios, a progress
        widget per build (see :mod:`helpers.lessons.cache_lab`).

        Live only, as the recording holds no cache lab: without an engine it says so and
        returns ``[]``, and so does a lost engine after its message, so the tables still render.
        """
        chosen = cache_lab.VARIANTS if variants is None else variants
        return self._guarded("cache lab", lambda: cache_lab.notebook_matrix(
            self.client, chosen, context, progress=BuildProgress, on_error=show_error),
            default=[])

    # -- measuring --------------------------------------------------------------------------
    def summary(self, tag: str) -> ImageSummary | None:
        """Size and layer count of ``tag``."""
        from .grading.engineless import summary_of_build

        return self._from_image("measurement", tag, lambda client: summarize(client, tag),
                                lambda key: self.recording.summary(key, tag),
                                here=summary_of_build)

    def history(self, tag: str) -> pd.DataFrame | None:
        """The image history, one row per instruction."""
        from .grading.engineless import history_of_build

        return self._from_image("measurement", tag, lambda client: history_frame(client, tag),
                                lambda key: self.recording.history(key),
                                here=history_of_build)

    def breakdown(self, tag: str) -> ImageBreakdown | None:
        """Every file of every layer (streamed from docker save)."""
        from .grading.engineless import breakdown_of_build

        return self._from_image("measurement", tag, lambda client: file_breakdown(client, tag),
                                lambda key: self.recording.breakdown(key, tag),
                                here=breakdown_of_build)

    def image_exists(self, tag: str) -> bool:
        """Whether ``tag`` is on the engine (or was replayed in this session)."""
        if self.live:
            return bool(self._guarded("measurement",
                                      lambda: self.client.images.list(name=tag)))
        return tag in self._keys or tag in self._builds

    # -- running ----------------------------------------------------------------------------
    def health(self, tag: str, hardened: bool = False) -> HealthReport | None:
        """Run ``tag``, call /health, clean up; None (error, hint and logs shown) on failure.

        ``hardened=True`` runs it the way a locked-down platform would (read-only root
        filesystem, no capabilities, no privilege gain, user nobody: see
        :data:`helpers.engine.containers.HARDENED_RUN`). The recording has plain runs only.
        """
        from .grading.engineless import health_of_build

        if hardened and not self.live:
            print("Skipped: the hardened run needs a Docker engine (read-only root, no "
                  "capabilities: a local process cannot be locked down the same way).")
            return None
        report = self._from_image(
            "run", tag, lambda client: check_health(client, tag, hardened=hardened),
            lambda key: self.recording.health(key), here=health_of_build,
            on_error=_show_with_logs)
        if report is None:
            return None
        label = (" (recorded run)" if report.recorded else " (hardened)" if hardened
                 else " (local process, no engine)" if tag in self._builds else "")
        print(f"GET /health -> {report.status_code} in {report.elapsed_s:.1f} s{label}: "
              f"{report.body}")
        return report

    # -- checking ---------------------------------------------------------------------------
    def check_my_work(self, dockerfile: str | Path, context: str | Path = EXERCISE_DIR):
        """Build, run and check ``dockerfile``; show the pass/fail table; return the report.

        Without an engine the image is built here with the local Go toolchain and measured
        (each result marked "without an engine"); with no Go toolchain either, the static
        checks (Dockerfile, .dockerignore, hadolint) run and the image checks say ``skip``.
        """
        report = self._guarded("check", self._checker(dockerfile, context))
        if report is not None:
            self._present(report)
        return report

    def check_button(self, dockerfile: str | Path,
                     context: str | Path = EXERCISE_DIR) -> CheckMyWork:
        """A "Check my work" button that runs :meth:`check_my_work`'s checks on each click."""
        run = self._checker(dockerfile, context)
        if self.live:
            def guarded():
                with engine_calls("check"):
                    return run()
            return CheckMyWork(guarded, present=self._present)
        return CheckMyWork(run, present=self._present)

    def _present(self, report, **display_options) -> None:
        """Show a check report the coaching way: the hint at this learner's rung, their
        failing lines marked, solution buttons, and the achievement after a pass; then
        leave its record for the instructor."""
        from .ui.coaching import show_coached_report

        self._last_reports[report.dockerfile] = report
        show_coached_report(report, self.hints, self._achievement, **display_options)
        self._leave_record(report, **display_options)

    def _leave_record(self, report, **display_options) -> None:
        """The check's record for the instructor (``KIT_RESULTS_DIR``), after every check
        (cell or button); a one-line note, never an error, when it cannot be written."""
        from .classroom.records import leave_record

        warning = leave_record(report, self.client)
        if warning:
            show_notice(warning, title="Not recorded", **display_options)

    def _achievement(self, report):
        """Sizes before (the single-stage original) and after, once ``report`` passes.

        The original as measured now when this engine has it; else (a learner who skipped
        notebook 01, or no engine) as the recorded run measured it, labelled so."""
        from .learner.achievement import Achievement

        original = image_tag(ORIGINAL_TAG)
        before, label = None, ""
        if self.live and self.image_exists(original):
            summary = self.summary(original)
            before, label = (summary.size_bytes if summary else None), "measured now"
        recording = self.recording if self.recording is not None else recorded.load()
        if before is None and recording is not None:
            try:
                before = recording.summary("original", original).size_bytes
                label = f"recorded run, {recording.meta['date']}"
            except (KeyError, KitError):
                before = None
        if not before or not report.size_bytes:
            return None
        return Achievement(before, report.size_bytes, label)

    # -- the learner's file ---------------------------------------------------------------
    def show_dockerfile(self, dockerfile: str | Path = "Dockerfile.multistage",
                        context: str | Path = EXERCISE_DIR) -> None:
        """Show ``dockerfile`` highlighted with line numbers; the lines its last check
        failed on (in this session) are marked."""
        from .ui.coaching import failure_marks
        from .ui.dockerfile_view import show_dockerfile

        path = _dockerfile_path(dockerfile, context)
        if not path.is_file():
            show_error(KitError(f"No Dockerfile at {path}.",
                                "Restore the starter with kit.restore_starter()."))
            return
        last = self._last_reports.get(str(path))
        show_dockerfile(path, failure_marks(last) if last is not None else None)

    def restore_starter(self) -> None:
        """Put the shipped starter back; the learner's file is kept as a timestamped backup."""
        from .learner.restore import restore_starter

        restored = self._guarded("restore", restore_starter)
        if restored is not None:
            show_notice(restored.message(), title="Starter restored" if restored.changed
                        else "Nothing to restore")

    def show_solution(self, check_id: str,
                      dockerfile: str | Path = "Dockerfile.multistage",
                      context: str | Path = EXERCISE_DIR) -> None:
        """The reference solution's lines for one check (after trying: it is remembered)."""
        from .grading.report import CheckResult

        path = str(_dockerfile_path(dockerfile, context))
        last = self._last_reports.get(path)
        result = next((r for r in last.results if r.id == check_id), None) if last else None
        hint = self.hints.reveal(result or CheckResult(check_id, "fail", ""), path)
        print(hint.revealed_text())

    def _checker(self, dockerfile: str | Path, context: str | Path) -> Callable:
        """The call that checks ``dockerfile``: on the engine, built here, or static only."""
        from .grading.checks import run_checks, run_engineless_checks, run_static_checks

        label = f"check {Path(dockerfile).name}"
        if self.live:
            return lambda: run_checks(self.client, context, dockerfile,
                                      on_event=BuildProgress(label))
        if self.engineless:
            from .build.engineless.build import line_events

            return lambda: run_engineless_checks(
                context, dockerfile,
                on_line=line_events(BuildProgress(f"{label} (built here, no engine)")))
        return lambda: run_static_checks(context, dockerfile,
                                         reason="no Docker engine answers here "
                                                "(engine-less mode)")


def _dockerfile_path(dockerfile: str | Path, context: str | Path) -> Path:
    """A Dockerfile argument as notebooks give it: absolute, or relative to the context."""
    path = Path(dockerfile)
    return path if path.is_absolute() else Path(context) / path


def _show_with_logs(exc: KitError) -> None:
    """The red box, then the end of the container's logs when the container ran and stopped."""
    show_error(exc)
    if isinstance(exc, RunError) and exc.logs:
        print("container logs:\n" + exc.logs[-2000:])


@contextmanager
def engine_calls(what: str) -> Iterator[None]:
    """Around a live call: engine loss becomes EngineUnavailable, Ctrl-C becomes Interrupted.

    By the time KeyboardInterrupt reaches here, the helpers have already cancelled the build
    or removed the container (their ``finally`` blocks), so the message can say so.
    """
    try:
        with engine_errors():
            yield
    except KeyboardInterrupt:
        raise Interrupted(f"Stopped: the {what} was interrupted; the kit cancelled it and "
                          "removed the containers it had started.",
                          "Rerun the cell when you are ready.") from None
