"""The report as a Markdown job summary (``render_summary(document) -> str``), for GITHUB_STEP_SUMMARY.

GitHub renders the summary of a step as GitHub-flavoured Markdown, at most
1 MiB of it; the summary keeps well under that (``MAX_FAILURES_SHOWN`` per
requirement, messages as the report caps them). Verdict counts and the
requirement table come first, each failing requirement's messages follow
inside ``<details>``, so the page stays short. Text outside code blocks is
HTML-escaped (a SUT's answer may contain markup) and everything is masked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape
from typing import Any

from conformance.outcomes import Verdict
from conformance.render import document as doc
from conformance.render.masking import mask_text

MAX_FAILURES_SHOWN = 5
MARKS: dict[str, str] = {
    Verdict.FAIL: "❌",
    Verdict.INCONCLUSIVE: "❔",
    Verdict.BLOCKED: "⛔",
    Verdict.WARN: "⚠️",
    Verdict.KNOWN: "📌",
    Verdict.FIXED: "🎉",
    Verdict.PASS: "✅",
    Verdict.NOT_RUN: "⏭️",
}


def _text(value: Any) -> str:
    """Masked, HTML-escaped text for a paragraph or a summary line."""
    return escape(mask_text(str(value)), quote=False)


def _cell(value: Any) -> str:
    """Like _text, fit for one table cell: one line, no pipe."""
    return _text(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _fence(text: str) -> list[str]:
    """A code block whose fence cannot be closed by the text inside."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text", mask_text(text), fence]


def _verdict(verdict: str) -> str:
    mark = MARKS.get(verdict)
    return f"{mark} {_cell(verdict)}" if mark else _cell(verdict)


def _failing(row: doc.Row) -> str:
    """ "60 failing tests, 20 of 60 shown": the count of the run, and what the report kept of it."""
    failing = row.failing or len(row.failures)
    return f"{failing} failing test{'s' if failing != 1 else ''}" + (f", {row.shown}" if row.shown else "")


def render_summary(document: Mapping[str, Any]) -> str:
    rows = doc.rows(document)
    counts = doc.counts(document)
    status = document.get("exit_status")
    outcome = (
        "" if not isinstance(status, int) else (" ✅ passed" if status == 0 else f" ❌ failed (exit status {status})")
    )
    lines = [f"## HealLog conformance{outcome}", ""]
    target, profile = document.get("target") or {}, document.get("profile") or {}
    facts = []
    if target.get("base_url"):
        facts.append(f"target `{_cell(target['base_url'])}` ({_cell(target.get('mode') or '?')})")
    if profile.get("name"):
        facts.append(f"profile {_cell(profile['name'])}")
    if document.get("strict"):
        facts.append("strict")
    if facts:
        lines += [", ".join(facts), ""]
    lines.append(" · ".join(f"{_verdict(v)}: **{n}**" for v, n in counts.items()))
    lines += ["", "| ID | level | title | verdict | reason / first failure |", "|---|---|---|---|---|"]
    for row in rows:
        ident = f"[{row.id}](#user-content-{row.id.lower()})" if row.failures else row.id
        lines.append(
            f"| {_cell(ident)} | {_cell(row.level)} | {_cell(row.title)} | {_verdict(row.verdict)} "
            f"| {_cell(doc.cut_at_word(row.detail, 200))}{f' ({row.shown})' if row.shown else ''} |"
        )
    failing = [row for row in rows if row.failures]
    if failing:
        lines += ["", "### Failures", ""]
    for row in failing:
        shown = row.failures[:MAX_FAILURES_SHOWN]
        lines += [
            f'<details id="{escape(row.id.lower())}"><summary><b>{_text(row.id)}</b> {_text(row.title)}: '
            f"{_text(row.verdict)}, {_failing(row)}"
            "</summary>",
            "",
        ]
        for failure in shown:
            if failure.test:
                lines += [f"`{_cell(failure.test)}`", ""]
            lines += [*_fence(failure.message), ""]
        if len(row.failures) > len(shown):
            lines += [f"… and {len(row.failures) - len(shown)} more in the HTML or JSON report.", ""]
        lines += ["</details>", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
