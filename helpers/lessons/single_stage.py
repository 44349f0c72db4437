"""Notebook 01, the single-stage image: its closing self-check, decided here from what was measured.

The notebook builds the original Dockerfile through :class:`~helpers.course.Course` and passes
what came back (each ``None`` when that step failed or could not run) to :func:`self_check`,
so the cell only displays the table.
"""

from __future__ import annotations

import pandas as pd

from ..build import BuildResult
from ..config import MB
from ..engine.containers import HealthReport
from ..image import ImageBreakdown, ImageSummary

#: The image must be bigger than this (MB) for the lesson's point to hold.
BIG_IMAGE_MB = 300
#: The one file the image needs at run time.
SERVER_PATH = "/app/server"


def self_check(built: BuildResult | None, summary: ImageSummary | None,
               breakdown: ImageBreakdown | None, health: HealthReport | None) -> pd.DataFrame:
    """The claims of notebook 01, one row each: columns ``claim``, ``measured``, ``status``.

    ``status`` is ``pass`` only when the measurement behind the claim exists and holds, and
    ``fail`` otherwise (a missing measurement is a fail: nothing here passes unmeasured).
    """
    files = breakdown.files if breakdown is not None else None
    server_mb = (files.set_index("path").size_bytes.get(SERVER_PATH, 0) / MB
                 if breakdown else None)
    rows = [
        ("the original image builds", f"{len(built.steps)} steps" if built else "-",
         bool(built)),
        (f"it is bigger than {BIG_IMAGE_MB} MB",
         f"{summary.size_mb:.0f} MB" if summary else "-",
         bool(summary and summary.size_mb > BIG_IMAGE_MB)),
        (f"{SERVER_PATH} is only a small part of it",
         f"{server_mb:.1f} MB" if server_mb is not None else "-",
         files is not None and SERVER_PATH in set(files.path)),
        ("it answers /health", health.status_code if health else "-",
         bool(health and health.healthy)),
    ]
    return pd.DataFrame([{"claim": claim, "measured": measured,
                          "status": "pass" if passed else "fail"}
                         for claim, measured, passed in rows])
