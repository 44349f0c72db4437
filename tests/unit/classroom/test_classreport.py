"""helpers.classroom.classreport: the folder read as one report, and what it skips.

A small class is written with the kit's own writer at chosen times (T0 + minutes): ana fails,
passes after 4 min 10 s, then breaks ``runs``; ben passes on his first attempt; carla has only
the real starter's static checks. Every figure the instructor sees (latest status per check,
attempts, time to first full pass, pass rates, the gradebook) is computed from those and
compared with what the records say. Corrupt and foreign files are put beside them.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest

from helpers.classroom import classreport, records
from helpers.errors import KitError
from helpers.grading.checks import ADVICE, REQUIRED
from tests.unit.classroom.conftest import chosen_report, write_at


@pytest.fixture
def room(tmp_path, starter_report):
    """The three learners' records (see the module docstring); the folder."""
    folder = tmp_path / "results"
    folder.mkdir()
    write_at(folder, "ana", chosen_report(failing=("size", "dep-cache")), 0)
    write_at(folder, "ana", chosen_report(), 4 + 10 / 60)
    write_at(folder, "ana", chosen_report(failing=("runs",), advice=("non-root",)), 30)
    write_at(folder, "ben", chosen_report(), 2)
    write_at(folder, "carla", starter_report, 1)
    write_at(folder, "carla", starter_report, 5)
    return folder


def test_latest_status_attempts_and_time_to_first_full_pass(room, starter_report):
    report = classreport.read_class_report(room)
    assert report.learners() == ["ana", "ben", "carla"]
    assert [len(report.attempts_of(n)) for n in report.learners()] == [3, 1, 2]
    ana = report.latest("ana")
    assert ana["runs"] == "fail" and ana["size"] == "pass"
    # ana's latest attempt ran no "lint": its status comes from the attempt before
    assert ana["non-root"] == "pass" and ana["lint"] == "pass"
    assert report.first_full_pass("ana") == timedelta(minutes=4, seconds=10)
    assert report.first_full_pass("ben") == timedelta(0)
    assert report.first_full_pass("carla") is None  # static checks skip: never a pass
    carla = {r.id: r.status for r in starter_report.results}
    assert report.latest("carla") == carla

    table = report.table()
    assert list(table.index) == ["ana", "ben", "carla"]
    assert list(table.columns[:len(REQUIRED)]) == list(REQUIRED)
    assert table.loc["ana", "passed"] == f"{len(REQUIRED) - 1}/{len(REQUIRED)}"
    assert table.loc["ben", "passed"] == f"{len(REQUIRED)}/{len(REQUIRED)}"
    assert list(table["attempts"]) == [3, 1, 2]
    assert list(table["first full pass"]) == ["4 min 10 s", "0 s", "not yet"]
    assert table.loc["carla", "dep-cache"] == carla["dep-cache"] == "fail"
    assert table.loc["ana", "latest (UTC)"] == "2026-12-01 09:30"
    assert list(report.table(advice=True).columns[len(REQUIRED):len(REQUIRED) + len(ADVICE)]
                ) == list(ADVICE)


def test_share_of_learners_passing_each_check(room, starter_report):
    rates = classreport.read_class_report(room).pass_rates().set_index("check")
    carla = {r.id: r.status for r in starter_report.results}
    for check in REQUIRED:
        passing = (check != "runs") + 1 + (carla[check] == "pass")  # ana, ben, carla
        assert rates.loc[check, "passing"] == passing, check
        assert rates.loc[check, "share"] == pytest.approx(passing / 3)
        assert bool(rates.loc[check, "required"]) is True
    assert bool(rates.loc["lint", "required"]) is False
    assert (rates["learners"] == 3).all()


def test_gradebook_has_one_row_per_learner_and_one_column_per_required_check(room, tmp_path):
    book = classreport.read_class_report(room).gradebook()
    assert list(book.columns) == ["learner", *REQUIRED, "passed", "total"]
    assert list(book["learner"]) == ["ana", "ben", "carla"]
    assert list(book["total"]) == [len(REQUIRED)] * 3
    assert list(book["passed"][:2]) == [len(REQUIRED) - 1, len(REQUIRED)]
    path = tmp_path / "grades.csv"
    book.to_csv(path, index=False)
    read = pd.read_csv(path)
    assert len(read) == 3 and read.loc[0, "runs"] == "fail"


def write_foreign_files(folder) -> dict[str, str]:
    """Files that are not records, each beside the real ones; name -> a word of the reason."""
    good = next(folder.iterdir())
    record = json.loads(good.read_text())
    (folder / "ana--20261201T100000000000Z--0badf00d.json").write_text(
        good.read_text()[:40])  # cut short: corrupt
    (folder / "notes.txt").write_text("bring coffee")
    (folder / "dave--20261201T100000000000Z--00000001.json").write_text(
        json.dumps({**record, "schema": "otter-grader/1", "namespace": "dave"}))
    (folder / "eve--20261201T100000000000Z--00000002.json").write_text(
        json.dumps({**record, "namespace": "ana"}))  # claims to be ana
    (folder / "fay--20261201T100000000000Z--00000003.json").write_text(
        json.dumps({**record, "namespace": "fay", "checks": [{"id": "size", "status": "ok",
                                                              "required": True}]}))
    (folder / "gus--20261201T100000000000Z--00000004.json").write_text("[1, 2]")
    (folder / "hal--20261201T100000000000Z--00000005.json").mkdir()
    (folder / ".ivy--20261201T100000000000Z--00000006.json.tmp").write_text("{")  # in progress
    return {"ana--20261201T100000000000Z--0badf00d.json": "corrupt JSON",
            "notes.txt": "foreign file: not named",
            "dave--20261201T100000000000Z--00000001.json": "schema 'otter-grader/1'",
            "eve--20261201T100000000000Z--00000002.json": "does not match",
            "fay--20261201T100000000000Z--00000003.json": "malformed record",
            "gus--20261201T100000000000Z--00000004.json": "schema 'list'",
            "hal--20261201T100000000000Z--00000005.json": "not a file"}


def test_corrupt_and_foreign_files_are_reported_and_skipped(room):
    expected = write_foreign_files(room)
    report = classreport.read_class_report(room)
    reasons = {s.file: s.reason for s in report.skipped}
    assert set(reasons) == set(expected)  # the temporary file is not read, nor reported
    for name, word in expected.items():
        assert word in reasons[name], (name, reasons[name])
    assert report.learners() == ["ana", "ben", "carla"]  # eve's claim to be ana is not read
    assert len(report.attempts_of("ana")) == 3
    text = classreport.class_report_text(report)
    assert f"skipped {len(expected)} file(s):" in text
    assert all(f"  {name}: " in text for name in expected)


def test_an_empty_folder_says_no_records_yet(tmp_path):
    report = classreport.read_class_report(tmp_path)
    assert report.learners() == [] and report.gradebook().empty
    assert classreport.NO_RECORDS in classreport.class_report_text(report)
    assert report.pass_rates().empty


def test_no_folder_is_a_kit_error_saying_how_to_set_it(monkeypatch, tmp_path):
    monkeypatch.delenv(records.RESULTS_ENV, raising=False)
    with pytest.raises(KitError) as unset:
        classreport.read_class_report()
    assert "KIT_RESULTS_DIR is not set" in unset.value.message
    assert "KIT_RESULTS_DIR=" in unset.value.hint
    with pytest.raises(KitError, match="does not exist"):
        classreport.read_class_report(tmp_path / "nope")
    monkeypatch.setenv(records.RESULTS_ENV, str(tmp_path))
    assert classreport.read_class_report().folder == tmp_path


def test_to_json_carries_every_learner_and_the_skipped_files(room):
    write_foreign_files(room)
    data = json.loads(json.dumps(classreport.read_class_report(room).to_json()))
    learners = {entry["namespace"]: entry for entry in data["learners"]}
    assert learners["ana"]["first_full_pass_seconds"] == 250
    assert learners["ana"]["passed"] is False and learners["ben"]["passed"] is True
    assert learners["carla"]["first_full_pass_seconds"] is None
    assert learners["ana"]["checks"]["runs"] == "fail"
    assert len(data["skipped"]) == 7 and data["folder"] == str(room)


@pytest.mark.parametrize("seconds, text", [(0, "0 s"), (59, "59 s"), (250, "4 min 10 s"),
                                           (3720, "1 h 02 min")])
def test_duration_text(seconds, text):
    assert classreport.duration_text(timedelta(seconds=seconds)) == text
