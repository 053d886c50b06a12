"""SIGINT and SIGTERM through the plugin: teardown, the table marked interrupted, exit 130/143.

In subprocesses (a signal to an in-process run would reach the outer run too),
with a fake target that notes when it is closed. The end-to-end runs on the
reference (SUT, peer, redis, fuzzing) are in tests/sut/test_signals.py.
"""

from __future__ import annotations

import json

import pytest

CONFTEST = """
import pathlib
import conformance.sut as targets
from conformance.sut.base import Target

class FakeTarget(Target):
    def close(self):
        pathlib.Path({closed!r}).write_text("closed")

targets.open_target = lambda settings, profile: FakeTarget(base_url="http://127.0.0.1:9", profile=profile)
"""

SUITE = """
import os, signal, time
import pytest

@pytest.mark.requirement("ENV-1")
def test_first():
    pass

@pytest.mark.requirement("RID-1")
def test_signalled(target):
    os.kill(os.getpid(), signal.{signal})
    time.sleep(30)

@pytest.mark.requirement("RID-1")
def test_never_reached():
    pass

@pytest.mark.requirement("ENV-2")
def test_never_reached_either():
    pass
"""


@pytest.fixture
def signalled(pytester):
    closed = pytester.path / "closed"
    pytester.makeconftest(CONFTEST.format(closed=str(closed)))

    def run(signal: str, suite: str = SUITE):
        pytester.makepyfile(test_suite=suite.replace("{signal}", signal))
        report = pytester.path / "report.json"
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--conformance-report", str(report), timeout=60
        )
        document = json.loads(report.read_text()) if report.exists() else None
        return result, document, closed.exists()

    return run


@pytest.mark.parametrize(("signal", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_signal_stops_the_run_with_teardown_and_the_table_marked_interrupted(signalled, signal, code):
    result, report, closed = signalled(signal)
    assert result.ret == code, result.stdout.str()
    assert closed, "the target was closed"
    result.stdout.fnmatch_lines(
        [f"*requirements (interrupted by {signal})*", f"interrupted: the run was stopped by {signal}*"]
    )
    result.assert_outcomes(passed=1)  # test_first; nothing after the signal ran
    assert report["interrupted"] == signal and report["exit_status"] == code
    verdicts = {rid: (r["verdict"], r["reason"]) for rid, r in report["requirements"].items()}
    assert verdicts["ENV-1"] == ("pass", None)
    assert verdicts["RID-1"] == ("not run", f"interrupted by {signal} before 2 of its 2 tests finished")
    assert verdicts["ENV-2"][0] == "not run" and "interrupted" in verdicts["ENV-2"][1]


def test_a_ctrl_c_swallowed_by_the_code_under_way_still_stops_the_run(signalled):
    """What hypothesis and schemathesis can do with a KeyboardInterrupt: catch it and go on."""
    result, report, closed = signalled(
        "SIGINT",
        SUITE.replace(
            """    os.kill(os.getpid(), signal.{signal})
    time.sleep(30)""",
            """    try:
        os.kill(os.getpid(), signal.{signal})
        time.sleep(30)
    except KeyboardInterrupt:
        pass""",
        ),
    )
    assert result.ret == 130, result.stdout.str()
    assert closed
    result.assert_outcomes(passed=2)  # the test that swallowed it ended; the next one did not start
    assert report["interrupted"] == "SIGINT"
    assert report["requirements"]["RID-1"]["verdict"] == "not run", "one of its tests never ran"


def _converting(into: str) -> str:
    return SUITE.replace(
        """    os.kill(os.getpid(), signal.{signal})
    time.sleep(30)""",
        f"""    try:
        os.kill(os.getpid(), signal.{{signal}})
        time.sleep(30)
    except KeyboardInterrupt:
        {into}""",
    )


def test_an_error_the_interrupt_caused_is_no_verdict(signalled):
    """A Ctrl-C inside ast.parse comes out as a SystemError, and once made API-1 fail."""
    result, report, _ = signalled(
        "SIGINT", _converting('raise SystemError("AST constructor recursion depth mismatch (before=162, after=181)")')
    )
    assert result.ret == 130, result.stdout.str()
    rid1 = report["requirements"]["RID-1"]
    assert (rid1["verdict"], rid1["reason"]) == ("not run", "interrupted by SIGINT before 2 of its 2 tests finished")
    assert report["summary"]["fail"] == 0


def test_a_violation_found_before_the_interrupt_still_fails(signalled):
    result, report, _ = signalled(
        "SIGINT",
        _converting(
            "from conformance.outcomes import Violation\n"
            '        raise Violation("RID-1", expected="an X-Request-ID", actual="none")'
        ),
    )
    assert result.ret == 130, result.stdout.str()
    assert report["requirements"]["RID-1"]["verdict"] == "fail"


def test_a_second_signal_while_the_run_stops_raises_nothing():
    """A CI runner sends SIGINT then SIGTERM; a user presses Ctrl-C twice: the teardown must not be cut short."""
    import os
    import signal
    import time

    from conformance.run import interrupt

    restore = interrupt.install()
    try:
        with pytest.raises(interrupt.Interrupted, match="SIGINT"):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)  # the handler has run by now (signals are handled between bytecodes)
        assert interrupt.received() == signal.SIGINT and interrupt.exit_code() == 130
        with interrupt.shielded():
            interrupt.check()  # no raise while the target is being stopped
        with pytest.raises(interrupt.Interrupted):
            interrupt.check()
    finally:
        restore()
        interrupt.reset()
