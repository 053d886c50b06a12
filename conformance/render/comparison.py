"""A comparison of two reports (:mod:`conformance.verdicts.compare`) as terminal text or as Markdown.

The text ends with one line that is the answer (``compare: REGRESSED ...`` or
``compare: no regression ...``), as a run ends with its verdict; the Markdown
is a pull-request comment or job summary: one sentence, then a table of the
changed requirements only (a PR comment must stay short), unchanged ones in one
line. Both are masked and, for Markdown, HTML-escaped: a reason may quote a SUT.
"""

from __future__ import annotations

from html import escape
from typing import Any

from conformance.render.markdown import MARKS
from conformance.render.masking import mask_text
from conformance.verdicts.compare import GROUPS, Change, Comparison

GROUP_MARKS = {"regressed": "❌", "fixed": "🎉", "no longer judged": "⏭️", "changed": "↔️"}
DETAIL_WIDTH = 120


def _one_line(text: str, width: int) -> str:
    """``text`` on one line, cut at a word to at most ``width`` characters (the reports keep the full text)."""
    flat = " ".join(mask_text(text).split())
    if len(flat) <= width:
        return flat
    cut = flat[: width - 1].rsplit(" ", 1)[0]
    return f"{cut}…"


def _tally(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {verdict}" for verdict, n in counts.items())


def _counts(comparison: Comparison) -> str:
    return ", ".join(f"{len(comparison.group(name))} {name}" for name in GROUPS)


def _describe(facts: dict[str, Any] | Any) -> str:
    parts = [str(facts.get("base_url") or "unknown target")]
    if facts.get("profile"):
        parts.append(f"profile {facts['profile']}")
    if facts.get("finished"):
        parts.append(f"finished {facts['finished']}")
    if facts.get("exit_status") is not None:
        parts.append(f"exit {facts['exit_status']}")
    return mask_text(", ".join(parts))


def render_text(comparison: Comparison) -> str:
    """The comparison for a terminal: one block per group, unchanged in one line, the answer last."""
    lines = [f"old: {_describe(comparison.old)}", f"new: {_describe(comparison.new)}"]
    for name in GROUPS:
        changes = comparison.group(name)
        if not changes:
            continue
        lines.append(f"{name} ({len(changes)}):")
        for change in changes:
            move = f"{change.old} -> {change.new}"
            row = f"  {change.id:<8} {change.level:<6} {move:<24} {change.title[:34]:<34} "
            lines.append((row + _one_line(change.detail, DETAIL_WIDTH)).rstrip())
    total = sum(comparison.unchanged.values())
    lines.append(
        f"unchanged: {total} requirement{'s' if total != 1 else ''}"
        + (f" ({_tally(dict(comparison.unchanged))})" if total else "")
    )
    answer = "REGRESSED" if comparison.regressed else "no regression"
    lines.append(f"compare: {answer} — {_counts(comparison)} (exit {comparison.exit_status})")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return escape(mask_text(text), quote=False).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _verdict(verdict: str) -> str:
    mark = MARKS.get(verdict)
    return f"{mark} {_cell(verdict)}" if mark else _cell(verdict)


def _row(change: Change) -> str:
    cells = [
        f"{GROUP_MARKS[change.group]} {change.group}",
        change.id,
        change.level,
        _cell(change.title),
        _verdict(change.old),
        _verdict(change.new),
        _cell(_one_line(change.detail, 200)),
    ]
    return "| " + " | ".join(cells) + " |"


def render_markdown(comparison: Comparison) -> str:
    """The comparison as GitHub-flavoured Markdown for a pull-request comment or a job summary."""
    regressed = len(comparison.group("regressed"))
    if regressed:
        answer = f"❌ **{regressed} requirement{'s' if regressed != 1 else ''} regressed**"
    else:
        answer = "✅ **no regression**"
    total = sum(comparison.unchanged.values())
    others = ", ".join(f"{len(comparison.group(name))} {name}" for name in GROUPS[1:])
    lines = [
        "### HealLog conformance: base → this change",
        "",
        f"{answer}; {others}; {total} unchanged" + (f" ({_tally(dict(comparison.unchanged))})" if total else ""),
        "",
    ]
    if comparison.changes:
        lines += [
            "| change | ID | level | title | base | this change | reason / first failure |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [_row(change) for change in comparison.changes]
        lines.append("")
    lines.append(
        f"<sub>base: {_cell(_describe(comparison.old))} · this change: {_cell(_describe(comparison.new))}</sub>"
    )
    return "\n".join(lines) + "\n"
