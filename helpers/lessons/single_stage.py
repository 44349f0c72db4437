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
#: The one file the image needs at run time...
SERVER_PATH = "/app/server"
#: ...is at most this share of the image's bytes ("only a small part of it").
SERVER_SHARE = 0.1


def self_check(built: BuildResult | None, summary: ImageSummary | None,
               breakdown: ImageBreakdown | None, health: HealthReport | None) -> pd.DataFrame:
    """The claims of notebook 01, one row each: columns ``claim``, ``measured``, ``status``,
    ``note``.

    ``status`` is ``pass`` only when the measurement behind the claim exists and holds. A
    build that failed is a ``fail`` of "the original image builds"; the claims about the
    image it would have made are then ``skip`` with the reason in ``note`` (never a pass).
    A missing measurement of a built image (the size, the files, the container's answer:
    each was attempted and failed) is a ``fail``. No claim depends on how fast anything ran.
    """
    files = breakdown.files if breakdown is not None else None
    server_bytes = (int(files.set_index("path").size_bytes.get(SERVER_PATH, 0))
                    if files is not None else None)
    small_part = bool(files is not None and SERVER_PATH in set(files.path) and summary
                      and server_bytes <= SERVER_SHARE * summary.size_mb * MB)
    rows = [
        ("the original image builds", f"{len(built.steps)} steps" if built else "-",
         bool(built)),
        (f"it is bigger than {BIG_IMAGE_MB} MB",
         f"{summary.size_mb:.0f} MB" if summary else "-",
         bool(summary and summary.size_mb > BIG_IMAGE_MB)),
        (f"{SERVER_PATH} is only a small part of it (\u2264 {SERVER_SHARE:.0%})",
         f"{server_bytes / MB:.1f} MB" if server_bytes is not None else "-", small_part),
        ("it answers /health", health.status_code if health else "-",
         bool(health and health.healthy)),
    ]
    frame = []
    for index, (claim, measured, passed) in enumerate(rows):
        if index and not built:
            frame.append({"claim": claim, "measured": "-", "status": "skip",
                          "note": "not measured: the original image did not build"})
        else:
            frame.append({"claim": claim, "measured": measured,
                          "status": "pass" if passed else "fail", "note": ""})
    return pd.DataFrame(frame, columns=["claim", "measured", "status", "note"])
