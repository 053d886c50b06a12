"""The Markdown job summary: counts, the table, failures folded in <details>, nothing unescaped or unmasked."""

from __future__ import annotations

import re

from conformance import requirements
from conformance.render.markdown import MAX_FAILURES_SHOWN, render_summary
from tests.render.conftest import SECRETS


def table_rows(summary: str) -> list[list[str]]:
    lines = [line for line in summary.splitlines() if line.startswith("| ") and not line.startswith("| ID ")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines]


def test_headline_says_the_outcome_and_counts_every_verdict(document):
    summary = render_summary(document)
    assert summary.startswith("## HealLog conformance ❌ failed (exit status 1)\n")
    counts = next(line for line in summary.splitlines() if line.startswith("❌ fail:"))
    assert counts.startswith("❌ fail: **3** · ❔ inconclusive: **1** · ⛔ blocked: **1** · ⚠️ warn: **1**")
    assert counts.endswith("⏭️ not run: **2** · flaky: **1**")  # an unknown verdict, plainly
    document["exit_status"] = 0
    assert render_summary(document).startswith("## HealLog conformance ✅ passed\n")


def test_table_has_one_row_per_requirement_with_level_title_verdict_and_reason(document):
    rows = table_rows(render_summary(document))
    assert [re.sub(r"^\[(.*?)\].*", r"\1", row[0]) for row in rows] == list(requirements.catalogue())
    by_id = {re.sub(r"^\[(.*?)\].*", r"\1", row[0]): row for row in rows}
    assert by_id["ENV-3"][1:4] == ["MUST", "Status and code per the table", "❌ fail"]
    assert by_id["ENV-3"][4] == "Actual: 404 with code UNKNOWN_ERROR"
    assert by_id["REV-4"][4] == "no second instance (enable with --peer-url)"
    assert by_id["ENV-3"][0] == "[ENV-3](#user-content-env-3)"  # links to its details
    assert all(len(row) == 5 for row in rows)  # no cell broke the table


def test_failures_are_folded_with_their_tests_and_messages(document):
    summary = render_summary(document)
    details = re.findall(r"<details id=\"([^\"]+)\"><summary>(.*?)</summary>(.*?)</details>", summary, re.DOTALL)
    assert [d[0] for d in details] == ["env-3", "env-6", "auth-6", "hdr-2"]
    env3 = details[0]
    assert env3[1] == "<b>ENV-3</b> Status and code per the table: fail, 2 failing tests"
    assert (
        "`conformance/test_envelope.py::test_error_has_the_status_and_code_of_the_table[missing-get-patient]`"
        in env3[2]
    )
    assert "```text\nENV-3  Status and code follow the table of §4." in env3[2]
    assert "  Reproduce: curl -i -X GET -H 'authorization: Bearer ***'" in env3[2]


def test_secrets_are_masked_and_markup_is_inert(document):
    document["requirements"]["ENV-3"]["title"] = "Title <img src=x onerror=alert(1)> | pipe"
    summary = render_summary(document)
    for secret in SECRETS:
        assert secret not in summary
    assert "<img" not in summary and "&lt;img src=x onerror=alert(1)&gt; \\| pipe" in summary
    assert "<script>alert(1)</script>" in summary.split("```text", 1)[1]  # only inside a code block


def test_a_fence_inside_a_message_does_not_close_the_code_block(document):
    document["requirements"]["AUTH-6"]["failures"][0]["message"] = "ENV-3  x\n  Actual: ```` four backticks"
    summary = render_summary(document)
    assert "`````text\nENV-3  x\n  Actual: ```` four backticks\n`````" in summary


def test_a_fence_inside_a_violation_field_does_not_close_the_code_block(document):
    document["requirements"]["ENV-3"]["failures"][0]["violations"][0]["actual"] = "```` four backticks"
    summary = render_summary(document)
    block = summary.split("`````text\n", 1)[1].split("\n`````", 1)[0]
    assert block.startswith("ENV-3  Status and code follow the table of §4.")
    assert "\n    Actual: ```` four backticks\n" in block and "Hint: raise NotFoundException" in block


def test_long_failure_lists_are_cut(document):
    one = document["requirements"]["ENV-3"]["failures"][0]
    document["requirements"]["ENV-3"]["failures"] = [dict(one, test=f"t::{n}") for n in range(MAX_FAILURES_SHOWN + 3)]
    summary = render_summary(document)
    assert summary.count("`t::") == MAX_FAILURES_SHOWN
    assert "… and 3 more in the HTML or JSON report." in summary


def test_a_passing_run_has_no_failures_section():
    document = {"exit_status": 0, "requirements": {"ENV-1": {"verdict": "pass", "level": "MUST"}}}
    summary = render_summary(document)
    assert "<details" not in summary and "### Failures" not in summary
    assert "| ENV-1 | MUST | Every error in the envelope | ✅ pass |  |" in summary
