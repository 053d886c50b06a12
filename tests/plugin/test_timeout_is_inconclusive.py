"""A test that still runs past pytest-timeout's limit is inconclusive, never a fail: it judged nothing, and what
it waited for the declared limits (not counted against the limit) and its last request are named."""

from __future__ import annotations

import json

SUITE = """
import time

import pytest
from hypothesis import given, settings, strategies as st

from conformance.wire import waiting


@pytest.mark.requirement("LOCK-1")
def test_waits_then_hangs():
    waiting.sleep(1.2, what="login 5/60")  # not counted against the limit
    time.sleep(3)


@pytest.mark.requirement("LOCK-2")
def test_hangs_inside_hypothesis():
    @settings(deadline=None, max_examples=1, database=None)
    @given(st.integers())
    def run(n):
        time.sleep(3)

    run()


@pytest.mark.requirement("ENV-1")
def test_fails_plainly():
    assert False, "a real failure stays a failure"


@pytest.mark.requirement("ENV-2")
def test_violation_quoting_the_timeout_text():
    from conformance.outcomes import Violation

    raise Violation("ENV-2", expected="an envelope", actual="body 'Timeout (>1.0s) from pytest-timeout.'")
"""


def test_a_timeout_is_inconclusive_naming_the_waits(run):
    result, report = run(SUITE, "--timeout=1", "--base-url=http://127.0.0.1:9")
    assert report is not None, result.stdout.str()
    lock1 = report["requirements"]["LOCK-1"]
    assert lock1["verdict"] == "inconclusive", lock1
    text = json.dumps(lock1)
    assert "Timeout (>1.0s) from pytest-timeout" in text and "1 s for login 5/60" in text
    assert report["requirements"]["LOCK-2"]["verdict"] == "inconclusive", "Hypothesis' wrapping is seen through"
    assert report["requirements"]["ENV-1"]["verdict"] == "fail"
    assert report["requirements"]["ENV-2"]["verdict"] == "fail", "a violation quoting the text is no timeout"
