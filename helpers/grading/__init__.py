"""The grading layer: evidence about the learner's image, one check per requirement, diagnoses.

Imported by module (``from helpers.grading.checks import run_checks``), not re-exported here,
so a command loads only what it uses.
"""
