"""The kill matrix: the harness run against every defect of the reference, and against the clean reference.

runs.py      one harness run in a subprocess, and a pool running two at a time
plan.py      which runs the matrix needs (full suite or the defect's requirements)
judge.py     pure verdicts on the JSON reports: caught, precise, clean
document.py  docs/kill-matrix.md from observed reports (``python -m tests.kill_matrix.document``)
"""
