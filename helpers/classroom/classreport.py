"""Every record in the class's results folder, read as one report for the instructor.

:func:`read_class_report` reads each file the learners' checks left
(:mod:`helpers.classroom.records`) and skips, with the reason, whatever is not one: a file that
is not JSON (corrupt, or cut short), a foreign file (not named like a record, another schema, a
malformed record) and a record whose namespace differs from its file name's. Files whose name
starts with a dot are records still being written (or the system's), and are not read.

:class:`ClassReport` then answers the instructor's questions as pandas tables: the latest
verdict of every learner on every check, how many attempts each made and how long their first
full pass (every required check passes) took from their first attempt (:meth:`~ClassReport.table`),
the share of learners passing each check (:meth:`~ClassReport.pass_rates`), a gradebook with
one row per learner (:meth:`~ClassReport.gradebook`, the CSV of ``python -m helpers
class-report --csv``) and everything as JSON (:meth:`~ClassReport.to_json`).
:func:`class_report_text` is what the CLI prints.

Only the instructor reads the folder: ``python -m helpers class-report`` and the instructor's
notebook call this module; nothing a learner calls does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

from ..errors import KitError
from .records import RECORD_NAME, RESULTS_ENV, SCHEMA, results_dir

STATUSES = ("pass", "fail", "skip")
#: A record is a few kB (the Dockerfile's text included): anything far larger is not one.
MAX_RECORD_BYTES = 2 * 10**6
#: What the report says of a folder that holds no record yet.
NO_RECORDS = (f"No check records yet: a learner's check leaves one when {RESULTS_ENV} is set "
              "to this folder in their environment.")
#: What a table cell says for a check the learner's records never ran.
MISSING = "-"


@dataclass(frozen=True)
class Attempt:
    """One check a learner ran: when, where, and each check's status."""

    namespace: str
    time: datetime
    file: str
    statuses: dict[str, str]       # check id -> pass / fail / skip
    required: tuple[str, ...]      # the required check ids, in the record's order
    advice: tuple[str, ...]        # the others
    engine: str = ""
    engine_less: bool = False

    @property
    def passed(self) -> bool:
        """Every required check passes (a skip is not a pass)."""
        return bool(self.required) and all(self.statuses[i] == "pass" for i in self.required)


@dataclass(frozen=True)
class Skipped:
    """A file in the folder that is not read as a record, and why."""

    file: str
    reason: str


@dataclass
class ClassReport:
    """Every learner's attempts in one folder, and the files skipped there."""

    folder: Path | None
    attempts: list[Attempt] = field(default_factory=list)  # by learner, then time
    skipped: list[Skipped] = field(default_factory=list)

    def learners(self) -> list[str]:
        """The namespaces with at least one record, sorted."""
        return sorted({a.namespace for a in self.attempts})

    def attempts_of(self, learner: str) -> list[Attempt]:
        """``learner``'s attempts, oldest first."""
        return [a for a in self.attempts if a.namespace == learner]

    def checks(self, advice: bool = False) -> list[str]:
        """The required check ids (then, with ``advice``, the others) in the records' order."""
        seen: dict[str, None] = {}
        for attempt in self.attempts:
            seen.update(dict.fromkeys(attempt.required))
        if advice:
            for attempt in self.attempts:
                seen.update(dict.fromkeys(a for a in attempt.advice if a not in seen))
        return list(seen)

    def latest(self, learner: str) -> dict[str, str]:
        """Check id -> the status of ``learner``'s latest attempt that ran that check."""
        statuses: dict[str, str] = {}
        for attempt in self.attempts_of(learner):
            statuses.update(attempt.statuses)
        return statuses

    def first_full_pass(self, learner: str) -> timedelta | None:
        """Time from ``learner``'s first attempt to their first full pass (None: not yet)."""
        attempts = self.attempts_of(learner)
        passing = next((a for a in attempts if a.passed), None)
        return passing.time - attempts[0].time if passing and attempts else None

    def statuses(self, advice: bool = False) -> pd.DataFrame:
        """Learners x check ids: the latest status (``-`` where a check never ran)."""
        checks = self.checks(advice)
        rows = {learner: [self.latest(learner).get(c, MISSING) for c in checks]
                for learner in self.learners()}
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=checks)
        frame.index.name = "learner"
        return frame

    def table(self, advice: bool = False) -> pd.DataFrame:
        """:meth:`statuses`, plus required checks passing, attempts, time to the first full
        pass (``not yet`` when there is none) and when the latest attempt was."""
        frame = self.statuses(advice)
        required = self.checks()
        frame["passed"] = [f"{self._passing(learner, required)}/{len(required)}"
                           for learner in frame.index]
        frame["attempts"] = [len(self.attempts_of(learner)) for learner in frame.index]
        frame["first full pass"] = [duration_text(self.first_full_pass(learner))
                                    for learner in frame.index]
        frame["latest (UTC)"] = [
            self.attempts_of(learner)[-1].time.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
            for learner in frame.index]
        return frame

    def _passing(self, learner: str, checks: list[str]) -> int:
        latest = self.latest(learner)
        return sum(latest.get(check) == "pass" for check in checks)

    def pass_rates(self) -> pd.DataFrame:
        """Per check id: required or advice, learners whose latest attempt passes it, of how
        many learners, and that share (0..1)."""
        learners = self.learners()
        required = set(self.checks())
        rows = []
        for check in self.checks(advice=True):
            passing = sum(self.latest(learner).get(check) == "pass" for learner in learners)
            rows.append({"check": check, "required": check in required, "passing": passing,
                         "learners": len(learners),
                         "share": passing / len(learners) if learners else 0.0})
        return pd.DataFrame(rows, columns=["check", "required", "passing", "learners", "share"])

    def gradebook(self) -> pd.DataFrame:
        """One row per learner: each required check's latest status, then ``passed`` (how
        many pass) and ``total`` (how many there are). What ``--csv`` writes."""
        required = self.checks()
        frame = self.statuses()[required].reset_index()
        frame["passed"] = [self._passing(learner, required) for learner in frame["learner"]]
        frame["total"] = len(required)
        return frame

    def to_json(self) -> dict:
        """The folder, each learner (latest statuses, attempts, first full pass in seconds),
        the pass rates and the skipped files, as plain JSON types."""
        learners = []
        for learner in self.learners():
            attempts = self.attempts_of(learner)
            first = self.first_full_pass(learner)
            learners.append({
                "namespace": learner, "attempts": len(attempts),
                "first_attempt": attempts[0].time.isoformat(),
                "latest_attempt": attempts[-1].time.isoformat(),
                "passed": attempts[-1].passed,
                "first_full_pass_seconds": first.total_seconds() if first else None,
                "engine": attempts[-1].engine, "checks": self.latest(learner)})
        return {"folder": str(self.folder) if self.folder else None, "learners": learners,
                "pass_rates": self.pass_rates().to_dict("records"),
                "skipped": [{"file": s.file, "reason": s.reason} for s in self.skipped]}


def duration_text(delta: timedelta | None) -> str:
    """``0 s``, ``4 min 10 s``, ``1 h 02 min``; ``not yet`` for None."""
    if delta is None:
        return "not yet"
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


# --------------------------------------------------------------------------------------------
# Reading the folder
# --------------------------------------------------------------------------------------------
class NotARecord(ValueError):
    """Why one file of the folder is skipped."""


def class_folder(folder: str | Path | None = None) -> Path:
    """``folder``, or the one ``KIT_RESULTS_DIR`` names; a KitError saying how to set it."""
    path = Path(folder).expanduser() if folder else results_dir()
    if path is None:
        raise KitError(f"{RESULTS_ENV} is not set, so there is no results folder to read.",
                       f"Give the class a shared folder and set {RESULTS_ENV}=/path/to/it in "
                       "every learner's environment and in yours (e.g. c.Spawner.environment "
                       "in jupyterhub_config.py), then start JupyterLab again; or pass the "
                       "folder: python -m helpers class-report --results DIR.")
    if not path.is_dir():
        raise KitError(f"The results folder {path} does not exist (or is not a folder).",
                       f"Create it (see docs/instructor-guide.md, 'Seeing the room') or fix "
                       f"{RESULTS_ENV} / --results.")
    return path


def read_class_report(folder: str | Path | None = None) -> ClassReport:
    """Read every record in ``folder`` (default ``KIT_RESULTS_DIR``); skip the rest with a
    reason. Raises KitError when there is no such folder (:func:`class_folder`)."""
    path = class_folder(folder)
    attempts, skipped = [], []
    try:
        entries = sorted(path.iterdir())
    except OSError as exc:
        raise KitError(f"Cannot list the results folder {path}: {exc.strerror or exc}.",
                       "Read it as the instructor (the folder is write-only for learners).")
    for entry in entries:
        if entry.name.startswith("."):
            continue  # a record being written (.<name>.tmp) or the system's own
        try:
            attempts.append(read_record(entry))
        except NotARecord as why:
            skipped.append(Skipped(entry.name, str(why)))
    attempts.sort(key=lambda a: (a.namespace, a.time, a.file))
    return ClassReport(path, attempts, skipped)


def read_record(path: Path) -> Attempt:
    """One record file as an :class:`Attempt`; :class:`NotARecord` says why it is not one."""
    match = RECORD_NAME.match(path.name)
    if not path.is_file():
        raise NotARecord("not a file")
    if match is None:
        raise NotARecord("foreign file: not named <namespace>--<time>--<id>.json")
    if path.stat().st_size > MAX_RECORD_BYTES:
        raise NotARecord(f"foreign file: larger than {MAX_RECORD_BYTES // 10**6} MB")
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise NotARecord(f"cannot read it: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise NotARecord(f"corrupt JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise NotARecord(f"foreign file: schema {found!r}, not {SCHEMA!r}")
    if data.get("namespace") != match["namespace"]:
        raise NotARecord(f"namespace {data.get('namespace')!r} in the record does not match "
                         f"the file name's {match['namespace']!r}")
    return _attempt(data, path.name)


def _attempt(data: dict, name: str) -> Attempt:
    """The fields a report needs, each checked: a malformed record is skipped, not guessed."""
    try:
        moment = datetime.fromisoformat(data["time"])
        checks = [(c["id"], c["status"], c["required"]) for c in data["checks"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise NotARecord(f"malformed record: {type(exc).__name__} {exc}") from None
    if moment.tzinfo is None:
        raise NotARecord("malformed record: time without a time zone")
    wrong = [c for c in checks if not isinstance(c[0], str) or c[1] not in STATUSES
             or not isinstance(c[2], bool)]
    if wrong or not checks:
        raise NotARecord(f"malformed record: checks {wrong[:3] or 'missing'}")
    return Attempt(data["namespace"], moment, name, {i: s for i, s, _ in checks},
                   tuple(i for i, _, required in checks if required),
                   tuple(i for i, _, required in checks if not required),
                   engine=str(data.get("engine", "")),
                   engine_less=bool(data.get("engine_less", False)))


def class_report_text(report: ClassReport) -> str:
    """The report as ``python -m helpers class-report`` prints it: the learners x checks
    table, the share passing each check, then the skipped files with their reasons."""
    learners = report.learners()
    lines = [f"class report of {report.folder}: {len(learners)} learner(s), "
             f"{len(report.attempts)} check record(s)"]
    if not learners:
        lines.append(NO_RECORDS)
    else:
        lines += ["", report.table().reset_index().to_string(index=False), "",
                  "share of learners passing each check:"]
        for row in report.pass_rates().itertuples(index=False):
            kind = "" if row.required else " (advice)"
            lines.append(f"  {row.check + kind:24} {row.passing}/{row.learners} "
                         f"({row.share:.0%})")
    if report.skipped:
        lines += ["", f"skipped {len(report.skipped)} file(s):"]
        lines += [f"  {s.file}: {s.reason}" for s in report.skipped]
    return "\n".join(lines)
