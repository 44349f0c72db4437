"""What a course notebook talks to: a live engine, or recorded real runs when none answers.

``kit = Course.start()`` connects to the engine (2 s at most); when no engine answers it loads
the recording made by ``python -m helpers record`` and shows a banner saying the results are a
recorded run. The notebook then calls the same methods either way — ``build``, ``summary``,
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
from .build import BuildResult, build_image
from .config import EXERCISE_DIR
from .engine import connect, engine_errors
from .engine.containers import HealthReport, check_health
from .errors import EngineUnavailable, Interrupted, KitError, RunError
from .image import (
    ImageBreakdown,
    ImageSummary,
    file_breakdown,
    history_frame,
    summarize,
)
from .lessons import cache_lab
from .ui.widgets import (
    BuildProgress,
    CheckMyWork,
    install_error_display,
    show_check_report,
    show_error,
    show_notice,
)

T = TypeVar("T")
D = TypeVar("D")


class Course:
    """One notebook's connection to the kit: live (``client``) or replaying ``recording``.

    Args:
        client: A connected docker client, or None in engine-less mode.
        recording: The recorded runs (engine-less mode), or None.
        reason: Why there is no engine (shown in messages), when there is none.
    """

    def __init__(self, client: docker.DockerClient | None,
                 recording: recorded.Recording | None = None, reason: str = "") -> None:
        self.client = client
        self.recording = recording
        self.reason = reason
        self._keys: dict[str, str] = {}  # tag -> recording key, for replayed images

    @classmethod
    def start(cls) -> "Course":
        """Connect, or fall back to the recording with a banner (never raises)."""
        install_error_display()
        try:
            return cls(connect())
        except EngineUnavailable as exc:
            recording = recorded.load()
            course = cls(None, recording, reason=exc.message)
            if recording is None:
                show_error(KitError(f"{exc.message} There is no recorded run to show instead.",
                                    exc.hint))
            else:
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
                    replay: Callable[[str], T], *,
                    on_error: Callable[[KitError], None] | None = None) -> T | None:
        """``live(client)`` when an engine answers, else ``replay(key)`` of the recorded image
        built as ``tag`` in this session (None, after saying so, when there is none)."""
        if self.live:
            return self._guarded(what, lambda: live(self.client), on_error=on_error)
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
        key = self._replayable(dockerfile, context)
        if key is None:
            return None
        self._keys[tag] = key
        return self.recording.replay_build(key, tag, BuildProgress(f"{tag} (recorded run)"))

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
        return self._from_image("measurement", tag, lambda client: summarize(client, tag),
                                lambda key: self.recording.summary(key, tag))

    def history(self, tag: str) -> pd.DataFrame | None:
        """The image history, one row per instruction."""
        return self._from_image("measurement", tag, lambda client: history_frame(client, tag),
                                lambda key: self.recording.history(key))

    def breakdown(self, tag: str) -> ImageBreakdown | None:
        """Every file of every layer (streamed from docker save)."""
        return self._from_image("measurement", tag, lambda client: file_breakdown(client, tag),
                                lambda key: self.recording.breakdown(key, tag))

    def image_exists(self, tag: str) -> bool:
        """Whether ``tag`` is on the engine (or was replayed in this session)."""
        if self.live:
            return bool(self._guarded("measurement",
                                      lambda: self.client.images.list(name=tag)))
        return tag in self._keys

    # -- running ----------------------------------------------------------------------------
    def health(self, tag: str, hardened: bool = False) -> HealthReport | None:
        """Run ``tag``, call /health, clean up; None (error, hint and logs shown) on failure.

        ``hardened=True`` runs it the way a locked-down platform would (read-only root
        filesystem, no capabilities, no privilege gain, user nobody: see
        :data:`helpers.engine.containers.HARDENED_RUN`). The recording has plain runs only.
        """
        if hardened and not self.live:
            print("Skipped: the hardened run needs a Docker engine (the recorded run has the "
                  "plain run only).")
            return None
        report = self._from_image(
            "run", tag, lambda client: check_health(client, tag, hardened=hardened),
            lambda key: self.recording.health(key), on_error=_show_with_logs)
        if report is None:
            return None
        label = " (recorded run)" if report.recorded else (" (hardened)" if hardened else "")
        print(f"GET /health -> {report.status_code} in {report.elapsed_s:.1f} s{label}: "
              f"{report.body}")
        return report

    # -- checking ---------------------------------------------------------------------------
    def check_my_work(self, dockerfile: str | Path, context: str | Path = EXERCISE_DIR):
        """Build, run and check ``dockerfile``; show the pass/fail table; return the report.

        Without an engine the static checks (Dockerfile, .dockerignore, hadolint) run for
        real and every check that needs an image says ``skip`` with the reason.
        """
        from .grading.checks import run_checks, run_static_checks

        if self.live:
            def run():
                return run_checks(self.client, context, dockerfile,
                                  on_event=BuildProgress(f"check {Path(dockerfile).name}"))
        else:
            def run():
                return run_static_checks(context, dockerfile,
                                         reason="no Docker engine answers here "
                                                "(engine-less mode)")
        report = self._guarded("check", run)
        if report is not None:
            show_check_report(report)
        return report

    def check_button(self, dockerfile: str | Path,
                     context: str | Path = EXERCISE_DIR) -> CheckMyWork:
        """A "Check my work" button that runs :meth:`check_my_work`'s checks on each click."""
        from .grading.checks import run_checks, run_static_checks

        if self.live:
            def run():
                with engine_calls("check"):
                    return run_checks(self.client, context, dockerfile,
                                      on_event=BuildProgress(f"check {Path(dockerfile).name}"))
            return CheckMyWork(run)
        return CheckMyWork(lambda: run_static_checks(context, dockerfile))


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
