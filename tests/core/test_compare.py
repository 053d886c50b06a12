"""``heallog-conformance compare OLD.json NEW.json``: regressions, fixes, lost coverage, the exit code."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance import cli, requirements
from conformance.render.comparison import render_markdown, render_text
from conformance.verdicts.compare import compare, group_of

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl"
FAILURE = f"""\
AUTH-1  One JWT decode per request  (GET http://127.0.0.1:41237/api/patients/pro-feature/, request 3f2a)
  Expected: X-Debug-JWT-Decodes: 1
    Actual: 3
  Reproduce: curl -i -H 'authorization: Bearer {TOKEN}' http://127.0.0.1:41237/api/patients/pro-feature/"""


def violation(rid: str) -> dict[str, Any]:
    """The fields of FAILURE, as the report carries them (the text is rendered from them)."""
    return {
        "requirement": rid,
        "expected": "X-Debug-JWT-Decodes: 1",
        "actual": "3",
        "exchange": "GET http://127.0.0.1:41237/api/patients/pro-feature/",
        "request_id": "3f2a",
        "reproduce": f"curl -i -H 'authorization: Bearer {TOKEN}' http://127.0.0.1:41237/api/patients/pro-feature/",
    }


def report(verdicts: dict[str, str], *, reasons: dict[str, str] | None = None) -> dict[str, Any]:
    """A report document in which every requirement passes, but those of ``verdicts``."""
    entries = {}
    for rid, req in requirements.catalogue().items():
        verdict = verdicts.get(rid, "pass")
        failing = verdict in ("fail", "warn")
        entries[rid] = {
            "level": req.level,
            "title": req.title,
            "text": req.text,
            "verdict": verdict,
            "reason": (reasons or {}).get(rid),
            "tests": [f"t::{rid}"],
            "test_verdicts": {f"t::{rid}": verdict},
            "first_failure": FAILURE.replace("AUTH-1", rid) if failing else None,
            "failures": [
                {"test": f"t::{rid}", "message": FAILURE.replace("AUTH-1", rid), "violations": [violation(rid)]}
            ]
            * failing,
        }
    return {
        "schema_version": 2,
        "target": {"base_url": "http://127.0.0.1:41237", "mode": "managed"},
        "profile": {"name": "heallog", "source": "default"},
        "finished": "2026-12-01T10:00:00+00:00",
        "exit_status": 0,
        "requirements": entries,
    }


@pytest.mark.parametrize(
    ("old", "new", "group"),
    [
        ("pass", "fail", "regressed"),
        ("not run", "fail", "regressed"),
        ("pass", "inconclusive", "regressed"),
        ("known", "fail", "regressed"),  # a baseline entry expired or was removed
        ("pass", "warn", "regressed"),
        ("inconclusive", "fail", "regressed"),
        ("fail", "pass", "fixed"),
        ("known", "fixed", "fixed"),
        ("warn", "pass", "fixed"),
        ("pass", "not run", "no longer judged"),
        ("pass", "blocked", "no longer judged"),
        ("fail", "inconclusive", "no longer judged"),
        ("fail", "not run", "no longer judged"),
        ("not run", "pass", "changed"),
        ("fail", "known", "changed"),  # accepted in a baseline: not fixed
        ("not run", "absent", "changed"),
    ],
)
def test_each_change_falls_in_one_group(old, new, group):
    assert group_of(old, new) == group


def test_regressions_come_first_musts_before_shoulds_and_unchanged_are_counted():
    old = report({"REV-4": "not run", "ENV-3": "fail", "HDR-2": "pass"})
    new = report({"REV-4": "not run", "ENV-3": "pass", "HDR-2": "warn", "AUTH-1": "fail", "LOCK-2": "not run"})
    result = compare(old, new)
    assert [(c.id, c.old, c.new, c.group) for c in result.changes] == [
        ("AUTH-1", "pass", "fail", "regressed"),
        ("HDR-2", "pass", "warn", "regressed"),
        ("ENV-3", "fail", "pass", "fixed"),
        ("LOCK-2", "pass", "not run", "no longer judged"),
    ]
    assert requirements.get("HDR-2").level == "SHOULD" and requirements.get("AUTH-1").level == "MUST"
    assert result.unchanged == {"pass": len(requirements.catalogue()) - 5, "not run": 1}
    assert result.exit_status == 1


def test_no_regression_is_exit_0_even_with_lost_coverage():
    result = compare(report({"ENV-3": "fail"}), report({"ENV-3": "pass", "REV-4": "not run"}))
    assert not result.regressed and result.exit_status == 0
    text = render_text(result)
    last = "compare: no regression — 0 regressed, 1 fixed, 1 no longer judged, 0 changed (exit 0)"
    assert text.splitlines()[-1] == last


def test_a_requirement_only_one_report_has_is_absent_in_the_other():
    old, new = report({}), report({"ENV-3": "fail"})
    del old["requirements"]["ENV-3"], new["requirements"]["RID-1"]
    result = compare(old, new)
    assert {(c.id, c.old, c.new) for c in result.changes} == {("ENV-3", "absent", "fail"), ("RID-1", "pass", "absent")}


def test_text_lists_the_groups_with_the_new_failure_and_ends_with_the_answer():
    result = compare(
        report({}),
        report(
            {"AUTH-1": "fail", "REV-4": "not run"}, reasons={"REV-4": "no second instance (enable with --peer-url)"}
        ),
    )
    lines = render_text(result).splitlines()
    assert lines[2] == "regressed (1):"
    assert lines[3].startswith("  AUTH-1   MUST   pass -> fail") and "Actual: 3" in lines[3]
    assert "no longer judged (1):" in lines and any("enable with --peer-url" in line for line in lines)
    assert any(line.startswith("unchanged: ") for line in lines)
    assert lines[-1].startswith("compare: REGRESSED — 1 regressed") and lines[-1].endswith("(exit 1)")


def test_markdown_is_a_table_of_the_changes_only_masked_and_escaped():
    new = report({"AUTH-1": "fail", "REV-4": "not run"}, reasons={"REV-4": f"a <b>SUT</b> | said Bearer {TOKEN}"})
    markdown = render_markdown(compare(report({}), new))
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    assert table[0] == "| change | ID | level | title | base | this change | reason / first failure |"
    assert len(table) == 4 and table[2].startswith("| ❌ regressed | AUTH-1 | MUST |")
    assert "❌ **1 requirement regressed**" in markdown
    assert TOKEN not in markdown and "<b>" not in markdown and "\\|" in table[3]
    assert "✅ **no regression**" in render_markdown(compare(report({}), report({})))


def write(tmp_path, name: str, document: Any) -> str:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return str(path)


def test_the_command_exits_1_on_a_regression_and_0_on_none(tmp_path, capsys):
    base, worse = write(tmp_path, "base.json", report({})), write(tmp_path, "pr.json", report({"ENV-3": "fail"}))
    assert cli.main(["compare", base, worse]) == 1
    assert "compare: REGRESSED" in capsys.readouterr().out
    assert cli.main(["compare", worse, base]) == 0
    assert "1 fixed" in capsys.readouterr().out
    assert cli.main(["compare", base, worse, "--markdown"]) == 1
    assert capsys.readouterr().out.startswith("### HealLog conformance: base → this change")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot be read"),
        ("{not json", "not JSON"),
        ('{"summary": {}}', "not a conformance report"),
        ("[1, 2]", "not a conformance report"),
    ],
)
def test_a_report_that_cannot_be_read_is_exit_4_and_one_line(tmp_path, capsys, content, message):
    good = write(tmp_path, "good.json", report({}))
    bad = str(tmp_path / "missing.json") if content is None else write(tmp_path, "bad.json", content)
    assert cli.main(["compare", good, bad]) == 4
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert captured.err.startswith(f"heallog-conformance compare: {bad}: {message}")
