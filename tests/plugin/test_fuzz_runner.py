"""The bounded fuzzer (conformance.fuzz.runner): the tools' failures are inconclusive, the SUT's are failures,
and the budget bounds it, generation included. No SUT: ``send`` is a stand-in that records the cases."""

from __future__ import annotations

import time

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st

from conformance.fuzz import runner as fuzz_runner
from conformance.exchange import Exchange
from conformance.fuzz.budget import FuzzBudget
from conformance.outcomes import Inconclusive, Violation

SETTINGS = hypothesis.settings(max_examples=5, database=None, deadline=None, report_multiple_bugs=False,
                               phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])  # fmt: skip
EXPLODED: list[int] = []
SLOW_FINISHED: list[int] = []


def _explode(value):
    EXPLODED.append(1)
    raise RuntimeError("generation exploded")


def _slow(value):
    time.sleep(30)  # a generation that would never end within the budget
    SLOW_FINISHED.append(1)
    return str(value)


# Format strategies are registered globally by name; these names are this module's own.
schemathesis.openapi.format("conformance-test-explodes", st.integers().map(_explode))
schemathesis.openapi.format("conformance-test-slow", st.integers().map(_slow))


def document(*formats: str) -> dict:
    paths = {"/plain": {"get": {"parameters": [{"name": "q", "in": "query", "schema": {"type": "integer"}}],
                                "responses": {"200": {"description": "ok"}}}}}  # fmt: skip
    for index, fmt in enumerate(formats):
        paths[f"/field{index}"] = {"post": {
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["x"], "properties": {"x": {"type": "string", "format": fmt}}}}}},
            "responses": {"200": {"description": "ok"}},
        }}  # fmt: skip
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths}


def schema_of(doc: dict) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_dict(doc, config=schemathesis.Config())
    schema.config.update(base_url="http://127.0.0.1:9")
    return schema


class Recorder:
    """Stands in for the transport: counts cases per operation, and can fail some."""

    def __init__(self, fail=lambda case, n: None) -> None:
        self.counts: dict[str, int] = {}
        self.fail = fail

    def send(self, case) -> None:
        label = case.operation.label
        self.counts[label] = self.counts.get(label, 0) + 1
        self.fail(case, self.counts[label])

    def sent(self, label: str) -> int:
        return self.counts.get(label, 0)


def violation_of(case) -> Violation:
    return Violation("API-1", expected="no 5xx", actual="500",
                     exchange=Exchange.build(case.method, f"http://sut{case.path}", 500))  # fmt: skip


def fuzz_doc(doc, recorder, budget=None):
    return fuzz_runner.fuzz(schema_of(doc), recorder.send, recorder.sent, budget or FuzzBudget(60), settings=SETTINGS)


def test_an_exception_in_schemathesis_generation_makes_the_operation_inconclusive():
    recorder = Recorder()
    result = fuzz_doc(document("conformance-test-explodes"), recorder)
    broken = {op.label: op for op in result.operations}["POST /field0"]
    assert EXPLODED and broken.cases == 0
    assert "RuntimeError: generation exploded" in broken.tool_error
    assert {op.label: op for op in result.operations}["GET /plain"].cases > 0, "the other operations are fuzzed"
    with pytest.raises(Inconclusive, match="POST /field0: RuntimeError: generation exploded"):
        result.conclude()


def test_a_sut_failure_is_reported_as_the_failure_beside_a_tool_error():
    recorder = Recorder(fail=lambda case, n: (_ for _ in ()).throw(violation_of(case)))
    result = fuzz_doc(document("conformance-test-explodes"), recorder)
    with pytest.raises(Violation, match="500"):
        result.conclude()


def test_a_failure_that_does_not_replay_is_still_the_suts():
    """Hypothesis replays a failing case; when the replay passes it raises FlakyFailure around the Violation."""

    def first_only(case, n):
        if n == 1:
            raise violation_of(case)

    result = fuzz_doc(document(), Recorder(fail=first_only))
    assert result.operations[0].violation is not None
    with pytest.raises(Violation):
        result.conclude()


def test_a_base_exception_inside_generation_is_a_tool_error_not_a_failure():
    """What pytest-timeout did inside hypothesis: a BaseException that does not replay (_WrappedBaseException)."""
    calls = []

    def timeout_once(value):
        calls.append(1)
        if len(calls) == 2:  # once, during generation: the replay passes
            pytest.fail("Timeout >300.0s")
        return str(value)

    schemathesis.openapi.format("conformance-test-timeout-once", st.integers().map(timeout_once))
    result = fuzz_doc(document("conformance-test-timeout-once"), Recorder())
    broken = {op.label: op for op in result.operations}["POST /field0"]
    assert broken.violation is None and broken.harness_error is None
    assert "FlakyFailure" in broken.tool_error and "[Failed: Timeout >300.0s]" in broken.tool_error
    with pytest.raises(Inconclusive, match="Timeout >300.0s"):
        result.conclude()


def test_an_error_of_the_harness_is_an_error_not_inconclusive():
    def broken_transport(case, n):
        raise ConnectionResetError("the transport broke")

    result = fuzz_doc(document(), Recorder(fail=broken_transport))
    with pytest.raises(ConnectionResetError):
        result.conclude()


def test_a_case_the_client_gave_up_on_is_inconclusive_unless_the_sut_failed():
    from conformance.wire.client import ClientTimeout
    from conformance.exchange import RecordedRequest

    def gave_up(case, n):
        raise ClientTimeout(RecordedRequest("GET", "http://sut/plain"), TimeoutError("slow"), 10)

    with pytest.raises(Inconclusive, match="the client gave up waiting"):
        fuzz_doc(document(), Recorder(fail=gave_up)).conclude()


def test_the_budget_bounds_the_cases_sent():
    """A clock that advances one second per request: a 5 s budget lets exactly 5 cases through."""

    class Clock:
        now = 0.0

        def __call__(self):
            return self.now

    clock = Clock()

    def one_second(case, n):
        clock.now += 1

    recorder = Recorder(fail=one_second)
    result = fuzz_doc(document("date", "uuid"), recorder, FuzzBudget(5, clock=clock))
    assert result.stopped_by_budget
    assert sum(result.cases().values()) == sum(recorder.counts.values()) == 5
    assert all(op.reached and op.cases >= 1 for op in result.operations), "each operation had a share"
    result.conclude()  # the budget ran out: no failure, no error


def test_every_operation_gets_a_share_of_the_budget():
    class Clock:
        now = 0.0

        def __call__(self):
            return self.now

    clock = Clock()

    def tenth(case, n):
        clock.now += 0.1

    recorder = Recorder(fail=tenth)
    result = fuzz_doc(document("date", "uuid"), recorder, FuzzBudget(1.5, clock=clock))
    assert [op.reached for op in result.operations] == [True, True, True]
    assert all(op.cases >= 1 for op in result.operations), result.cases()


def test_the_hard_stop_interrupts_a_generation_that_never_ends():
    result = fuzz_doc(document("conformance-test-slow"), Recorder(), FuzzBudget(0.5))
    assert result.stopped_by_budget
    assert not SLOW_FINISHED, "the generation was interrupted, not waited for"
    result.conclude()  # no failure, no error: the budget ran out


# -- the verdict, through the plugin ------------------------------------------------------------

SUITE = """
import hypothesis, pytest, schemathesis
from hypothesis import strategies as st
from conformance.fuzz import runner as fuzz_runner
from conformance.fuzz.budget import FuzzBudget

def explode(value):
    raise RuntimeError("generation exploded")

schemathesis.openapi.format("conformance-suite-explodes", st.integers().map(explode))
DOC = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/x": {"post": {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["x"], "properties": {"x": {"type": "string", "format": "conformance-suite-explodes"}}}}}},
    "responses": {"200": {"description": "ok"}}}}}}

@pytest.mark.requirement("API-1")
def test_fuzz():
    schema = schemathesis.openapi.from_dict(DOC, config=schemathesis.Config())
    schema.config.update(base_url="http://127.0.0.1:9")
    settings = hypothesis.settings(max_examples=3, database=None, deadline=None)
    result = fuzz_runner.fuzz(schema, lambda case: None, lambda label: 0, FuzzBudget(30), settings=settings)
    result.conclude()
"""


def test_generation_failure_gives_api1_inconclusive_not_fail(run):
    result, report = run(SUITE)
    api1 = report["requirements"]["API-1"]
    assert api1["verdict"] == "inconclusive", api1
    assert "RuntimeError: generation exploded" in api1["reason"]
    assert result.ret == 1, "an inconclusive MUST fails the run, but is not reported as a failure"
    result.assert_outcomes(skipped=1)


# -- the option -----------------------------------------------------------------------------------


def test_fuzz_budget_option_reaches_the_run_options(run, monkeypatch):
    suite = """
import pytest

@pytest.mark.requirement("API-1")
def test_budget(run_options):
    assert run_options.fuzz_budget == {expected}
"""
    result, _ = run(suite.format(expected=7.5), "--fuzz-budget", "7.5")
    assert result.ret == 0
    monkeypatch.setenv("CONFORMANCE_FUZZ_BUDGET", "12")
    result, _ = run(suite.format(expected=12.0))
    assert result.ret == 0
    monkeypatch.delenv("CONFORMANCE_FUZZ_BUDGET")
    result, _ = run(suite.format(expected=60.0))
    assert result.ret == 0, "the default"


def test_fuzz_budget_must_be_positive_seconds(run):
    result, _ = run("def test_nothing(): pass\n", "--fuzz-budget", "soon")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--fuzz-budget 'soon': expected seconds*"])


def test_a_budget_that_reached_no_operation_is_inconclusive_not_a_pass():
    from conformance.fuzz.runner import FuzzResult, OperationResult
    from conformance.outcomes import Inconclusive

    never = FuzzResult([OperationResult("GET /a", reached=False), OperationResult("POST /b", reached=False)],
                       stopped_by_budget=True)  # fmt: skip
    with pytest.warns(Warning), pytest.raises(Inconclusive, match="no operation was fuzzed"):
        never.conclude()
    with pytest.warns(Warning):  # one reached: a pass that says what the budget left out
        FuzzResult([OperationResult("GET /a", cases=3), OperationResult("POST /b", reached=False)]).conclude()


@pytest.fixture
def signals_handled():
    """The run's SIGINT/SIGTERM handling (conformance.run.interrupt), installed for one test and forgotten after."""
    from conformance.run import interrupt

    restore = interrupt.install()
    yield interrupt
    restore()
    interrupt.reset()  # before the plugin's check after this test, which would stop the outer run


def test_a_ctrl_c_the_tools_turned_into_another_error_still_stops_fuzzing(signals_handled):
    """As seen in a real run: the KeyboardInterrupt landed in schemathesis' generation, which then failed with
    a KeyError; hypothesis caught that, the replay passed, and a FlakyFailure made API-1 a tool error: the run
    went on."""
    import os
    import signal

    calls = []

    def ctrl_c_once(value):
        calls.append(1)
        if len(calls) == 2:
            try:
                os.kill(os.getpid(), signal.SIGINT)  # the handler raises here, in this thread
            except KeyboardInterrupt:
                raise KeyError("a cache the interrupt left half-written") from None
        return str(value)

    schemathesis.openapi.format("conformance-test-ctrl-c-once", st.integers().map(ctrl_c_once))
    recorder = Recorder()
    with pytest.raises(KeyboardInterrupt):
        fuzz_doc(document("conformance-test-ctrl-c-once", "conformance-test-ctrl-c-once"), recorder)
    assert signals_handled.received() == signal.SIGINT
    assert "POST /field1" not in recorder.counts, "no operation is fuzzed after the Ctrl-C"


def test_the_budget_check_stops_on_a_ctrl_c_the_tools_swallowed(signals_handled):
    import os
    import signal

    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    except KeyboardInterrupt:
        pass  # as a tool that catches everything would
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        FuzzBudget(60).check()
