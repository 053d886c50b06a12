"""``--time-budget``: from one address, a run keeps within the waiting it is given and says what it left out."""

from __future__ import annotations

import json

from conformance import profile as profiles
from conformance.run import plan
from conformance.wire.pacing import Pacer

SUITE = """
import pytest

@pytest.mark.requirement("LOCK-1")
def test_costly():
    pass

@pytest.mark.requirement("ENV-1")
def test_cheap():
    pass
"""


def test_the_costliest_test_is_not_run_and_named(run, pytester, monkeypatch):
    strict = pytester.path / "strict.toml"
    strict.write_text('[rate_limits]\nlogin = "5/60"\nregister = "5/60"\n', "utf-8")
    limits = Pacer(profiles.load(str(strict))).limits
    cache = pytester.path / "cache"
    cache.mkdir()
    measured = {"test_suite.py::test_costly": {"login": 30}, "test_suite.py::test_cheap": {"login": 4}}
    (cache / "costs.json").write_text(json.dumps({plan.key(limits, True): measured}), "utf-8")
    monkeypatch.setenv("HEALLOG_CONFORMANCE_CACHE", str(cache))

    result, report = run(SUITE, "--base-url=http://[::1]:9", f"--profile={strict}", "--time-budget=2m")

    result.stdout.fnmatch_lines(
        [
            "conformance: plan from one source address: 4 login at 5/60: at least 0 s waiting for limits*",
            "conformance: --time-budget 2.0 min: 1 test(s) not run to keep within it*: test_suite.py::test_costly",
        ]
    )
    assert report is not None
    lock = report["requirements"]["LOCK-1"]
    assert lock["verdict"] == "not run", lock
    assert "its 30 login at 5/60 from one address do not fit the time budget" in json.dumps(lock)
    assert report["requirements"]["ENV-1"]["verdict"] == "pass"
    costs = json.loads((cache / "costs.json").read_text("utf-8"))[plan.key(limits, True)]
    assert costs["test_suite.py::test_costly"] == {"login": 30}, "the next run still knows what it would cost"


def test_a_malformed_budget_is_one_line(run):
    result, _ = run(SUITE, "--base-url=http://[::1]:9", "--time-budget=soon")
    result.stderr.fnmatch_lines(["*--time-budget 'soon': expected seconds or minutes (600, 10m)*"])
