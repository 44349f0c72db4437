"""helpers.classroom.records: one JSON record per check, written atomically, never replaced,
never failing the learner's check.

Records are built from real check reports (the static checks of the shipped Dockerfiles);
four real processes write at once for four namespaces, and what they wrote is read back
through the class report. The folder's failures (missing, not a folder, unwritable, full)
must each end in a warning, not an exception; the full disk and the refused write are
simulated (the tests run as root, where permissions do not refuse), the others are real.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone

import pytest

from helpers.classroom import records
from helpers.classroom.classreport import read_class_report
from helpers.config import REPO_ROOT
from tests.unit.classroom.conftest import T0


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "results"
    path.mkdir()
    return path


def test_a_record_holds_who_when_which_dockerfile_where_and_every_verdict(starter_report,
                                                                       monkeypatch):
    monkeypatch.setenv("KIT_NAMESPACE", "Ana Lopez")
    record = records.build_record(starter_report, engine="none", engine_less=True)
    text = open(starter_report.dockerfile).read()
    assert record["schema"] == records.SCHEMA
    assert record["namespace"] == "ana-lopez"  # config.namespace(): safe for file names
    moment = datetime.fromisoformat(record["time"])
    assert moment.utcoffset().total_seconds() == 0
    assert abs((datetime.now(timezone.utc) - moment).total_seconds()) < 60
    assert record["dockerfile"]["text"] == text
    assert record["dockerfile"]["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert record["engine"] == "none" and record["engine_less"] is True
    assert [(c["id"], c["status"], c["message"], c["required"]) for c in record["checks"]] == [
        (r.id, r.status, r.message, r.required) for r in starter_report.results]
    assert {c["status"] for c in record["checks"] if c["id"] == "dep-cache"} == {"fail"}


def test_without_a_namespace_records_are_filed_under_default(starter_report, monkeypatch):
    monkeypatch.delenv("KIT_NAMESPACE", raising=False)
    assert records.build_record(starter_report, engine="none",
                                engine_less=True)["namespace"] == "default"


def test_engine_description_names_the_engine_or_none():
    from tests.unit.fakes import FakeClient

    docker_engine = FakeClient()
    podman = FakeClient()
    podman.version_info = {"Version": "4.3.1", "Components": [{"Name": "Podman Engine"}]}
    assert records.engine_description(docker_engine) == "docker 20.10.24"
    assert records.engine_description(podman) == "podman 4.3.1"
    assert records.engine_description(None) == "none"


def test_write_record_is_named_for_its_learner_and_time_and_leaves_no_temporary(
        folder, reference_report):
    old_umask = os.umask(0o022)
    try:
        record = records.build_record(reference_report, engine="docker 20.10.24",
                                      engine_less=False, learner="ben", now=T0)
        path = records.write_record(record, folder)
    finally:
        os.umask(old_umask)
    match = records.RECORD_NAME.match(path.name)
    assert match and match["namespace"] == "ben" and match["stamp"] == "20261201T090000000000Z"
    assert [p.name for p in folder.iterdir()] == [path.name]  # no .tmp left behind
    assert path.stat().st_mode & 0o777 == records.RECORD_MODE
    assert json.loads(path.read_text()) == record


def test_a_record_never_replaces_an_existing_file(folder, reference_report, monkeypatch):
    """Same learner, same microsecond, same random part: the second write takes a fresh
    name; when every name it tries exists, it raises and the first record is intact."""
    record = records.build_record(reference_report, engine="none", engine_less=True,
                                  learner="ana", now=T0)
    nonces = iter(["aaaaaaaa", "aaaaaaaa", "bbbbbbbb"])
    monkeypatch.setattr(records.secrets, "token_hex", lambda _n: next(nonces))
    first = records.write_record(record, folder)
    first_bytes = first.read_bytes()
    second = records.write_record({**record, "engine": "docker 26.1.5"}, folder)
    assert second != first and second.name.endswith("--bbbbbbbb.json")
    monkeypatch.setattr(records.secrets, "token_hex", lambda _n: "aaaaaaaa")
    with pytest.raises(FileExistsError):
        records.write_record({**record, "engine": "podman 4.3.1"}, folder)
    assert first.read_bytes() == first_bytes
    assert sorted(p.name for p in folder.iterdir()) == sorted([first.name, second.name])


def test_without_hard_links_the_rename_still_never_replaces(folder, reference_report,
                                                            monkeypatch):
    def no_links(_src, _dst):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(records.os, "link", no_links)
    record = records.build_record(reference_report, engine="none", engine_less=True,
                                  learner="ana", now=T0)
    nonces = iter(["cccccccc", "cccccccc", "dddddddd"])
    monkeypatch.setattr(records.secrets, "token_hex", lambda _n: next(nonces))
    first = records.write_record(record, folder)
    second = records.write_record(record, folder)
    assert (first.name[-13:], second.name[-13:]) == ("cccccccc.json", "dddddddd.json")
    assert sorted(p.name for p in folder.iterdir()) == sorted([first.name, second.name])


def test_leave_record_does_nothing_without_kit_results_dir(monkeypatch, starter_report,
                                                           tmp_path):
    monkeypatch.delenv(records.RESULTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert records.results_dir() is None
    assert records.leave_record(starter_report) is None
    assert list(tmp_path.iterdir()) == []


def test_leave_record_writes_into_kit_results_dir(monkeypatch, folder, starter_report):
    monkeypatch.setenv(records.RESULTS_ENV, str(folder))
    monkeypatch.setenv("KIT_NAMESPACE", "carla")
    assert records.leave_record(starter_report) is None
    (path,) = folder.iterdir()
    assert path.name.startswith("carla--")
    assert json.loads(path.read_text())["engine"] == "none"


@pytest.mark.parametrize("case", ["missing", "not a folder", "unwritable", "full"])
def test_a_folder_that_cannot_take_the_record_gives_a_warning_not_an_error(
        case, tmp_path, monkeypatch, starter_report):
    folder = tmp_path / "results"
    if case == "not a folder":
        folder.write_text("a file where the folder should be")
    elif case != "missing":
        folder.mkdir()
    if case == "unwritable":  # as root a chmod refuses nothing: the refusal is simulated
        def refuse(*_args, **_kwargs):
            raise PermissionError(errno.EACCES, "Permission denied")
        monkeypatch.setattr(records.os, "open", refuse)
    if case == "full":
        def full(_fd):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(records.os, "fsync", full)
    monkeypatch.setenv(records.RESULTS_ENV, str(folder))
    warning = records.leave_record(starter_report)
    assert warning and warning.startswith("your check was not recorded for your instructor")
    assert str(folder) in warning and "\n" not in warning
    expected = {"missing": "does not exist", "not a folder": "Not a directory",
                "unwritable": "Permission denied", "full": "No space left"}[case]
    assert expected in warning
    if folder.is_dir():
        assert list(folder.iterdir()) == []  # the temporary file is gone too


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_folder_gives_a_warning(tmp_path, monkeypatch, starter_report):
    folder = tmp_path / "results"
    folder.mkdir(mode=0o500)
    monkeypatch.setenv(records.RESULTS_ENV, str(folder))
    assert "Permission denied" in records.leave_record(starter_report)


#: One learner's process: wait for the common start, then leave RECORDS records.
WRITER = textwrap.dedent("""
    import sys, time
    from helpers.classroom.records import leave_record
    from helpers.config import EXERCISE_DIR
    from helpers.grading.checks import run_static_checks
    report = run_static_checks(EXERCISE_DIR, "Dockerfile.multistage")
    start = float(sys.argv[1])
    while time.time() < start:
        time.sleep(0.001)
    warnings = [leave_record(report) for _ in range(int(sys.argv[2]))]
    print([w for w in warnings if w])
""")
RECORDS = 25


def test_four_learner_processes_write_at_once_and_every_record_reads_back(folder):
    """Four processes, one namespace each, leave 25 records each in the same moment: 100
    files, none lost or torn, each filed under its own learner."""
    start = time.time() + 4  # after the four interpreters have imported the kit
    processes = [subprocess.Popen(
        [sys.executable, "-c", WRITER, str(start), str(RECORDS)], cwd=REPO_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "KIT_NAMESPACE": f"learner{n}", records.RESULTS_ENV: str(folder)})
        for n in range(1, 5)]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [p.returncode for p in processes] == [0] * 4, outputs
    assert [out.strip() for out, _ in outputs] == ["[]"] * 4  # no warning in any process
    report = read_class_report(folder)
    assert report.skipped == []
    assert report.learners() == [f"learner{n}" for n in range(1, 5)]
    assert {n: len(report.attempts_of(n)) for n in report.learners()} == {
        f"learner{n}": RECORDS for n in range(1, 5)}
    assert len(list(folder.iterdir())) == 4 * RECORDS  # no temporary file left
    first = report.attempts_of("learner1")[0]
    assert first.statuses["dep-cache"] == "fail" and first.engine == "none"
