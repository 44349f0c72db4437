"""Back to the starter after a broken edit, without losing the learner's file.

Interactive labs offer "reset to a known state" (dockersamples/buildme's ``task goto:N``);
here :func:`restore_starter` copies the untouched starter from ``exercises/pristine/`` over
the learner's ``Dockerfile.multistage``. The learner's version is first copied to a
timestamped backup under ``out/learners/<namespace>/backups/``; nothing is ever overwritten
without one, and a file that already equals the starter is left alone.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import EXERCISE_DIR, REPO_ROOT
from ..errors import KitError
from .state import learner_dir

#: The untouched copies of the files learners edit.
PRISTINE_DIR = REPO_ROOT / "exercises" / "pristine"
STARTER_NAME = "Dockerfile.multistage"


@dataclass
class Restored:
    """What :func:`restore_starter` did.

    Attributes:
        target: The learner's file.
        changed: True when the file was replaced (False: it already was the starter).
        backup: Where the learner's previous version was kept, or None.
    """

    target: Path
    changed: bool
    backup: Path | None = None

    def message(self) -> str:
        if not self.changed:
            return f"{self.target.name} already is the starter: nothing to restore."
        kept = f" Your version is kept in {self.backup}." if self.backup else ""
        return f"Restored the starter {self.target.name}.{kept}"


def backup_path(target: Path, folder: Path | None = None, now: float | None = None) -> Path:
    """A new, unused backup name: ``<name>.<YYYYmmdd-HHMMSS>[-N]`` in ``folder``."""
    folder = folder or learner_dir() / "backups"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    candidate, n = folder / f"{target.name}.{stamp}", 1
    while candidate.exists():
        n += 1
        candidate = folder / f"{target.name}.{stamp}-{n}"
    return candidate


def restore_starter(target: Path | None = None, pristine: Path | None = None,
                    backups: Path | None = None) -> Restored:
    """Put the shipped starter back in place of the learner's ``Dockerfile.multistage``.

    Args:
        target: The learner's file (default ``exercises/multistage-go/Dockerfile.multistage``).
        pristine: The untouched starter (default ``exercises/pristine/Dockerfile.multistage``).
        backups: Folder for the backup (default ``out/learners/<namespace>/backups``).

    Raises:
        KitError: The untouched starter is missing, or a file could not be written (the
            learner's file is then unchanged).
    """
    target = target or EXERCISE_DIR / STARTER_NAME
    pristine = pristine or PRISTINE_DIR / target.name
    if not pristine.is_file():
        raise KitError(f"The untouched starter {pristine} is missing.",
                       "Get it back from the course repository (git checkout -- exercises/).")
    starter = pristine.read_bytes()
    if target.is_file() and target.read_bytes() == starter:
        return Restored(target, changed=False)
    backup = None
    try:
        if target.exists():
            backup = backup_path(target, backups)
            backup.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(target, backup)
        tmp = target.with_name(f".{target.name}.restoring")
        tmp.write_bytes(starter)
        tmp.replace(target)
    except OSError as exc:
        raise KitError(f"Could not restore {target.name}: {exc.strerror or exc}.",
                       "Check that the exercise folder is writable; your file is unchanged."
                       ) from None
    return Restored(target, changed=True, backup=backup)
