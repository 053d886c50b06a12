"""The report as one offline HTML page (``render_html(document) -> str``).

One file with no external assets (styles and the filter script are inline),
so it opens from a CI artifact, an e-mail or a file share as it is. It shows
the counts per verdict (which are also the filters), the per-requirement
table, and every failure's Expected / Actual / Response / Reproduce / Hint parts
(read from the violations' fields, :mod:`conformance.render.document`).
Every text is escaped, and masked (:mod:`conformance.render.masking`) on top
of the masking the harness already did. Without JavaScript nothing is hidden.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from conformance import requirements
from conformance.outcomes import Verdict
from conformance.render import document as doc
from conformance.render.masking import mask_text

#: Verdict colours (text on white); an unknown verdict gets the last one.
COLOURS: dict[str | None, str] = {
    Verdict.FAIL: "#b71c1c",
    Verdict.INCONCLUSIVE: "#e65100",
    Verdict.BLOCKED: "#6a1b9a",
    Verdict.WARN: "#8d6e00",
    Verdict.KNOWN: "#455a64",
    Verdict.FIXED: "#00796b",
    Verdict.PASS: "#1b5e20",
    Verdict.NOT_RUN: "#616161",
    None: "#37474f",
}
#: Characters of a reason cell shown before the rest is folded into <details> (about two lines of the cell).
REASON_SHOWN = 140
#: The parts of a failure shown as preformatted text (headers, bodies, commands keep their lines).
PREFORMATTED = ("Response", "Reproduce")

STYLE = """
:root { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; }
body { margin: 0 auto; max-width: 1280px; padding: 16px 24px 48px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; } h2 { font-size: 1.25rem; margin: 28px 0 8px; }
h3 { font-size: 1.05rem; margin: 0 0 6px; }
code, pre { font: 13px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; background: #f6f8fa; padding: 6px 8px;
      border-radius: 4px; }
.meta { color: #57606a; margin: 0 0 6px; }
.outcome { font-weight: 600; margin: 8px 0 14px; }
.outcome.failed { color: #b71c1c; } .outcome.passed { color: #1b5e20; }
.filters { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0 16px; }
.filters button { font: inherit; cursor: pointer; border: 2px solid var(--c, #37474f); color: var(--c, #37474f);
                  background: #fff; border-radius: 16px; padding: 3px 12px; }
.filters button[aria-pressed="true"] { background: var(--c, #37474f); color: #fff; }
.filters .n { font-weight: 700; margin-left: 4px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid #d0d7de; }
th { background: #f6f8fa; position: sticky; top: 0; }
td.id, td.title { white-space: nowrap; } td.id { font-weight: 600; } td.detail { color: #424a53; overflow-wrap: anywhere; }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; color: #fff; background: var(--c, #37474f);
         font-size: 0.85rem; white-space: nowrap; }
article { border: 1px solid #d0d7de; border-left: 6px solid var(--c, #37474f); border-radius: 6px;
          padding: 10px 14px; margin: 12px 0; }
article .text { color: #424a53; margin: 0 0 8px; }
.failure { border-top: 1px dashed #d0d7de; padding-top: 8px; margin-top: 8px; }
.failure .test { margin: 0 0 4px; color: #57606a; } .failure .headline { margin: 0 0 6px; font-weight: 600; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
dt { font-weight: 600; } dd { margin: 0; min-width: 0; }
[hidden] { display: none !important; }
td.detail details summary { cursor: pointer; list-style: none; display: flex; gap: 8px; align-items: flex-end; } td.detail details[open] summary .cut { display: none; }
td.detail .more { color: #0969da; font-size: 0.85rem; white-space: nowrap; } td.detail .more::after { content: "show all"; }
td.detail details[open] .more::after { content: "show less"; }
td.detail .cut { display: -webkit-box; -webkit-line-clamp: 2; line-clamp: 2; -webkit-box-orient: vertical;
                  overflow: hidden; } td.detail .full { white-space: pre-wrap; }
details.clauses { margin: 4px 0; } details.clauses summary { cursor: pointer; }
table.clauses td { font-size: 0.92rem; } table.clauses ul { margin: 0; padding-left: 16px; }
"""

SCRIPT = """
(function () {
  var buttons = document.querySelectorAll("[data-filter]");
  function show(verdict) {
    document.querySelectorAll("[data-verdict]").forEach(function (element) {
      element.hidden = verdict !== "all" && element.getAttribute("data-verdict") !== verdict;
    });
    buttons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-filter") === verdict));
    });
    var none = document.getElementById("no-failures-shown");
    if (none) {
      none.hidden = document.querySelectorAll("article[data-verdict]:not([hidden])").length > 0;
    }
  }
  buttons.forEach(function (button) {
    button.addEventListener("click", function () { show(button.getAttribute("data-filter")); });
  });
  if (location.hash.indexOf("#verdict=") === 0) { show(decodeURIComponent(location.hash.slice(9))); }
})();
"""


def _e(text: Any) -> str:
    """Masked and escaped, for text and attribute values alike."""
    return escape(mask_text(str(text)), quote=True)


def _colour(verdict: str) -> str:
    return COLOURS.get(verdict, COLOURS[None])


def _style_var(verdict: str) -> str:
    return f' style="--c: {_colour(verdict)}"'


def render_html(document: Mapping[str, Any]) -> str:
    """The whole page."""
    rows = doc.rows(document)
    title = "HealLog conformance report"
    target = document.get("target") or {}
    if target.get("base_url"):
        title += f": {target['base_url']}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{STYLE}</style></head><body>",
        *_header(document),
        *_filters(document),
        *_table(rows),
        *_failures(rows),
        *_clauses(document, rows),
        f"<script>{SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _header(document: Mapping[str, Any]) -> list[str]:
    target = document.get("target") or {}
    profile = document.get("profile") or {}
    facts = []
    if target.get("base_url"):
        facts.append(
            f"target <code>{_e(target['base_url'])}</code> ({_e(target.get('mode') or document.get('mode') or '?')})"
        )
    if profile.get("name"):
        facts.append(
            f"profile {_e(profile['name'])}" + (f" ({_e(profile['source'])})" if profile.get("source") else "")
        )
    for name, described in (target.get("stores") or {}).items():
        facts.append(f"{_e(name)}: {_e(described.get('provider') or '?')}")
    if document.get("started"):
        facts.append(
            f"started {_e(document['started'])}"
            + (f", finished {_e(document['finished'])}" if document.get("finished") else "")
        )
    if document.get("strict"):
        facts.append("strict: SHOULD failures fail the run")
    lines = ["<header>", "<h1>HealLog conformance report</h1>"]
    if facts:
        lines.append(f'<p class="meta">{" · ".join(facts)}</p>')
    status = document.get("exit_status")
    if isinstance(status, int):
        outcome, word = ("passed", "The run passed") if status == 0 else ("failed", "The run failed")
        lines.append(f'<p class="outcome {outcome}" id="outcome">{word} (exit status {status}).</p>')
    lines.append("</header>")
    return lines


def _filters(document: Mapping[str, Any]) -> list[str]:
    counts = doc.counts(document)
    total = sum(counts.values())
    lines = [
        '<nav class="filters" aria-label="Show requirements by verdict">',
        f'<button type="button" data-filter="all" aria-pressed="true">all<span class="n">{total}</span></button>',
    ]
    for verdict, number in counts.items():
        lines.append(
            f'<button type="button" data-filter="{_e(verdict)}" class="verdict-{doc.slug(verdict)}"'
            f'{_style_var(verdict)} aria-pressed="false">{_e(verdict)}<span class="n">{number}</span></button>'
        )
    lines.append("</nav>")
    return lines


def _badge(verdict: str) -> str:
    return f'<span class="badge verdict-{doc.slug(verdict)}"{_style_var(verdict)}>{_e(verdict)}</span>'


def _table(rows: list[doc.Row]) -> list[str]:
    lines = [
        '<table id="requirements"><thead><tr><th>ID</th><th>level</th><th>title</th><th>verdict</th>'
        "<th>reason / first failure</th></tr></thead><tbody>"
    ]
    for row in rows:
        ident = _e(row.id) if not row.failures else f'<a href="#req-{_e(row.id)}">{_e(row.id)}</a>'
        lines.append(
            f'<tr id="row-{_e(row.id)}" data-verdict="{_e(row.verdict)}"><td class="id">{ident}</td>'
            f'<td>{_e(row.level)}</td><td class="title" title="{_e(row.text)}">{_e(row.title)}</td>'
            f'<td>{_badge(row.verdict)}</td><td class="detail">{_reason_cell(row)}</td></tr>'
        )
    lines.append("</tbody></table>")
    return lines


def _reason_cell(row: doc.Row) -> str:
    """At most two lines of the reason; the whole of a longer one folded in below (no script needed)."""
    detail = row.detail
    shown = f' <small class="shown">({_e(row.shown)})</small>' if row.shown else ""
    if len(detail) <= REASON_SHOWN and "\n" not in detail:
        return f"{_e(detail)}{shown}"
    lead = doc.cut_at_word(detail, REASON_SHOWN)
    return (
        f'<details class="reason"><summary><span class="cut">{_e(lead)}</span><span class="more"></span>'
        f'</summary><span class="full">{_e(detail)}</span></details>{shown}'
    )


def _failures(rows: list[doc.Row]) -> list[str]:
    failing = [row for row in rows if row.failures]
    lines = ['<section id="failures">', "<h2>Failures</h2>"]
    if not failing:
        lines.append("<p>No failure was recorded.</p>")
    lines.append('<p id="no-failures-shown" hidden>No failure of this verdict.</p>')
    for row in failing:
        lines.append(f'<article id="req-{_e(row.id)}" data-verdict="{_e(row.verdict)}"{_style_var(row.verdict)}>')
        failing = row.failing or len(row.failures)
        count = f"{failing} failing test{'s' if failing != 1 else ''}" + (f", {row.shown}" if row.shown else "")
        lines.append(
            f"<h3>{_e(row.id)} {_e(row.title)} {_badge(row.verdict)} <small>({_e(row.level)}, {count})</small></h3>"
        )
        if row.text:
            lines.append(f'<p class="text">{_e(row.text)}</p>')
        lines += [line for failure in row.failures for line in _failure(failure)]
        lines.append("</article>")
    lines.append("</section>")
    return lines


def _failure(failure: doc.Failure) -> Iterable[str]:
    yield '<div class="failure">'
    if failure.test:
        yield f'<p class="test">test <code>{_e(failure.test)}</code></p>'
    if not failure.parts:  # not a Violation (an error in a fixture, an exception group...): the message as it is
        yield f"<pre>{_e(failure.message)}</pre>"
        yield "</div>"
        return
    if failure.headline:
        yield f'<p class="headline">{_e(failure.headline)}</p>'
    yield "<dl>"
    for label, text in failure.parts:
        value = f"<pre>{_e(text)}</pre>" if label in PREFORMATTED or "\n" in text else _e(text)
        yield f'<dt>{_e(label)}</dt><dd class="part-{_e(label.lower())}">{value}</dd>'
    yield "</dl>"
    yield "</div>"


def _clauses(document: Mapping[str, Any], rows: list[doc.Row]) -> list[str]:
    """Each requirement's clauses (from the catalogue) and the probes of the run that judged each."""
    entries = document.get("requirements") or {}
    lines = [
        '<section id="clauses">',
        "<h2>Clauses</h2>",
        "<p>Each requirement's clauses, and the tests of this run that declare each "
        "(<code>heallog-conformance coverage</code> lists every probe of the suites).</p>",
    ]
    for row in rows:
        try:
            clauses = requirements.get(row.id).clauses
        except KeyError:
            continue
        entry = entries.get(row.id) if isinstance(entries.get(row.id), Mapping) else {}
        ran = entry.get("clauses") if isinstance(entry.get("clauses"), Mapping) else {}
        judged = sum(1 for c in clauses if any(v in ("pass", "fail", "warn") for v in (ran.get(c.id) or {}).values()))
        lines.append(
            f'<details class="clauses" id="clauses-{_e(row.id)}" data-verdict="{_e(row.verdict)}">'
            f"<summary>{_e(row.id)} {_e(row.title)} {_badge(row.verdict)} "
            f"<small>{judged} of {len(clauses)} clauses judged</small></summary>"
        )
        lines.append(
            '<table class="clauses"><thead><tr><th>clause</th><th>what must hold</th>'
            "<th>tests of this run</th></tr></thead><tbody>"
        )
        for clause in clauses:
            tests = ran.get(clause.id) or {}
            probes = "".join(f"<li>{_badge(str(v))} <code>{_e(n)}</code></li>" for n, v in tests.items())
            cell = f"<ul>{probes}</ul>" if probes else "none ran"
            lines.append(f"<tr><td><code>{_e(clause.id)}</code></td><td>{_e(clause.text)}</td><td>{cell}</td></tr>")
        lines.append("</tbody></table></details>")
    lines.append("</section>")
    return lines
