"""One module per notebook lesson that needs more than ``Course``: its runs, tables and
self-check claims, built here so the notebook only displays them.

- :mod:`~helpers.lessons.setup_check`: notebook 00, the environment report.
- :mod:`~helpers.lessons.single_stage`: notebook 01's self-check.
- :mod:`~helpers.lessons.layers_and_cache`: notebook 03's self-check.
- :mod:`~helpers.lessons.cache_lab` (a package): notebook 04, the build-cache lab.
- :mod:`~helpers.lessons.goflags`: notebook 05, the build flags (compiled here, no Docker).

Lessons sit below the UI: what is drawn (progress widgets, error boxes, byte wording) is
passed in by the caller, :class:`~helpers.course.Course` or the notebook cell.
"""
