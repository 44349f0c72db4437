"""Build progress for terminals: one line per step with step N of M and elapsed time.

Used by the CLI; notebooks use the widget in :mod:`helpers.ui.widgets`, which consumes the same
:class:`~helpers.build.BuildEvent` stream.
"""

from __future__ import annotations

import sys
from typing import TextIO

from ..build import BuildEvent


class TerminalProgress:
    """An ``on_event`` handler that prints build progress to ``stream``.

    Args:
        label: What is being built, printed before each line (e.g. the tag).
        stream: Where to print (stderr by default, so ``--json`` output stays clean).
        verbose: Also print every log line of the builder.
    """

    def __init__(self, label: str, stream: TextIO | None = None, verbose: bool = False) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.verbose = verbose

    def __call__(self, event: BuildEvent) -> None:
        if event.kind == "step":
            self._print(f"step {event.step}/{event.total} {bar(event.step - 1, event.total)} "
                        f"{event.elapsed_s:6.1f}s  {shorten(event.instruction)}")
        elif event.kind == "step-done":
            how = "cached" if event.result.cached else f"{event.result.duration_s:.1f}s"
            self._print(f"step {event.step}/{event.total} {bar(event.step, event.total)} "
                        f"{event.elapsed_s:6.1f}s  done ({how})")
        elif event.kind == "line" and self.verbose:
            self._print(f"  | {event.line}")
        elif event.kind == "done":
            result = event.result
            self._print(f"built in {result.duration_s:.1f}s, {result.cached_steps} of "
                        f"{len(result.steps)} steps from cache, image {result.image_id[7:19]}")
        elif event.kind == "error":
            self._print(f"FAILED after {event.elapsed_s:.1f}s: {event.error.message}")

    def _print(self, text: str) -> None:
        print(f"[{self.label}] {text}", file=self.stream, flush=True)


def bar(done: int, total: int, width: int = 12) -> str:
    """A text progress bar such as ``[######------]``."""
    filled = round(width * done / total) if total else 0
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def shorten(text: str, limit: int = 70) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
