"""The learner's side of the exercise: their progress, their hints, their way back.

* :mod:`.state` — a small JSON file per learner under ``out/learners/<namespace>/``, cleared
  by ``python -m helpers reset``;
* :mod:`.restore` — put the shipped starter back, keeping the learner's file as a backup;
* :mod:`.hints` — hints that escalate per check: where, then the fix, then (on request) the
  reference's lines for that part;
* :mod:`.achievement` — what a passing learner achieved, and what to try next.

Depends on :mod:`helpers.grading` (reports, the lines a check concerns) and
:mod:`helpers.config`; the notebook widgets in :mod:`helpers.ui` display what it returns.
"""
