"""A class's results folder for the instructor's notebook: real records of real checks.

The notebook tests (nbclient and the browser) run ``notebooks/instructor_class_report.ipynb``
with ``KIT_RESULTS_DIR`` at a folder this module fills: the kit's own writer
(:func:`helpers.classroom.records.write_record`) records real check reports — the static
checks of the shipped starter and of the reference solution, which need no engine and take a
second — for three learners, so the notebook has rows to show and the test knows which.
"""

from __future__ import annotations

from pathlib import Path

from helpers.classroom import records
from helpers.config import EXERCISE_DIR, SOLUTIONS_DIR
from helpers.grading.checks import REQUIRED, run_static_checks

INSTRUCTOR_NOTEBOOK = "instructor_class_report"
#: Each learner's checks, oldest first: which Dockerfile was checked.
LEARNERS = {"nb-ana": ("starter", "reference"), "nb-ben": ("starter",),
            "nb-cleo": ("reference", "reference")}


def seed_class_results(folder: Path) -> dict[str, list[str]]:
    """Write the learners' records into ``folder``; each learner's latest status of every
    required check (in :data:`REQUIRED` order), as the class report must show it."""
    reports = {"starter": run_static_checks(EXERCISE_DIR, "Dockerfile.multistage"),
               "reference": run_static_checks(EXERCISE_DIR,
                                              SOLUTIONS_DIR / "Dockerfile.multistage")}
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for learner, checked in LEARNERS.items():
        for which in checked:
            record = records.build_record(reports[which], engine="none", engine_less=True,
                                          learner=learner)
            records.write_record(record, folder)
        latest = {r.id: r.status for r in reports[checked[-1]].results}
        expected[learner] = [latest[check] for check in REQUIRED]
    return expected


def report_rows(text: str) -> dict[str, list[str]]:
    """The learner rows of a printed class report (``class_report_text``): learner ->
    the statuses of the required checks, read from the table under its header."""
    rows, in_table = {}, False
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["learner"] and words[1:len(REQUIRED) + 1] == list(REQUIRED):
            in_table = True
        elif in_table and len(words) > len(REQUIRED):
            rows[words[0]] = words[1:len(REQUIRED) + 1]
        elif in_table:
            break
    return rows
