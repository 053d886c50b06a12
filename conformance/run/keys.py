"""The run's keys in pytest's stashes: what the plugin, the report and the session share, in a room of its own.

(They lived in the plugin, which the report and the session then had to import back: a cycle.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    pass

report_key = pytest.StashKey["RequirementReport"]()
#: Whether this run handles SIGINT/SIGTERM itself (a conformance run, not the project's own tests).
signals_key = pytest.StashKey[bool]()
#: Set when the target went away mid-run (the report marks the rest not run, with its own exit code).
gone_key = pytest.StashKey["Gone"]()
session_key = pytest.StashKey["RunSession"]()
#: Per test: its requirement IDs and the notes it made (carried to its reports as ``report.conformance``).
item_key = pytest.StashKey[dict[str, Any]]()
#: Per test: the long representation of each phase's report as the plugin left it (see pytest_exception_interact).
shown_key = pytest.StashKey[dict[str, Any]]()
