"""Every way a check runs leaves its record, and ``python -m helpers class-report`` reads them.

The check cell and the "Check my work" button (``Course``) and ``python -m helpers check``
each leave one record when ``KIT_RESULTS_DIR`` is set, and only a one-line warning when the
folder cannot take it (the check's own output and exit code unchanged). Here no engine
answers and no Go toolchain is used, so the checks are the real static ones; the engine
path is proven in tests/classroom/test_namespaces.py. ``class-report`` runs as a real
process on records the kit's writer made.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from helpers.classroom import records
from helpers.classroom.classreport import read_class_report
from helpers.config import EXERCISE_DIR, REPO_ROOT, SOLUTIONS_DIR
from helpers.course import Course
from helpers.grading.checks import REQUIRED
from tests.ports import closed_port
from tests.unit.classroom.conftest import chosen_report, write_at

STARTER = EXERCISE_DIR / "Dockerfile.multistage"


@pytest.fixture
def results(tmp_path, monkeypatch):
    """KIT_RESULTS_DIR at an empty folder, learner ``dana``, no engine and no Go."""
    from helpers.build.engineless import toolchain

    folder = tmp_path / "results"
    folder.mkdir()
    monkeypatch.setenv(records.RESULTS_ENV, str(folder))
    monkeypatch.setenv("KIT_NAMESPACE", "dana")
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{closed_port()}")
    monkeypatch.setattr(toolchain, "go_toolchain", lambda: None)
    monkeypatch.setattr("helpers.learner.state.OUT_DIR", tmp_path / "out")  # hints
    return folder


def test_the_check_cell_and_the_button_each_leave_a_record(results, capsys):
    kit = Course(None)
    report = kit.check_my_work("Dockerfile.multistage")
    button = kit.check_button("Dockerfile.multistage")  # text mode outside a kernel
    button.click()
    capsys.readouterr()
    attempts = read_class_report(results).attempts_of("dana")
    assert len(attempts) == 2
    assert all(a.engine == "none" and a.engine_less for a in attempts)
    assert attempts[0].statuses == {r.id: r.status for r in report.results}
    assert attempts[1].statuses == {r.id: r.status for r in button.report.results}


def test_a_missing_folder_is_one_line_in_the_cell_and_the_check_still_shows(results,
                                                                          monkeypatch, capsys):
    monkeypatch.setenv(records.RESULTS_ENV, str(results / "gone"))
    report = Course(None).check_my_work("Dockerfile.multistage")
    shown = capsys.readouterr().out
    assert report is not None and "dep-cache" in shown  # the check itself is shown
    notes = [line for line in shown.splitlines() if line.startswith("[Not recorded]")]
    assert len(notes) == 1 and "does not exist" in notes[0]
    assert "Traceback" not in shown


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    from helpers import __main__ as cli

    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_check_leaves_a_record_and_warns_in_one_line_when_it_cannot(results, capsys,
                                                                       monkeypatch):
    args = ("check", "--context", str(EXERCISE_DIR), "--dockerfile", str(STARTER), "--json")
    code, out, err = run_cli(capsys, *args)
    printed = json.loads(out)
    (attempt,) = read_class_report(results).attempts_of("dana")
    assert attempt.statuses == {c["id"]: c["status"] for c in printed["checks"]}
    assert err == ""

    monkeypatch.setenv(records.RESULTS_ENV, str(results / "gone"))
    again, out, err = run_cli(capsys, *args)
    assert again == code and json.loads(out)["checks"] == printed["checks"]
    assert err.count("\n") == 1 and err.startswith("warning: your check was not recorded")
    assert "Traceback" not in err


def class_report(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "helpers", "class-report", *args],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=60,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def room(tmp_path):
    folder = tmp_path / "room"
    folder.mkdir()
    write_at(folder, "ana", chosen_report(failing=("size",)), 0)
    write_at(folder, "ana", chosen_report(), 3)
    write_at(folder, "ben", chosen_report(failing=("dep-cache", "runs"),
                                          dockerfile=str(STARTER)), 1)
    (folder / "README").write_text("not a record")
    return folder


def test_class_report_prints_the_table_the_shares_and_the_skipped_files(room, tmp_path):
    csv = tmp_path / "grades.csv"
    done = class_report("--results", str(room), "--csv", str(csv))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"class report of {room}: 2 learner(s), 3 check record(s)"
    header = next(line for line in lines if line.split()[:1] == ["learner"])
    assert header.split()[1:len(REQUIRED) + 1] == list(REQUIRED)
    ana = next(line for line in lines if line.split()[:1] == ["ana"])
    ben = next(line for line in lines if line.split()[:1] == ["ben"])
    assert ana.split()[1:len(REQUIRED) + 1] == ["pass"] * len(REQUIRED)
    assert "3 min 00 s" in ana and " 2 " in ana  # first full pass after 3 min, 2 attempts
    assert ben.split()[1:len(REQUIRED) + 1] == [
        "fail" if c in ("dep-cache", "runs") else "pass" for c in REQUIRED]
    assert "not yet" in ben
    assert any(line.split() == ["runs", "1/2", "(50%)"] for line in lines), done.stdout
    assert "  README: foreign file: not named <namespace>--<time>--<id>.json" in lines
    assert f"gradebook: {csv} (2 row(s))" in lines

    book = pd.read_csv(csv)
    assert list(book.columns) == ["learner", *REQUIRED, "passed", "total"]
    assert list(book["learner"]) == ["ana", "ben"]
    assert list(book["passed"]) == [len(REQUIRED), len(REQUIRED) - 2]


def test_class_report_json_and_the_folder_from_kit_results_dir(room):
    done = class_report("--json", env={records.RESULTS_ENV: str(room)})
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [entry["namespace"] for entry in data["learners"]] == ["ana", "ben"]
    assert data["learners"][0]["first_full_pass_seconds"] == 180
    assert data["skipped"] == [{"file": "README", "reason": "foreign file: not named "
                                                           "<namespace>--<time>--<id>.json"}]


def test_class_report_without_a_folder_is_two_lines_and_exit_1(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != records.RESULTS_ENV}
    done = subprocess.run([sys.executable, "-m", "helpers", "class-report"],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=60, env=env)
    assert done.returncode == 1
    assert done.stderr.startswith("error: KIT_RESULTS_DIR is not set")
    assert "hint: " in done.stderr and "Traceback" not in done.stderr
    missing = class_report("--results", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_the_reference_solution_file_is_what_a_record_quotes(room):
    """The record keeps the checked Dockerfile's text: the instructor sees what was graded."""
    text = (SOLUTIONS_DIR / "Dockerfile.multistage").read_text()
    quoted = [json.loads(p.read_text())["dockerfile"]["text"] for p in room.glob("ana--*")]
    assert quoted == [text, text]
