"""Every clause of the catalogue has a probe, and every probe says which clauses it exercises.

The suites are collected (not run, no target) in a subprocess by the same code
as ``heallog-conformance coverage``. A clause without a probe is a hole in the
suite (../shared/PROBES.md §1); the holes known today are listed in
KNOWN_GAPS, each to be removed when its probe lands: the test fails both on a
new hole and on a listed one that has been filled.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import requirements
from conformance.verdicts import coverage

ROOT = Path(__file__).resolve().parents[2]

#: Clauses no probe exercises yet (issue 18, parts 3-5). Empty it, clause by clause, as the probes land.
KNOWN_GAPS = {}

SCRIPT = """
import json
from conformance.verdicts import coverage
probes = coverage.declared()
print(json.dumps({"rows": [row.as_data() for row in coverage.matrix(probes)], "silent": coverage.silent(probes)}))
"""


@pytest.fixture(scope="module")
def collected() -> dict:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_clause_has_a_probe_but_the_known_gaps(collected):
    without = [row["clause"] for row in collected["rows"] if not row["probes"]]
    new_holes = [clause for clause in without if clause not in KNOWN_GAPS]
    filled = [clause for clause in KNOWN_GAPS if clause not in without]
    assert not new_holes, f"clauses without a probe: {new_holes} (write a probe, see ../shared/PROBES.md)"
    assert not filled, f"these have a probe now: remove them from KNOWN_GAPS: {filled}"


def test_every_probe_declares_a_clause_of_each_of_its_requirements(collected):
    assert collected["silent"] == [], "add @pytest.mark.clause(...) to these probes"


def test_the_matrix_lists_every_clause_of_every_requirement_in_catalogue_order(collected):
    rows = collected["rows"]
    assert [row["clause"] for row in rows] == list(requirements.clauses())
    assert {row["requirement"] for row in rows} == set(requirements.catalogue())
    assert all(set(row) == {"requirement", "clause", "probes"} for row in rows)
    assert len(rows) >= 2 * len(requirements.catalogue()), "on average at least two clauses per requirement"


def test_the_write_clauses_of_data_1_and_the_role_clauses_of_auth_3_are_named():
    """The rules the contract made explicit on 2026-12-01 are clauses, probed or listed as gaps."""
    assert {"DATA-1/update", "DATA-1/delete"} <= set(requirements.clauses())
    assert {"AUTH-3/wrong-role", "AUTH-3/right-role", "AUTH-3/every-role"} <= set(requirements.clauses())


def test_known_gaps_are_clauses_of_the_catalogue():
    assert set(KNOWN_GAPS) <= set(requirements.clauses())


def test_table_and_json_render_the_matrix():
    probes = {
        "t.py::a": coverage.Probe(("DATA-1",), ("DATA-1/list", "DATA-1/get")),
        "t.py::b": coverage.Probe(("DATA-1", "DATA-2"), ("DATA-1/list",)),
    }
    rows = coverage.matrix(probes)
    by_clause = {row.clause: row.probes for row in rows}
    assert by_clause["DATA-1/list"] == ("t.py::a", "t.py::b") and by_clause["DATA-1/update"] == ()
    assert coverage.silent(probes) == ["t.py::b: DATA-2"]
    text = coverage.table(rows)
    assert "DATA-1/update" in text and "NO PROBE" in text and "t.py::b" in text
    data = json.loads(coverage.as_json(rows))
    assert {"requirement": "DATA-1", "clause": "DATA-1/list", "probes": ["t.py::a", "t.py::b"]} in data


def test_coverage_command_needs_no_target_and_prints_json(tmp_path):
    """Run from an unrelated directory, as an installed command would be."""
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "coverage", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    rows = json.loads(done.stdout)
    assert rows[0]["requirement"] == "ENV-1" and rows[0]["probes"]
    assert done.returncode == (1 if any(not row["probes"] for row in rows) else 0), done.stderr[-2000:]
    assert list(tmp_path.iterdir()) == [], "collecting writes nothing into the working directory"


def test_catalogue_rejects_a_requirement_without_clauses_or_with_an_unknown_dimension(monkeypatch):
    import tomllib
    from importlib import resources

    text = resources.files("conformance").joinpath("requirements.toml").read_text("utf-8")
    for change, message in (
        (lambda r: r.pop("clauses"), "no clauses"),
        (lambda r: r["clauses"].update({"Bad Name": "x"}), "lower-case"),
        (lambda r: r["dimensions"].update({"vibes": "x"}), "dimensions"),
    ):
        broken = tomllib.loads(text)
        change(broken["requirement"]["ENV-1"])
        monkeypatch.setattr(requirements, "_load", lambda broken=broken: broken)
        requirements.catalogue.cache_clear()
        try:
            with pytest.raises(requirements.CatalogueError, match=message):
                requirements.catalogue()
        finally:
            monkeypatch.undo()
            requirements.catalogue.cache_clear()


def test_a_pass_names_the_clauses_its_run_did_not_judge():
    req = requirements.get("REV-4")
    tests = {"t::main": "pass", "t::peer": "not run"}
    clauses_of = {"t::main": ["REV-4/revoked-on-main"], "t::peer": ["REV-4/revoked-on-peer"]}
    partial = coverage.with_unjudged_clauses(("pass", "partial: 1 of 2 tests not run: no peer"), req, tests, clauses_of)
    assert partial == (
        "pass",
        "partial: 1 of 2 clauses not judged in this run (REV-4/revoked-on-peer); 1 of 2 tests not run: no peer",
    )
    both = {**clauses_of, "t::main": ["REV-4/revoked-on-main", "REV-4/revoked-on-peer"]}
    assert coverage.with_unjudged_clauses(("pass", None), req, tests, both) == ("pass", None)
    assert coverage.with_unjudged_clauses(("fail", None), req, tests, clauses_of) == ("fail", None)
    assert coverage.with_unjudged_clauses(("pass", None), req, tests, {}) == ("pass", None), "no clause data"
    many = coverage.with_unjudged_clauses(
        ("pass", None), requirements.get("AUTH-2"), {"t": "pass"}, {"t": ["AUTH-2/user/missing"]}
    )[1]
    assert many.startswith("partial: 23 of 24 clauses not judged") and "and 19 more)" in many
