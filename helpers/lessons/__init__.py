"""One module per notebook lesson that needs more than ``Course``: its runs, tables and
self-check claims, built here so the notebook only displays them.
"""
