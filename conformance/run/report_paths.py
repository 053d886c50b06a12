"""Every path the run will write is checked before the run starts, not found unwritable after it.

The reports are written at the very end: an unwritable ``--conformance-report``
used to surface as a long traceback after minutes of traffic, and without
the verdict table. So the plugin asks :func:`first_problem` in
``pytest_configure``, before any request, and stops with one line (exit code 4).
The check does what the writers will do: they create missing parent folders,
so the nearest existing ancestor must be a folder this process can create
files in; an existing file must open for appending (nothing is written).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be written (created with its parent folders, or replaced), or ``None``."""
    try:
        return _problem(Path(path).expanduser())
    except OSError as exc:  # a stat refused on the way (a folder without search permission)
        return f"cannot look there ({exc.strerror or exc})"


def _problem(target: Path) -> str | None:
    if target.is_dir():
        return "it is a directory"
    if target.exists():
        try:
            with open(target, "ab"):
                pass
        except OSError as exc:
            return f"cannot open it for writing ({exc.strerror or exc})"
        return None
    ancestor = target.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{ancestor} is not a directory"
    try:
        with tempfile.TemporaryFile(dir=ancestor):
            pass
    except OSError as exc:
        return f"cannot create files in {ancestor} ({exc.strerror or exc})"
    return None


def written_paths(options: Any, junitxml: str | None, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """option -> path of every file the run will write."""
    from conformance.render.files import summary_target

    paths = {
        "--conformance-report": options.conformance_report,
        "--conformance-html": options.conformance_html,
        "--conformance-har": options.conformance_har,
        "--junitxml": junitxml,
    }
    summary = summary_target(options.conformance_summary, environ)
    if summary is not None:
        paths["--conformance-summary" if options.conformance_summary else "$GITHUB_STEP_SUMMARY"] = str(summary[0])
    if options.baseline_update and options.baseline:
        paths["--baseline (--baseline-update)"] = options.baseline
    return {option: str(path) for option, path in paths.items() if path}


def first_problem(options: Any, junitxml: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """One line naming the first path the run could not write, or ``None``."""
    for option, path in written_paths(options, junitxml, environ).items():
        why = problem(path)
        if why is not None:
            return f"{option} {path}: cannot write the report there: {why}"
    return None
