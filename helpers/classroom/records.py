"""The record one check leaves for the instructor in the class's results folder.

When ``KIT_RESULTS_DIR`` names a folder (shared by the class, e.g. a volume every JupyterHub
server mounts), each check a learner runs leaves one JSON file there (:func:`leave_record`):
the schema tag, the learner's namespace, the time (UTC), the Dockerfile's sha256 and text, the
engine (``docker 20.10.24``, ``podman 4.3.1`` or ``none``), whether it ran without an engine,
and each check's id, status, message and whether it is required.
:mod:`helpers.classroom.classreport` reads them; nothing a learner calls lists or reads the
folder.

Writing never fails the learner's check: a folder that is missing, unwritable or full gives a
warning text instead of an exception (the caller shows it as one line).

A record is never replaced, neither by a second check nor by another learner: it is written
to a temporary file created with ``O_EXCL`` (mode 0o640) in the same folder, synced to disk,
then linked to a name of its own, ``<namespace>--<UTC time>--<random>.json``; the link fails
rather than overwrite an existing file. The folder itself should be writable but not
readable by learners and readable by the instructor, e.g. owned by the instructor with
``chmod 1733`` (create and enter, no listing; sticky, so nobody removes or renames another's
file) — ``chmod 3733`` adds the setgid bit, so records take the folder's group and the
instructor reads them through it (docs/instructor-guide.md, "Seeing the room").
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path

from ..config import namespace_or_default
from ..grading.report import CheckReport

#: The environment variable naming the class's results folder.
RESULTS_ENV = "KIT_RESULTS_DIR"
#: What every record says it is (a reader skips any other schema).
SCHEMA = "multistage-kit/check-record/1"
#: ``<namespace>--<UTC time>--<random hex>.json``; the namespace is config.namespace()'s.
RECORD_NAME = re.compile(r"^(?P<namespace>[a-z0-9_.-]+)--(?P<stamp>\d{8}T\d{12}Z)"
                         r"--(?P<nonce>[0-9a-f]{6,32})\.json$")
STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
#: Permissions of a record: the learner writes, the folder's group (the instructor) reads.
RECORD_MODE = 0o640
#: Attempts at a fresh name before giving up (a clash needs the same microsecond and nonce).
NAME_ATTEMPTS = 3


def results_dir() -> Path | None:
    """The folder ``KIT_RESULTS_DIR`` names, or None when it is unset or empty."""
    raw = os.environ.get(RESULTS_ENV, "").strip()
    return Path(raw).expanduser() if raw else None


def engine_description(client) -> str:
    """``docker 20.10.24`` or ``podman 4.3.1`` for a connected client, ``none`` without one.

    Never raises: an engine that does not say its version is ``docker (version unknown)``.
    """
    if client is None:
        return "none"
    from ..engine.probe import engine_kind  # the SDK only when there is a client

    kind = engine_kind(client)
    return f"{'podman' if kind.podman else 'docker'} {kind.version or '(version unknown)'}"


def build_record(report: CheckReport, *, engine: str, engine_less: bool,
                 learner: str | None = None, now: datetime | None = None) -> dict:
    """The JSON object one check leaves: who, when, which Dockerfile, where, each verdict.

    Args:
        report: The check's report (its ``dockerfile`` is read for the digest and text).
        engine: :func:`engine_description` of the engine that measured it (``none``).
        engine_less: True when no engine was used (built here, or the Dockerfile only).
        learner: The namespace (default :func:`helpers.config.namespace_or_default`).
        now: The time of the check (default: now, UTC).
    """
    text = _read_text(report.dockerfile)
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return {
        "schema": SCHEMA,
        "namespace": learner or namespace_or_default(),
        "time": moment.isoformat(timespec="microseconds"),
        "dockerfile": {"path": report.dockerfile, "text": text,
                       "sha256": hashlib.sha256(text.encode()).hexdigest()
                       if text is not None else None},
        "engine": engine,
        "engine_less": engine_less,
        "built_here": report.engine_less,
        "size_bytes": report.size_bytes,
        "checks": [{"id": r.id, "status": r.status, "message": r.message,
                    "required": r.required} for r in report.results],
    }


def _read_text(path: str) -> str | None:
    """The Dockerfile's text, or None when it cannot be read (the record says so)."""
    try:
        return Path(path).read_text(errors="replace") if path else None
    except OSError:
        return None


def record_name(learner: str, moment: datetime) -> str:
    """A fresh file name for a record of ``learner`` at ``moment`` (random part included)."""
    stamp = moment.astimezone(timezone.utc).strftime(STAMP_FORMAT)
    return f"{learner}--{stamp}--{secrets.token_hex(4)}.json"


def write_record(record: dict, folder: Path) -> Path:
    """Write ``record`` into ``folder`` under a new name; the path written.

    The bytes go to a temporary file created with ``O_EXCL`` and mode 0o640, are synced, and
    the file is then linked to its final name, which fails instead of replacing a file that
    exists (a fresh name is tried then). Readers never see half a record.

    Raises:
        OSError: the folder is missing, not writable, or full (the temporary file is removed).
    """
    data = (json.dumps(record, indent=1, sort_keys=True) + "\n").encode()
    moment = datetime.fromisoformat(record["time"])
    for _ in range(NAME_ATTEMPTS):
        final = folder / record_name(record["namespace"], moment)
        temporary = folder / f".{final.name}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, RECORD_MODE)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            if _publish(temporary, final):
                return final
        finally:
            temporary.unlink(missing_ok=True)
    raise FileExistsError(f"no free record name in {folder} after {NAME_ATTEMPTS} attempts")


def _publish(temporary: Path, final: Path) -> bool:
    """Give ``temporary`` the name ``final`` unless that exists; whether it did.

    A hard link never replaces a file. Where the file system has no hard links, a rename
    after checking that the name is free (the random part makes a race all but impossible).
    """
    try:
        os.link(temporary, final)
        return True
    except FileExistsError:
        return False
    except OSError:
        if final.exists():
            return False
        os.rename(temporary, final)
        return True


def leave_record(report: CheckReport, client=None, folder: Path | None = None) -> str | None:
    """Leave the record of ``report`` in the results folder; a warning text if that failed.

    The one call every way of checking makes (``Course``, ``python -m helpers check``).
    Returns None when ``KIT_RESULTS_DIR`` is unset (nothing to do) or the record was written;
    otherwise one line saying the check was not recorded and why. Never raises for the
    folder: the learner's check is what counts.

    Args:
        report: The check's report.
        client: The engine's client that measured it, or None (built here / Dockerfile only).
        folder: Where to write (default :func:`results_dir`).
    """
    folder = folder or results_dir()
    if folder is None:
        return None
    try:
        record = build_record(report, engine=engine_description(client),
                              engine_less=client is None)
        write_record(record, folder)
    except FileNotFoundError:
        return (f"your check was not recorded for your instructor: the results folder "
                f"{folder} ({RESULTS_ENV}) does not exist")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return (f"your check was not recorded for your instructor: cannot write to {folder} "
                f"({RESULTS_ENV}): {reason}")
    except (TypeError, ValueError) as exc:  # a report that does not serialise: still no raise
        return f"your check was not recorded for your instructor: {exc}"
    return None
