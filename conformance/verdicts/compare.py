"""Comparing two conformance reports: what a change (a pull request, a release) did to each requirement.

``heallog-conformance compare OLD.json NEW.json`` answers "is this PR making
conformance worse?" and "what changed since the last release?" from two JSON
reports (docs/report-schema.md), without running anything. :func:`compare` is
a pure function of the two documents; :mod:`conformance.render.comparison`
prints its result as text or as Markdown for a pull-request comment.

Each requirement's change falls in one group, in this order of importance:

- ``regressed``: the new verdict is worse in the sense of the gate: ``fail`` is
  worse than ``inconclusive``, which is worse than ``warn``, which is worse than
  anything else (``pass``, ``not run``, ``known``...). ``known -> fail`` (a
  baseline entry expired or was removed) is a regression too. MUSTs come first.
- ``fixed``: it failed (``fail``, ``inconclusive``, ``warn``, ``known``) and now
  passes (``pass``, or ``fixed``: a baseline entry no longer fails).
- ``no longer judged``: it was judged and now is ``not run``, ``blocked``,
  ``not applicable``, or ``inconclusive`` after a ``fail``: coverage was lost.
- ``changed``: any other change (``not run -> pass``, ``fail -> known``, a
  requirement only one report has).

Unchanged requirements are counted per verdict. A requirement missing from one
report (the catalogue grew or shrank between harness versions) is ``absent``
there, judged like ``not run``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.render import document as doc

ABSENT = "absent"
#: How bad a verdict is for the gate; a change to a higher number is a regression.
BADNESS = {"fail": 3, "inconclusive": 2, "warn": 1}
FAILING = ("fail", "inconclusive", "warn", "known")
PASSING = ("pass", "fixed")
UNJUDGED = ("not run", "blocked", "not applicable", ABSENT)
GROUPS = ("regressed", "fixed", "no longer judged", "changed")


class ReportError(ValueError):
    """A report cannot be read (one line for the user)."""


@dataclass(frozen=True)
class Change:
    """One requirement whose verdict differs between the two reports."""

    id: str
    level: str
    title: str
    old: str
    new: str
    group: str
    detail: str = ""  # the new report's reason or first failure, else "was: " the old one's

    @property
    def is_must(self) -> bool:
        return self.level == "MUST"


@dataclass(frozen=True)
class Comparison:
    old: Mapping[str, Any]  # {"target", "profile", "finished", "exit_status"} of each report, for the header
    new: Mapping[str, Any]
    changes: tuple[Change, ...] = ()
    unchanged: Mapping[str, int] = field(default_factory=dict)  # verdict -> requirements

    def group(self, name: str) -> list[Change]:
        return [change for change in self.changes if change.group == name]

    @property
    def regressed(self) -> bool:
        return any(change.group == "regressed" for change in self.changes)

    @property
    def exit_status(self) -> int:
        """1 when a requirement regressed, else 0 (the run's own exit codes: docs/options.md)."""
        return 1 if self.regressed else 0


def group_of(old: str, new: str) -> str:
    """The group of a change from verdict ``old`` to verdict ``new`` (they differ)."""
    if BADNESS.get(new, 0) > BADNESS.get(old, 0):
        return "regressed"
    if old in FAILING and new in PASSING:
        return "fixed"
    if (new in UNJUDGED or new == "inconclusive") and old not in UNJUDGED:
        return "no longer judged"
    return "changed"


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> Comparison:
    """The per-requirement changes from report ``old`` to report ``new`` (both report documents)."""
    old_rows = {row.id: row for row in doc.rows(old)}
    new_rows = {row.id: row for row in doc.rows(new)}
    ids = list(new_rows) + [rid for rid in old_rows if rid not in new_rows]
    changes: list[Change] = []
    unchanged: Counter[str] = Counter()
    for rid in ids:
        before, after = old_rows.get(rid), new_rows.get(rid)
        old_verdict = before.verdict if before else ABSENT
        new_verdict = after.verdict if after else ABSENT
        if old_verdict == new_verdict:
            unchanged[new_verdict] += 1
            continue
        row = after or before
        assert row is not None
        detail = (after.detail if after else "") or (f"was: {before.detail}" if before and before.detail else "")
        changes.append(
            Change(
                id=rid,
                level=row.level,
                title=row.title,
                old=old_verdict,
                new=new_verdict,
                group=group_of(old_verdict, new_verdict),
                detail=detail,
            )
        )
    order = {name: number for number, name in enumerate(GROUPS)}
    changes.sort(key=lambda c: (order[c.group], not c.is_must, -BADNESS.get(c.new, 0)))  # stable: report order
    counted = {verdict: unchanged[verdict] for verdict in doc.ordered_verdicts(list(unchanged))}
    return Comparison(old=_facts(old), new=_facts(new), changes=tuple(changes), unchanged=counted)


def _facts(document: Mapping[str, Any]) -> dict[str, Any]:
    target = document.get("target") if isinstance(document.get("target"), Mapping) else {}
    profile = document.get("profile") if isinstance(document.get("profile"), Mapping) else {}
    return {
        "base_url": target.get("base_url"),
        "profile": profile.get("name"),
        "finished": document.get("finished"),
        "exit_status": document.get("exit_status"),
    }


def load(path: str | Path) -> dict[str, Any]:
    """A report document from ``path``; anything that is not one is a :class:`ReportError` naming the file."""
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ReportError(f"{path}: cannot be read ({reason})") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ReportError(f"{path}: not JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("requirements"), dict):
        raise ReportError(
            f"{path}: not a conformance report (no 'requirements' object; written by --conformance-report)"
        )
    return document
