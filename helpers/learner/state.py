"""Per-learner state: a few small JSON files under ``out/learners/<namespace>/``.

One folder per ``KIT_NAMESPACE`` (``default`` without one), so learners sharing a machine
never see each other's hints or backups. Files are written atomically (write, then rename)
and read tolerantly: a missing or damaged file is an empty state, never an error in the
learner's cell. ``python -m helpers reset`` removes the folder (:func:`clear_learner_state`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from ..config import OUT_DIR, namespace_or_default


def learner_dir() -> Path:
    """This learner's folder (not created)."""
    return OUT_DIR / "learners" / namespace_or_default()


def read_state(path: Path) -> dict:
    """The JSON object in ``path``; ``{}`` when it is missing or not a JSON object."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def clear_learner_state(folder: Path | None = None) -> bool:
    """Remove this learner's folder (hints, backups); True if there was one."""
    folder = folder or learner_dir()
    if not folder.exists():
        return False
    shutil.rmtree(folder)
    return True
