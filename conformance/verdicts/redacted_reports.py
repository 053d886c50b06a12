"""Redacting pytest's own test reports, so that no output made from them holds a secret.

Everything pytest prints or writes about a test — the failure's traceback
(``--tb=long`` frames, assertion diffs, hypothesis' notes), captured output,
skip reasons, user properties that JUnit writes — comes from its
``TestReport``; the plugin passes each report through :func:`redact_report`
as it is made, before any reporter (terminal, JUnit, this project's JSON and
HTML) sees it. pytest's repr objects are dataclasses of strings and lists of
strings, which are walked and rewritten in place.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from conformance.redaction import redact

MAX_DEPTH = 12


def redact_report(report: pytest.TestReport) -> None:
    longrepr = report.longrepr
    if isinstance(longrepr, str):
        report.longrepr = redact(longrepr)
    elif isinstance(longrepr, tuple) and len(longrepr) == 3:
        report.longrepr = (longrepr[0], longrepr[1], redact(str(longrepr[2])))
    elif longrepr is not None:
        _walk(longrepr, 0)
    report.sections = [(title, redact(content)) for title, content in report.sections]
    report.user_properties = [
        (name, redact(value) if isinstance(value, str) else value) for name, value in report.user_properties
    ]
    if isinstance(getattr(report, "wasxfail", None), str):
        report.wasxfail = redact(report.wasxfail)


def _walk(value: Any, depth: int) -> Any:
    """``value`` with its strings redacted; dataclass instances and lists are changed in place."""
    if depth > MAX_DEPTH:
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        value[:] = [_walk(item, depth + 1) for item in value]
        return value
    if isinstance(value, tuple):
        return tuple(_walk(item, depth + 1) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            current = getattr(value, field.name, None)
            changed = _walk(current, depth + 1)
            if changed is not current:
                object.__setattr__(value, field.name, changed)
        return value
    return value
