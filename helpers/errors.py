"""The one exception family the kit raises.

Every error a learner can cause or meet (no engine, a failing build step, a container that
never answers) is a :class:`KitError` with a plain-language ``message`` and a ``hint`` saying
what to do next, so notebooks and the CLI can show two short lines instead of a traceback wall.
Modelled on docker-py, whose errors all derive from ``docker.errors.DockerException``.
"""

from __future__ import annotations


class KitError(Exception):
    """Base class for every error the kit raises on purpose.

    Args:
        message: What went wrong, leading with the fact a learner needs.
        hint: What to try next (may be empty).
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\nHint: {self.hint}" if self.hint else self.message


class EngineUnavailable(KitError):
    """No Docker engine answered (not installed, not started, or DOCKER_HOST points nowhere)."""


class BuildError(KitError):
    """A build failed; names the step that failed and keeps the full log.

    Args:
        message: The engine's error, verbatim.
        step: 1-based number of the failing step, or None if it failed before any step.
        instruction: The Dockerfile instruction of that step (e.g. ``RUN go build ...``).
        log: Every line the build printed, for the collapsible full log.
        hint: What to try next.
    """

    def __init__(self, message: str, step: int | None = None, instruction: str = "",
                 log: list[str] | None = None, hint: str = "") -> None:
        where = f"Step {step} ({instruction}) failed: " if step else "Build failed: "
        super().__init__(where + message, hint)
        self.engine_message = message
        self.step = step
        self.instruction = instruction
        self.log = log or []


class RunError(KitError):
    """A container exited, or never answered its health endpoint, in time.

    Args:
        message: What happened.
        exit_code: The container's exit code if it stopped, else None.
        logs: The container's last output lines (stdout and stderr).
        hint: What to try next.
    """

    def __init__(self, message: str, exit_code: int | None = None, logs: str = "",
                 hint: str = "") -> None:
        super().__init__(message, hint)
        self.exit_code = exit_code
        self.logs = logs


#: The hint for an image that is not on the engine (the build cells and the CLI make them).
BUILD_IT_FIRST = "Build it first (the build cell above, or `python -m helpers demo`)."


def missing_image(name: str) -> KitError:
    """The one "no such image" error, whichever call found the image missing."""
    return KitError(f"There is no image {name!r} on this engine.", BUILD_IT_FIRST)


def engine_error(exc: BaseException, doing: str) -> KitError:
    """The one translation of an SDK error met while ``doing`` something with the engine.

    ``doing`` completes "while ...", e.g. ``"exporting 'web'"``. ``ImageNotFound`` has no
    subject here, so callers that know the image name raise :func:`missing_image` first.
    Other errors pass through unchanged (re-raised by the caller).

    Returns:
        A KitError: the engine refused (``APIError``), or the connection broke
        (``requests``' errors: the engine stopped or the stream was cut).
    """
    from docker.errors import APIError  # docker loads only when an engine error happens
    from requests.exceptions import RequestException

    if isinstance(exc, APIError):
        return KitError(f"The engine refused while {doing}: {exc.explanation or exc}",
                        "Check the engine is healthy (`docker info`), then retry.")
    if isinstance(exc, RequestException):
        return KitError(f"The connection to the engine broke while {doing}: {exc}",
                        "Check the engine is still running (`docker info`), then retry.")
    return KitError(f"Unexpected error while {doing}: {exc}", "Retry; if it persists, "
                    "restart the engine.")


class Interrupted(KitError):
    """The learner pressed Stop (Ctrl-C) while the kit was building or running something.

    Raised instead of a bare KeyboardInterrupt once the kit has cleaned up, so the notebook
    shows one short message (see :func:`helpers.ui.widgets.install_error_display`) and the
    rest of a "Run All" stops, as the learner asked.
    """
