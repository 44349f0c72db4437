"""What the learner sees: widgets, charts (data in, Figure out), display, terminal progress.

Imported by module, never re-exported here: matplotlib and ipywidgets load only when a
notebook or command draws something.
"""
