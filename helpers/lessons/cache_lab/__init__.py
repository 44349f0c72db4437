"""The build-cache lab (notebook 04): what a rebuild costs, for three Dockerfiles and four edits.

Three *variants* build the same server image:

* ``wrong-order`` -- ``COPY . .`` before ``RUN go mod download``, classic builder (the
  counter-example ``exercises/solutions/Dockerfile.wrong-order``);
* ``reference`` -- the reference order (``go.mod``/``go.sum`` first), classic builder;
* ``cache-mounts`` -- the reference order with BuildKit cache mounts for Go's module and build
  caches (``Dockerfile.cache-mounts``).

Each goes through four *scenarios*, in this order, in one temporary copy of the build context
(the learner's files are never touched):

1. ``cold`` -- ``nocache=True`` after making the cache cold. For the classic builder that is
   all it takes (Go's build cache only lives inside layers). For BuildKit the cache mounts
   outlive ``--no-cache``, so they are emptied first with
   ``docker builder prune -f --filter type=exec.cachemount``: **this empties the cache mounts
   of every build on the engine**, not only the lab's.
2. ``no-change`` -- the same build again.
3. ``code-edit`` -- after appending a unique comment line to the first non-test ``.go`` file.
4. ``go.mod-edit`` -- after appending a unique ``// comment`` line to ``go.mod``.

The lab, by concern:

- :mod:`~helpers.lessons.cache_lab.model`: the variants, the scenarios, one measured build.
- :mod:`~helpers.lessons.cache_lab.steps`: the counting rule (which steps count, cached or run).
- :mod:`~helpers.lessons.cache_lab.context`: the temporary context and its edits.
- :mod:`~helpers.lessons.cache_lab.runs`: the builds, and the notebook's run of the matrix.
- :mod:`~helpers.lessons.cache_lab.tables`: tables, ratios, timelines, sentences, self-check.

The names below are what the notebook, the benchmark and the tests use
(``from helpers.lessons import cache_lab``). Importing this package does nothing but define
names.
"""

from .context import edit_go_mod, edit_go_source, prepare_context
from .model import SCENARIOS, VARIANTS, ScenarioResult, Variant
from .runs import empty_cache_mounts, notebook_matrix, run_matrix, run_variant
from .steps import count_steps, counted_steps, rerun_steps, step_name, step_state
from .tables import (
    MIN_GO_BUILD_SPEEDUP,
    MIN_SPEEDUP_OVER_REFERENCE,
    explain,
    go_build_speedup,
    key_lines,
    matrix_frame,
    ratios,
    self_check,
    speedup_over_reference,
    timelines,
)

__all__ = ["MIN_GO_BUILD_SPEEDUP", "MIN_SPEEDUP_OVER_REFERENCE", "SCENARIOS", "VARIANTS",
           "ScenarioResult", "Variant", "count_steps", "counted_steps", "edit_go_mod",
           "edit_go_source", "empty_cache_mounts", "explain", "go_build_speedup", "key_lines",
           "matrix_frame", "notebook_matrix", "prepare_context", "ratios", "rerun_steps",
           "run_matrix", "run_variant", "self_check", "speedup_over_reference", "step_name",
           "step_state", "timelines"]
