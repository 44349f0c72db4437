"""Notebook 03, layers and what they cost: its closing self-check, decided here from what was
measured.

The notebook passes the multi-stage image's file breakdown and its no-change rebuild (each
``None`` when it failed or could not run) to :func:`self_check`, so the cell only displays it.
"""

from __future__ import annotations

import pandas as pd

from ..build import BuildResult
from ..image import ImageBreakdown

#: What the reference multi-stage image holds: the server binary and the CA bundle.
EXPECTED_FILES = 2
REBUILD_CLAIM = "a no-change rebuild reuses every step that can be cached"


def self_check(small: ImageBreakdown | None, rebuilt: BuildResult | None) -> pd.DataFrame:
    """The claims of notebook 03, one row each: columns ``claim``, ``measured``, ``status``.

    ``status`` is ``pass`` only when the measurement exists and holds, else ``fail``. The
    rebuild claim is ``skip`` (with a ``note`` column saying why) for a recorded run, whose
    replayed build was not rebuilt here, and for a build without an engine, which has no
    layer cache at all.
    """
    rows = [
        {"claim": f"the multi-stage image holds exactly {EXPECTED_FILES} files",
         "measured": len(small.files) if small else "-",
         "status": _verdict(small is not None and len(small.files) == EXPECTED_FILES)},
        {"claim": "its efficiency is 100 %",
         "measured": f"{small.efficiency:.1%}" if small else "-",
         "status": _verdict(bool(small and small.efficiency == 1.0))},
    ]
    if rebuilt and rebuilt.recorded:
        rows.append({"claim": REBUILD_CLAIM, "measured": "-", "status": "skip",
                     "note": "recorded run: no rebuild was measured here"})
    elif rebuilt and rebuilt.backend == "engine-less":
        rows.append({"claim": REBUILD_CLAIM, "measured": "-", "status": "skip",
                     "note": "built here without an engine: there is no layer cache to "
                             f"reuse (Go's own build cache made it {rebuilt.duration_s:.1f} s)"})
    else:
        rows.append({"claim": REBUILD_CLAIM,
                     "measured": f"{rebuilt.cached_steps}/{len(rebuilt.steps)}" if rebuilt else "-",
                     "status": _verdict(bool(rebuilt) and _all_cacheable_cached(rebuilt))})
    return pd.DataFrame(rows)


def _all_cacheable_cached(build: BuildResult) -> bool:
    """Every step but the ``FROM`` lines (which name a base image, never cached) was reused."""
    return all(step.cached for step in build.steps
               if not step.instruction.upper().startswith("FROM"))


def _verdict(passed: bool) -> str:
    return "pass" if passed else "fail"
