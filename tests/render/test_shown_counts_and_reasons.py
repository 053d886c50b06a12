"""Long reasons fold in the HTML table; a requirement with more failures than kept says "N of M shown" in the
HTML and the Markdown, as the JSON report does (tests/plugin/test_verdict_last.py)."""

from __future__ import annotations

import re

from conformance.render.html import render_html
from conformance.render.markdown import render_summary

REASON_SHOWN = 140  # about two lines of the cell
LONG_REASON = (
    "partial: 3 of 9 tests not run: the revocation store could not be stopped because "
    "--restart-cmd was not given; see https://example.test/docs/options.md#restart-cmd for how to "
    "give it, and the same for the other two tests of the scenario, which need a second instance "
    "sharing the stores (--peer-url) and a log of the SUT (--sut-log-file)"
)


def _row_cell(page: str, rid: str) -> str:
    match = re.search(rf'<tr id="row-{rid}".*?<td class="detail">(.*?)</td></tr>', page, re.S)
    assert match, f"no row for {rid}"
    return match.group(1)


def test_a_long_reason_cell_shows_two_lines_and_folds_the_rest(document):
    document["requirements"]["REV-1"].update(verdict="pass", reason=LONG_REASON)
    cell = _row_cell(render_html(document), "REV-1")
    summary = re.search(r"<summary>(.*?)</summary>", cell, re.S)
    assert summary, "the long reason is expandable"
    shown = re.sub(r"<[^>]+>", "", summary.group(1))
    assert len(shown) <= REASON_SHOWN and shown.endswith("…")
    assert "https://example.test/docs/options.md#restart-cmd" in cell, "the whole text is in the page"
    assert "-webkit-line-clamp: 2" in render_html(document)


def test_a_short_reason_cell_is_plain_text(document):
    document["requirements"]["REV-1"].update(verdict="not run", reason="no second instance")
    assert _row_cell(render_html(document), "REV-1") == "no second instance"


def _truncated(document):
    entry = document["requirements"]["ENV-3"]
    entry.update(failures_total=60, failures_note=f"{len(entry['failures'])} of 60 shown")
    return document


def test_html_says_how_many_of_the_failures_are_shown(document):
    page = render_html(_truncated(document))
    heading = re.search(r'<article id="req-ENV-3".*?<h3>(.*?)</h3>', page, re.S).group(1)
    assert "60 failing tests, 2 of 60 shown" in heading
    assert "2 of 60 shown" in _row_cell(page, "ENV-3")


def test_markdown_says_how_many_of_the_failures_are_shown(document):
    summary = render_summary(_truncated(document))
    assert "<b>ENV-3</b> Status and code per the table: fail, 60 failing tests, 2 of 60 shown" in summary
    row = next(line for line in summary.splitlines() if line.startswith("| [ENV-3]"))
    assert "(2 of 60 shown)" in row


def test_markdown_cuts_a_long_reason_at_a_word(document):
    document["requirements"]["REV-1"].update(verdict="pass", reason=LONG_REASON)
    row = next(line for line in render_summary(document).splitlines() if line.startswith("| REV-1 "))
    cell = row.split("|")[5].strip()
    assert cell.endswith("…") and LONG_REASON.startswith(cell[:-1].rstrip())
