"""What a course notebook talks to: a live engine, or recorded real runs when none answers.

``kit = Course.start()`` connects to the engine (2 s at most); when no engine answers it loads
the recording made by ``python -m helpers record`` and shows a banner saying the results are a
recorded run. The notebook then calls the same methods either way — ``build``, ``summary``,
``history``, ``breakdown``, ``health``, ``check_my_work`` — and every result carries
``recorded=True`` when it was replayed. A learner's mistake (a Dockerfile that does not build,
a container that exits, an engine that stops answering mid-session) ends in a clear message
and a hint in the cell's output, and the method returns ``None`` so the next cells still run.
Stop (Ctrl-C) is different: once the kit has cleaned up, the method raises
:class:`~helpers.errors.Interrupted`, shown as one short message, so a "Run All" stops there.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

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
from .ui.widgets import (
    BuildProgress,
    CheckMyWork,
    install_error_display,
    show_check_report,
    show_error,
    show_notice,
)


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

    # -- building ---------------------------------------------------------------------------
    def build(self, dockerfile: str | Path, tag: str, context: str | Path = EXERCISE_DIR,
              **kwargs) -> BuildResult | None:
        """Build with the live progress widget (or replay the recorded build)."""
        if self.live:
            progress = BuildProgress(tag)
            try:
                with engine_calls("build"):
                    return build_image(self.client, context, tag, dockerfile,
                                       on_event=progress, **kwargs)
            except Interrupted:
                raise
            except KitError as exc:
                if exc is not progress.error:  # the widget shows its own errors and hint
                    show_error(exc)
                return None
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

    # -- measuring --------------------------------------------------------------------------
    def summary(self, tag: str) -> ImageSummary | None:
        """Size and layer count of ``tag``."""
        if self.live:
            return self._live(summarize, tag)
        key = self._key(tag)
        return self.recording.summary(key, tag) if key else None

    def history(self, tag: str) -> pd.DataFrame | None:
        """The image history, one row per instruction."""
        if self.live:
            return self._live(history_frame, tag)
        key = self._key(tag)
        return self.recording.history(key) if key else None

    def breakdown(self, tag: str) -> ImageBreakdown | None:
        """Every file of every layer (streamed from docker save)."""
        if self.live:
            return self._live(file_breakdown, tag)
        key = self._key(tag)
        return self.recording.breakdown(key, tag) if key else None

    def _live(self, function, tag: str):
        try:
            with engine_calls("measurement"):
                return function(self.client, tag)
        except Interrupted:
            raise
        except KitError as exc:
            show_error(exc)
            return None

    def image_exists(self, tag: str) -> bool:
        """Whether ``tag`` is on the engine (or was replayed in this session)."""
        if self.live:
            return bool(self._live(lambda client, name: client.images.list(name=name), tag))
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
        try:
            if self.live:
                with engine_calls("run"):
                    report = check_health(self.client, tag, hardened=hardened)
            else:
                key = self._key(tag)
                if key is None:
                    return None
                report = self.recording.health(key)
        except Interrupted:
            raise
        except RunError as exc:
            show_error(exc)
            if exc.logs:
                print("container logs:\n" + exc.logs[-2000:])
            return None
        except KitError as exc:
            show_error(exc)
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

        try:
            if self.live:
                with engine_calls("check"):
                    report = run_checks(self.client, context, dockerfile,
                                        on_event=BuildProgress(f"check {Path(dockerfile).name}"))
            else:
                report = run_static_checks(context, dockerfile,
                                           reason="no Docker engine answers here "
                                                  "(engine-less mode)")
        except Interrupted:
            raise
        except KitError as exc:
            show_error(exc)
            return None
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
