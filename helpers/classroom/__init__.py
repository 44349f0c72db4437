"""The instructor's side of a classroom: what each learner's check leaves behind, read as one.

* :mod:`.records` — when ``KIT_RESULTS_DIR`` names a folder shared by the class, every check
  (notebook cell, "Check my work" button, ``python -m helpers check``) writes one JSON record
  there, atomically and under a name of its own; a folder that is missing, unwritable or full
  gives the learner a one-line warning, never a failed check;
* :mod:`.classreport` — every record in that folder as one report: the latest verdict per
  learner and check, attempts, time to the first full pass, the share of learners passing each
  check, a gradebook CSV (``python -m helpers class-report``, the instructor's notebook).

Nothing a learner calls lists or reads the folder: only the class report does. Depends on
:mod:`helpers.grading` (the report a record is made from) and :mod:`helpers.config`.
"""
