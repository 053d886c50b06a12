"""A harness run's command, its lane and its row in the document (how it is stopped is ``run_bounded``'s, tested in tests/sut/test_process.py)."""

from __future__ import annotations

from conformance import requirements
from tests.kill_matrix import document, plan
from tests.kill_matrix.runs import HarnessRun, RunResult


def test_a_run_names_its_defect_and_scope_and_builds_its_command(tmp_path):
    run = HarnessRun(defect="generic-codes", requirements=("ENV-3", "AUTH-3"), timeout_s=1)
    assert run.name == "generic-codes [ENV-3,AUTH-3]"
    argv = run.argv(tmp_path / "r.json")
    assert argv[1:4] == ["-m", "pytest", "-p"]
    assert ["--sut-env", "REFERENCE_DEFECTS=generic-codes"] == argv[argv.index("--sut-env") :][:2]
    assert "--requirements=ENV-3,AUTH-3" in argv, "path and list options with '=' (never a space: see spaced_options)"
    assert not any(
        a.startswith("--requirements")
        for a in HarnessRun(defect=None, requirements=None, timeout_s=1).argv(tmp_path / "r.json")
    )
    strict = HarnessRun(defect=None, requirements=None, timeout_s=1, variant="strict-limits").argv(tmp_path / "r.json")
    profile = next(a for a in strict if a.startswith("--profile=")).removeprefix("--profile=")
    assert 'login = "5/60"' in open(profile).read()


def test_paced_and_window_waiting_runs_go_beside_the_busy_ones():
    assert plan.STRICT_RUN.mostly_waiting, "paced to 5 a minute: it waits, it does not compute"
    assert plan.run_for("memory-lockout").mostly_waiting, "LOCK-4 alone: the ledger's 30 s"
    assert not plan.run_for("cors-wildcard").mostly_waiting
    assert not plan.run_for("memory-revocation").mostly_waiting, "a full suite run is busy"


def test_the_document_has_a_row_for_the_clean_run_the_strict_variant_each_bundle_and_each_defect():
    catalogue = requirements.catalogue()

    def result(run, verdict):
        report = {
            "exit_status": 0,
            "requirements": {
                rid: {"verdict": verdict, "reason": None, "level": req.level} for rid, req in catalogue.items()
            },
        }
        return RunResult(run=run, exit_code=0, report=report, duration_s=1, output_tail="")

    runs = [plan.CLEAN_RUN, plan.STRICT_RUN, *plan.BUNDLE_RUNS.values(), plan.run_for("cors-wildcard")]
    text = document.render([result(run, "pass" if run.defect is None else "fail") for run in runs])
    rows = [line.split(" | ")[0] for line in text.splitlines() if line.startswith("| ")]
    assert "| (clean reference)" in rows and "| (clean, strict limits)" in rows, "the variant is not the clean run"
    assert any(row.startswith("| bundle `legacy-service`") for row in rows)
    assert "| `cors-wildcard`" in rows


def test_a_partial_document_updates_its_rows_and_appends_new_ones():
    previous = "\n".join(
        [
            "# Kill matrix",
            "",
            "Observed 2026-12-01: 3 runs.",
            "",
            "| defect | x |",
            "|---|---|",
            "| `a` | old a |",
            "| `b` | old b |",
            "",
            "## Observed verdicts",
            "",
            "| defect | ENV-1 |",
            "|---|---|",
            "| a | ✓ |",
            "| b | ✓ |",
            "",
        ]
    )
    partial = "\n".join(
        [
            "Observed now",
            "",
            "| defect | x |",
            "|---|---|",
            "| `b` | new b |",
            "| `c` | new c |",
            "",
            "| defect | ENV-1 |",
            "|---|---|",
            "| b | ✗ |",
            "| c | ✗ |",
            "",
        ]
    )
    merged = document.merge(previous, partial).splitlines()
    assert merged[merged.index("| `a` | old a |") + 1 :][:2] == ["| `b` | new b |", "| `c` | new c |"]
    assert merged[merged.index("| a | ✓ |") + 1 :][:2] == ["| b | ✗ |", "| c | ✗ |"]
    note = next(line for line in merged if line.startswith(document.UPDATED_PREFIX))
    assert merged.index(note) == merged.index("Observed 2026-12-01: 3 runs.") + 1
    assert note.endswith("from partial sessions: `b`, `c`.")
    again = document.merge("\n".join(merged), partial.replace("`c`", "`d`"))
    assert [line for line in again.splitlines() if line.startswith(document.UPDATED_PREFIX)][0].endswith(
        ": `b`, `c`, `d`."
    )
