"""The grading layer: evidence about the learner's image, one check per requirement, diagnoses.

- :mod:`~helpers.grading.evidence`: every fact, measured without raising (:class:`Facts`).
- :mod:`~helpers.grading.checks`: one check per requirement, :func:`run_checks`.
- :mod:`~helpers.grading.mistakes`: the classic mistakes that explain a failure.
- :mod:`~helpers.grading.report`: the report as JSON, a table and text (pandas only).

Imported by module (``from helpers.grading.checks import run_checks``), not re-exported here,
so a command loads only what it uses.
"""
