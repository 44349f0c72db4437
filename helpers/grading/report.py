"""The check report: every result for one Dockerfile, as JSON, as a table and as text.

:class:`CheckReport` is what :func:`helpers.grading.checks.run_checks` returns;
:meth:`CheckReport.table` orders it for reading (failures first) and :func:`check_report_text`
prints it the way ``python -m helpers check`` does. Needs pandas only, no ipywidgets and no
matplotlib, so the CLI grades without loading a drawing library; the notebook widgets in
:mod:`helpers.ui.widgets` display the same table and :func:`verdict`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # only a type here: importing mistakes would load the image layer
    from .mistakes import Diagnosis


#: What a report measured without an engine says under its verdict.
ENGINE_LESS_NOTE = ("measured without an engine: the image was built here with the local Go "
                    "toolchain and its entrypoint run as a local process")


@dataclass
class CheckResult:
    """The outcome of one check."""

    id: str
    status: str
    message: str
    hint: str = ""
    required: bool = True
    diagnoses: list[str] = field(default_factory=list)
    engine_less: bool = False  # measured on an image built here, without an engine
    line: int | None = None    # the line of the learner's Dockerfile a failure concerns


@dataclass
class CheckReport:
    """All results for one Dockerfile, plus the evidence they came from."""

    results: list[CheckResult]
    diagnoses: list[Diagnosis]
    tag: str = ""
    recorded: bool = False
    engine_less: bool = False  # the image was built and measured without an engine
    size_bytes: int | None = None  # the measured image's layers, uncompressed
    dockerfile: str = ""           # the file that was checked

    @property
    def passed(self) -> bool:
        """True iff every required check passes."""
        return all(r.status == "pass" for r in self.results if r.required)

    def get(self, check_id: str) -> CheckResult:
        return next(r for r in self.results if r.id == check_id)

    def failing(self) -> list[str]:
        return [r.id for r in self.results if r.status == "fail"]

    def to_json(self) -> dict:
        """``{"passed": bool, "checks": [{"id", "status", "message", "hint", ...}, ...]}``;
        each check's ``engine_less`` says whether it was measured without an engine, its
        ``line`` which line of the Dockerfile a failure concerns (or null)."""
        return {"passed": self.passed,
                "checks": [{"id": r.id, "status": r.status, "message": r.message,
                            "hint": r.hint, "required": r.required,
                            "diagnoses": r.diagnoses, "engine_less": r.engine_less,
                            "line": r.line}
                           for r in self.results],
                "engine_less": self.engine_less, "size_bytes": self.size_bytes,
                "dockerfile": self.dockerfile,
                "diagnoses": [asdict(d) for d in self.diagnoses]}

    def table(self) -> pd.DataFrame:
        """Failures first, then skips, then passes; the line a failure concerns, message and
        hint side by side."""
        order = {"fail": 0, "skip": 1, "pass": 2}
        rows = sorted(self.results, key=lambda r: (order[r.status], not r.required))
        table = pd.DataFrame([{"check": r.id + ("" if r.required else " (advice)"),
                               "status": r.status.upper(), "line": _line_label(r),
                               "message": r.message, "hint": r.hint} for r in rows])
        if self.engine_less:
            table["measured"] = ["without an engine" if r.engine_less else "engine"
                                 for r in rows]
        return table


def _line_label(result: CheckResult) -> str:
    """``"line 14"`` for a failure that concerns a line, else empty."""
    return f"line {result.line}" if result.status == "fail" and result.line else ""


def check_report_text(report: CheckReport) -> str:
    """A CheckReport as text: verdict first, then failures (with hints), skips, passes."""
    lines = [verdict(report)]
    if report.engine_less:
        lines.append(f"({ENGINE_LESS_NOTE})")
    for row in report.table().itertuples(index=False):
        where = f"({row.line}) " if row.line else ""
        lines.append(f"{row.status:4}  {row.check:22} {where}{row.message}")
        if row.status == "FAIL" and row.hint:
            lines.append(f"      {'':22} hint: {row.hint}")
    return "\n".join(lines)


def verdict(report: CheckReport) -> str:
    """One line: passed, failing, or not measurable here (skips are never a pass)."""
    if report.passed:
        return "PASSED: every required check passes"
    failing = report.failing()
    skipped = [r.id for r in report.results if r.required and r.status == "skip"]
    if failing:
        return f"NOT YET: {len(failing)} check(s) fail" + (
            f", {len(skipped)} required check(s) not measured here" if skipped else "")
    return f"NOT MEASURED: {len(skipped)} required check(s) need a Docker engine"
