"""Hints that escalate per check, the way interactive labs coach (check, hint, solve).

The first time a check fails the learner is told what is wrong and *where* (the line of
their file, from :mod:`helpers.grading.lines`); if it fails again, the fix; and on request
("show the solution for this") the reference solution's lines for that part only. A check
that passes starts over. The counts live in ``out/learners/<namespace>/hints.json``
(:mod:`.state`), so they survive a kernel restart and ``python -m helpers reset`` clears
them. The CLI and the JSON report always carry the full hint; only the notebook escalates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import dockerfile as df
from ..config import SOLUTIONS_DIR
from ..errors import KitError
from ..grading.lines import excerpt, solution_spans
from ..grading.report import CheckReport, CheckResult
from .state import learner_dir, read_state, write_state

#: The rungs of the ladder.
WHERE, FIX, SOLUTION = 1, 2, 3

REFERENCE = SOLUTIONS_DIR / "Dockerfile.multistage"


@dataclass
class Hint:
    """What the learner is shown for one failing check.

    Attributes:
        check_id: The check.
        level: :data:`WHERE`, :data:`FIX` or :data:`SOLUTION`.
        failures: How many checks in a row it has failed.
        line: The line of the learner's file it concerns, or None.
        fix: The fix (shown from :data:`FIX` on).
        solution: The reference's lines for this part (shown at :data:`SOLUTION`), or None.
    """

    check_id: str
    level: int
    failures: int
    line: int | None
    fix: str
    solution: str | None = None

    def text(self) -> str:
        """The hint as the notebook shows it at this level."""
        where = f"Look at line {self.line} of your Dockerfile. " if self.line else ""
        if self.level == WHERE:
            more = ("Edit and check again: if it still fails, the fix is shown here."
                    if self.fix else "")
            return (where + more).strip()
        text = where + (self.fix or "Compare your file with the reference solution's lines "
                        "for this part (show the solution for this).")
        if self.level >= SOLUTION and self.solution:
            text += f"\nThe reference solution does it like this:\n{self.solution}"
        return text


    def revealed_text(self) -> str:
        """What "show the solution for this" answers: the reference's lines, or why none."""
        if self.solution:
            return self.text()
        return f"No lines of the reference answer {self.check_id} on their own: {self.text()}"


def solution_for(check_id: str, reference: Path = REFERENCE) -> str | None:
    """The reference solution's lines for ``check_id``, numbered; None when no lines do it."""
    try:
        model = df.parse(reference)
    except KitError:
        return None
    spans = solution_spans(check_id, model)
    return excerpt(reference.read_text(), spans) if spans else None


class HintLadder:
    """The per-learner hint state for the files they check.

    Args:
        path: The state file (default ``out/learners/<namespace>/hints.json``).
        reference: The reference solution the :data:`SOLUTION` rung quotes.
    """

    def __init__(self, path: Path | None = None, reference: Path = REFERENCE) -> None:
        self.path = path or learner_dir() / "hints.json"
        self.reference = reference

    def _checks(self, state: dict, dockerfile: str) -> dict:
        return state.setdefault("files", {}).setdefault(dockerfile, {})

    def update(self, report: CheckReport) -> dict[str, Hint]:
        """Count this report's failures and passes; the hint for each failing check.

        A failing check climbs one rung (up to :data:`FIX`; :data:`SOLUTION` only after
        :meth:`reveal`), a passing one starts over.
        """
        state = read_state(self.path)
        checks = self._checks(state, report.dockerfile)
        hints = {}
        for result in report.results:
            if result.status == "pass":
                checks.pop(result.id, None)
            elif result.status == "fail":
                entry = checks.setdefault(result.id, {"failures": 0, "revealed": False})
                entry["failures"] = int(entry.get("failures", 0)) + 1
                hints[result.id] = self._hint(result, entry)
        self._save(state)
        return hints

    def _hint(self, result: CheckResult, entry: dict) -> Hint:
        failures = int(entry.get("failures", 1))
        level = SOLUTION if entry.get("revealed") else FIX if failures >= 2 else WHERE
        solution = solution_for(result.id, self.reference) if level == SOLUTION else None
        return Hint(result.id, level, failures, result.line, result.hint, solution)

    def reveal(self, result: CheckResult, dockerfile: str) -> Hint:
        """"Show the solution for this": the hint at :data:`SOLUTION`, remembered."""
        state = read_state(self.path)
        entry = self._checks(state, dockerfile).setdefault(
            result.id, {"failures": 1, "revealed": False})
        entry["revealed"] = True
        self._save(state)
        return self._hint(result, entry)

    def _save(self, state: dict) -> None:
        try:
            write_state(self.path, state)
        except OSError:
            pass  # hints still show; only the escalation is not remembered
