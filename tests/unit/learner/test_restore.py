import subprocess

import pytest

from helpers.config import EXERCISE_DIR, REPO_ROOT
from helpers.errors import KitError
from helpers.learner.restore import PRISTINE_DIR, backup_path, restore_starter


@pytest.fixture
def files(tmp_path):
    pristine = tmp_path / "pristine" / "Dockerfile.multistage"
    pristine.parent.mkdir()
    pristine.write_text("FROM golang:1.22 AS build\n")
    target = tmp_path / "exercise" / "Dockerfile.multistage"
    target.parent.mkdir()
    return target, pristine, tmp_path / "backups"


def test_broken_file_is_backed_up_then_replaced_by_the_starter(files):
    target, pristine, backups = files
    target.write_text("FROM scratch\nCOPY --from=nowhere / /\n")
    restored = restore_starter(target, pristine, backups)
    assert restored.changed and target.read_text() == pristine.read_text()
    assert restored.backup.parent == backups
    assert restored.backup.read_text() == "FROM scratch\nCOPY --from=nowhere / /\n"
    assert "Your version is kept in" in restored.message()


def test_a_file_that_is_the_starter_is_left_alone_and_no_backup_made(files):
    target, pristine, backups = files
    target.write_text(pristine.read_text())
    restored = restore_starter(target, pristine, backups)
    assert not restored.changed and restored.backup is None and not backups.exists()
    assert "already is the starter" in restored.message()


def test_a_deleted_file_is_restored_without_a_backup(files):
    target, pristine, backups = files
    restored = restore_starter(target, pristine, backups)
    assert restored.changed and restored.backup is None and target.is_file()


def test_two_restores_in_one_second_never_overwrite_a_backup(files):
    target, pristine, backups = files
    for text in ("first edit\n", "second edit\n"):
        target.write_text(text)
        restore_starter(target, pristine, backups)
    kept = sorted(p.read_text() for p in backups.iterdir())
    assert kept == ["first edit\n", "second edit\n"]


def test_backup_names_carry_the_time(tmp_path):
    target = tmp_path / "Dockerfile.multistage"
    name = backup_path(target, tmp_path, now=0).name
    assert name.startswith("Dockerfile.multistage.1970") or name.startswith(
        "Dockerfile.multistage.1969")


def test_missing_pristine_copy_is_a_kit_error_and_the_file_is_untouched(files):
    target, pristine, backups = files
    target.write_text("mine\n")
    pristine.unlink()
    with pytest.raises(KitError, match="untouched starter"):
        restore_starter(target, pristine, backups)
    assert target.read_text() == "mine\n"


def test_the_pristine_starter_is_the_shipped_starter():
    """The copy restore_starter puts back is the starter as committed (not a drifted one)."""
    shipped = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "show",
         "HEAD:exercises/multistage-go/Dockerfile.multistage"],
        capture_output=True, text=True)
    if shipped.returncode != 0:
        pytest.skip("not a git checkout")
    assert (PRISTINE_DIR / "Dockerfile.multistage").read_text() == shipped.stdout
    assert (EXERCISE_DIR / "Dockerfile.multistage").exists()
