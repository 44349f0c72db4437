"""Shared inputs of the classroom tests: real check reports of the exercise's Dockerfiles,
and reports whose verdicts a test chooses (to time a first full pass)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from helpers.classroom import records
from helpers.config import EXERCISE_DIR, SOLUTIONS_DIR
from helpers.grading.checks import ADVICE, REQUIRED, run_static_checks
from helpers.grading.report import CheckReport, CheckResult

#: The moment the fake class starts (records are written with explicit times).
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def starter_report() -> CheckReport:
    """The static checks of the shipped starter (real: fails multi-stage, dep-cache...)."""
    return run_static_checks(EXERCISE_DIR, "Dockerfile.multistage")


@pytest.fixture(scope="session")
def reference_report() -> CheckReport:
    """The static checks of the reference solution (real: image checks skip)."""
    return run_static_checks(EXERCISE_DIR, SOLUTIONS_DIR / "Dockerfile.multistage")


def chosen_report(failing: tuple[str, ...] = (), dockerfile: str = "",
                  advice: tuple[str, ...] = ADVICE) -> CheckReport:
    """A report where every required check passes except ``failing`` (and ``advice`` runs)."""
    results = [CheckResult(i, "fail" if i in failing else "pass", f"{i} message")
               for i in REQUIRED]
    results += [CheckResult(i, "pass", f"{i} advice", required=False) for i in advice]
    dockerfile = dockerfile or str(SOLUTIONS_DIR / "Dockerfile.multistage")
    return CheckReport(results, [], dockerfile=dockerfile)


def write_at(folder, learner: str, report: CheckReport, minutes: float) -> str:
    """Write ``learner``'s record of ``report`` at T0 + ``minutes``; the file's name."""
    record = records.build_record(report, engine="docker 20.10.24", engine_less=False,
                                  learner=learner, now=T0 + timedelta(minutes=minutes))
    return records.write_record(record, folder).name
