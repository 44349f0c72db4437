"""restore_starter, show_dockerfile and show_solution as a learner calls them: in a notebook
(Course) and in a terminal (``python -m helpers exercise restore``, ``reset``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.course import Course
from helpers.grading.checks import run_static_checks
from tests.ports import closed_port
from tests.unit.fakes import FakeClient

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def exercise(tmp_path, monkeypatch):
    """A copy of the exercise and the pristine starter that restore_starter works on."""
    root = tmp_path / "kit"
    shutil.copytree(REPO / "exercises", root / "exercises")
    monkeypatch.setattr("helpers.learner.restore.EXERCISE_DIR",
                        root / "exercises" / "multistage-go")
    monkeypatch.setattr("helpers.learner.restore.PRISTINE_DIR", root / "exercises" / "pristine")
    return root


def test_course_restores_the_starter_and_says_where_the_backup_is(exercise, learner_out,
                                                                  capsys):
    mine = exercise / "exercises" / "multistage-go" / "Dockerfile.multistage"
    mine.write_text("FROM scratch\n")
    Course(FakeClient()).restore_starter()
    said = capsys.readouterr().out
    assert "Restored the starter" in said and str(learner_out) in said
    assert mine.read_text() == (REPO / "exercises" / "pristine" /
                                "Dockerfile.multistage").read_text()
    backups = list((learner_out / "learners" / "alice" / "backups").iterdir())
    assert [b.read_text() for b in backups] == ["FROM scratch\n"]


def test_show_dockerfile_marks_the_lines_of_the_last_check(exercise, capsys):
    kit = Course(FakeClient())
    context = exercise / "exercises" / "multistage-go"
    kit.show_dockerfile("Dockerfile.multistage", context)
    assert ">>" not in capsys.readouterr().out  # not checked yet: nothing marked
    kit._present(run_static_checks(context, "Dockerfile.multistage"), frontend="text")
    capsys.readouterr()
    kit.show_dockerfile("Dockerfile.multistage", context)
    shown = capsys.readouterr().out
    assert ">>14 | COPY . ." in shown and "dep-cache:" in shown


def test_show_solution_quotes_the_reference_for_one_check(capsys):
    Course(FakeClient()).show_solution("dep-cache")
    shown = capsys.readouterr().out
    assert "RUN go mod download" in shown and "FROM scratch" not in shown


def kit_command(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MULTISTAGE_KIT_ROOT": str(root), "KIT_NAMESPACE": "bob",
           "DOCKER_HOST": f"tcp://127.0.0.1:{closed_port()}"}
    return subprocess.run([sys.executable, "-m", "helpers", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_cli_restore_keeps_a_backup_and_reset_forgets_it(exercise):
    mine = exercise / "exercises" / "multistage-go" / "Dockerfile.multistage"
    mine.write_text("broken\n")
    done = kit_command(exercise, "exercise", "restore")
    assert done.returncode == 0, done.stderr
    assert "Restored the starter" in done.stdout
    backups = exercise / "out" / "learners" / "bob" / "backups"
    assert [p.read_text() for p in backups.iterdir()] == ["broken\n"]
    again = kit_command(exercise, "exercise", "restore")
    assert "already is the starter" in again.stdout
    reset = kit_command(exercise, "reset")  # no engine: the learner's state still goes
    assert "removed this learner's hints and backups" in reset.stdout
    assert not (exercise / "out" / "learners" / "bob").exists()
    assert "Traceback" not in reset.stderr


def test_a_pass_without_the_original_built_compares_with_the_recorded_original():
    """A learner who skipped notebook 01 has no original on the engine: the achievement
    compares with the recorded run's original, and says it is recorded."""
    from helpers import recorded
    from helpers.grading.report import CheckReport

    kit = Course(FakeClient())
    assert not kit.image_exists("exercise2-original")
    won = kit._achievement(CheckReport(results=[], diagnoses=[], size_bytes=5_071_889))
    original = recorded.load().summary("original", "exercise2-original").size_bytes
    assert won is not None and won.before_bytes == original
    assert "recorded run" in won.before_label
