"""The baseline file: accepted failures with reason and expiry; known, new, expired and fixed."""

from __future__ import annotations

import datetime
import json

import pytest

from conformance.verdicts import baseline

TODAY = datetime.date(2026, 12, 1)


def test_a_failure_in_the_baseline_is_known_a_new_one_is_new_an_expired_one_expired():
    entries = [
        baseline.Entry("ENV-3", "t::a", reason="generic codes", ticket="BE-1"),
        baseline.Entry("AUTH-2", None, reason="every guard test", expires="2026-11-30"),
    ]
    outcome = baseline.judge(
        entries, {"ENV-3": ["t::a", "t::b"], "AUTH-2": ["t::c"]}, {"ENV-3": {"t::a", "t::b"}, "AUTH-2": {"t::c"}}, TODAY
    )
    assert [(e.requirement, t) for e, t in outcome.known] == [("ENV-3", "t::a")]
    assert [(e.requirement, e.test) for e in outcome.new] == [("ENV-3", "t::b")]
    assert [(e.requirement, t) for e, t in outcome.expired] == [("AUTH-2", "t::c")]
    assert outcome.fixed == []


def test_an_entry_whose_test_ran_and_passed_is_fixed_one_whose_test_did_not_run_is_not():
    entries = [baseline.Entry("ENV-3", "t::a"), baseline.Entry("ENV-3", "t::gone"), baseline.Entry("RID-1")]
    outcome = baseline.judge(entries, {}, {"ENV-3": {"t::a"}, "RID-1": {"t::r"}}, TODAY)
    assert [(e.requirement, e.test) for e in outcome.fixed] == [("ENV-3", "t::a"), ("RID-1", None)]


def test_update_keeps_reasons_refreshes_last_seen_adds_new_and_drops_fixed(tmp_path):
    old = [
        baseline.Entry("ENV-3", "t::a", reason="kept", ticket="BE-1", first_seen="2026-11-01"),
        baseline.Entry("RID-1", "t::r", reason="fixed since"),
    ]
    outcome = baseline.judge(old, {"ENV-3": ["t::a", "t::b"]}, {"ENV-3": {"t::a", "t::b"}, "RID-1": {"t::r"}}, TODAY)
    path = tmp_path / "b.json"
    baseline.write(path, baseline.updated(old, outcome, TODAY))
    written = json.loads(path.read_text())["accepted"]
    assert written[0] == {
        "requirement": "ENV-3",
        "test": "t::a",
        "reason": "kept",
        "ticket": "BE-1",
        "first_seen": "2026-11-01",
        "last_seen": "2026-12-01",
    }
    assert written[1]["test"] == "t::b" and written[1]["reason"] == baseline.TODO_REASON
    assert len(written) == 2 and baseline.load(path) == baseline.updated(old, outcome, TODAY)


def test_toml_baselines_are_read_and_written_too(tmp_path):
    path = tmp_path / "b.toml"
    baseline.write(path, [baseline.Entry("ENV-3", "t::a", reason="r", expires="2027-01-31")])
    assert baseline.load(path) == [baseline.Entry("ENV-3", "t::a", reason="r", expires="2027-01-31")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"accepted": [{"test": "x"}]}', "entry #1 needs a 'requirement'"),
        ('{"accepted": [{"requirement": "ENV-3", "expire": "2027-01-01"}]}', r"unknown key\(s\) expire"),
        ('{"accepted": [{"requirement": "ENV-3", "expires": "next week"}]}', "not a date"),
    ],
)
def test_a_malformed_baseline_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(baseline.BaselineError, match=message):
        baseline.load(path)


def test_a_missing_baseline_file_is_empty():
    assert baseline.load("/nonexistent/dir/b.json") == []


def test_an_update_is_judged_against_the_file_it_writes_new_failures_known_and_marked_new():
    old = [baseline.Entry("ENV-3", "t::a", reason="kept", ticket="BE-1"), baseline.Entry("RID-1", "t::r", reason="r")]
    outcome = baseline.judge_update(
        old, {"ENV-3": ["t::a", "t::b"]}, {"ENV-3": {"t::a", "t::b"}, "RID-1": {"t::r"}}, TODAY
    )
    assert outcome.new == [] and outcome.fixed == [], "nothing left for the update run to fail on"
    assert [(e.requirement, t) for e, t in outcome.known] == [("ENV-3", "t::a"), ("ENV-3", "t::b")]
    assert [(e.test, e.reason) for e in outcome.added] == [("t::b", baseline.TODO_REASON)]
    assert [e.test for e in outcome.dropped] == ["t::r"]
    assert outcome.written == baseline.updated(old, outcome, TODAY) and len(outcome.written) == 2
    known = outcome.as_json("b.json")["known"]
    assert [k.get("new", False) for k in known] == [False, True], "among known failures, the new one is marked"
    assert outcome.as_json("b.json")["written"] == 2


def test_an_update_keeps_entries_whose_tests_did_not_run():
    old = [baseline.Entry("ENV-3", "t::a", reason="kept"), baseline.Entry("REV-4", "t::peer", reason="not run today")]
    outcome = baseline.judge_update(old, {"ENV-3": ["t::a"]}, {"ENV-3": {"t::a"}}, TODAY)
    assert [e.test for e in outcome.written] == ["t::a", "t::peer"]
    assert outcome.written[1] == old[1], "untouched: not judged by this run"


def test_an_update_does_not_extend_an_expired_entry():
    old = [baseline.Entry("ENV-3", None, reason="r", expires="2026-11-30")]
    outcome = baseline.judge_update(old, {"ENV-3": ["t::a"]}, {"ENV-3": {"t::a"}}, TODAY)
    assert [(e.requirement, t) for e, t in outcome.expired] == [("ENV-3", "t::a")] and outcome.added == []
    assert outcome.written[0].expires == "2026-11-30"


def test_entries_with_the_placeholder_reason_are_warned_about_on_every_run():
    entries = [baseline.Entry("ENV-3", "t::a"), baseline.Entry("HDR-1", "t::h", reason="CDN adds it, BE-9")]
    outcome = baseline.judge(entries, {"ENV-3": ["t::a"]}, {"ENV-3": {"t::a"}}, TODAY)
    assert outcome.placeholder == [entries[0]]
    warning = baseline.summary_lines(outcome, "b.json")[-1]
    assert warning.startswith("warning: 1 baseline entr(y/ies) in b.json still carry the placeholder reason")
    assert warning.endswith("ENV-3 t::a")
    assert baseline.summary_lines(baseline.judge(entries[1:], {}, {}, TODAY), "b.json") == []


def test_the_update_says_where_it_wrote_how_many_entries_and_which_are_new():
    outcome = baseline.judge_update([], {"ENV-3": ["t::a"]}, {"ENV-3": {"t::a"}}, TODAY)
    lines = baseline.summary_lines(outcome, "b.json")
    assert lines[0] == "baseline written to b.json: 1 entry (1 new, 0 fixed one(s) dropped)"
    assert lines[1].startswith('  new: {"requirement": "ENV-3", "test": "t::a"')
    assert not any("not in the baseline" in line for line in lines)
