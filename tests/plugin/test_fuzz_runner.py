"""The bounded fuzzer (conformance.fuzz.runner): the tools' failures are inconclusive, the SUT's are failures,
and the budget bounds it, generation included. No SUT: ``send`` is a stand-in that records the cases."""

from __future__ import annotations

import json
import time

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st

from conformance.exchange import Exchange
from conformance.fuzz import runner as fuzz_runner
from conformance.fuzz.budget import FuzzBudget
from conformance.outcomes import Inconclusive, Violation

SETTINGS = hypothesis.settings(
    max_examples=5,
    database=None,
    deadline=None,
    report_multiple_bugs=False,
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)
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
    paths = {
        "/plain": {
            "get": {
                "parameters": [{"name": "q", "in": "query", "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "ok"}},
            }
        }
    }
    for index, fmt in enumerate(formats):
        paths[f"/field{index}"] = {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["x"],
                                "properties": {"x": {"type": "string", "format": fmt}},
                            }
                        }
                    },
                },
                "responses": {"200": {"description": "ok"}},
            }
        }
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
    return Violation(
        "API-1", expected="no 5xx", actual="500", exchange=Exchange.build(case.method, f"http://sut{case.path}", 500)
    )


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
    from conformance.exchange import RecordedRequest
    from conformance.wire.client import ClientTimeout

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

    never = FuzzResult(
        [OperationResult("GET /a", reached=False), OperationResult("POST /b", reached=False)], stopped_by_budget=True
    )
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


# -- every operation gets its turn ----------------------------------------------------------------


def plain_operations(count: int) -> dict:
    return {
        f"/op{index}": {
            "get": {
                "parameters": [{"name": "q", "in": "query", "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "ok"}},
            }
        }
        for index in range(count)
    }


def test_a_generation_that_never_returns_costs_its_operation_its_slice_not_the_others_their_turn():
    """The first operation's generation never returns: before, it held the clock until the budget's hard stop."""
    doc = document("conformance-test-slow")
    doc["paths"] = {"/field0": doc["paths"]["/field0"], **plain_operations(5)}
    recorder = Recorder()
    result = fuzz_doc(doc, recorder, FuzzBudget(10))
    by_label = {op.label: op for op in result.operations}
    assert by_label["POST /field0"].stopped_by_budget and not by_label["POST /field0"].finished
    plain = [op for label, op in by_label.items() if label != "POST /field0"]
    assert all(op.reached and op.finished and op.cases >= 5 for op in plain), result.cases()
    assert not SLOW_FINISHED


def test_time_an_operation_leaves_goes_to_one_cut_short_in_a_later_round():
    """A slow operation cut by its slice comes back with the time a quick one left (fresh examples)."""

    class Clock:
        now = 0.0

        def __call__(self):
            return self.now

    clock = Clock()

    def slow_field(case, n):
        if case.operation.label == "POST /field0":
            clock.now += 1

    recorder = Recorder(fail=slow_field)
    result = fuzz_doc(document("date"), recorder, FuzzBudget(10, clock=clock))
    by_label = {op.label: op for op in result.operations}
    assert by_label["GET /plain"].finished
    # Its first slice was half the budget (5 cases at 1 s); the second round gave it what GET /plain left.
    assert by_label["POST /field0"].cases > 5, result.cases()


# -- the verdict: every operation reached, or partial naming the others -----------------------------


def test_reach_says_partial_naming_the_operations_with_too_few_cases():
    from conformance.fuzz.reach import MIN_CASES, Reach
    from conformance.outcomes import NotRun

    reach = Reach(("GET /a", "GET /b", "POST /c", "GET /d"))
    reach.add("extreme values", {"GET /a": MIN_CASES - 1, "POST /c": 2})
    reach.add("schemathesis", {"GET /a": 1, "POST /c": 1, "GET /d": 1}, exhausted=["GET /d"])
    with pytest.raises(NotRun) as raised:
        reach.judge()
    assert str(raised.value).startswith(
        f"2 of 4 operations reached (at least {MIN_CASES} cases each); "
        "not reached: GET /b (0 cases), POST /c (3 cases);"
    )
    reach.add("again", {"GET /b": MIN_CASES, "POST /c": MIN_CASES})
    reach.judge()  # every operation reached: nothing to say


def test_reach_with_no_case_at_all_is_inconclusive_and_without_a_pass_not_run():
    from conformance.fuzz.reach import Reach
    from conformance.outcomes import NotRun

    with pytest.raises(NotRun, match="neither API-1 pass"):
        Reach(("GET /a",)).judge()
    reach = Reach(("GET /a",))
    reach.add("schemathesis", {"GET /a": 0})
    with pytest.raises(Inconclusive, match="no request reached any of the 1 operations"):
        reach.judge()


# -- the API-1 suite itself, against a loopback stand-in ----------------------------------------------

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Debug-JWT-Decodes": "1",
}


class StandIn:
    """A loopback HTTP/1.1 server answering like a conforming SUT, with ``Connection`` headers on its answers.

    ``POST /api/things`` creates a thing (201, its ``id``); ``/api/things/{id}``
    answers 200 for a thing it created (a DELETE removes it), 404 otherwise;
    every other GET 200, anything else 422. ``delay`` seconds before each answer.
    """

    def __init__(self, delay: float = 0.0) -> None:
        import itertools
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.delay = delay
        self.things: set[str] = set()
        self.hits: list[tuple[str, str, int, str]] = []  # method, path, status, Connection header
        self.numbers = itertools.count(1)
        self.lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def __getattr__(self, name: str):
                if name.startswith("do_"):  # every method, the odd ones schemathesis' coverage phase sends too
                    return self.answer
                raise AttributeError(name)

            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                time.sleep(stand_in.delay)
                status, body = stand_in.route(self.command, self.path.split("?", 1)[0])
                with stand_in.lock:
                    connection = ("keep-alive", "close")[len(stand_in.hits) % 2]
                    stand_in.hits.append((self.command, self.path, status, connection))
                rid = f"rid-{len(stand_in.hits)}"
                payload = json.dumps({**body, "request_id": rid}).encode()
                self.send_response(status)
                for name, value in {
                    **SECURITY_HEADERS,
                    "Content-Type": "application/json",
                    "X-Request-ID": rid,
                    "Content-Length": str(len(payload)),
                    "Connection": connection,
                }.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def route(self, method: str, path: str) -> tuple[int, dict]:
        refused = {"success": False, "error": {"message": "refused", "code": "VALIDATION_ERROR"}}
        if path.rstrip("/") == "/api/things" and method == "POST":
            thing = f"thing-{next(self.numbers)}"
            self.things.add(thing)
            return 201, {"success": True, "id": thing}
        if path.startswith("/api/things/"):
            thing = path.split("/")[3]
            if thing not in self.things:
                return 404, {"success": False, "error": {"message": "no such thing", "code": "NOT_FOUND"}}
            if method == "DELETE":
                self.things.discard(thing)
            return (200, {"success": True, "id": thing}) if method in ("GET", "PUT", "DELETE") else (422, refused)
        return (200, {"success": True}) if method == "GET" else (422, refused)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


THINGS = {
    "/api/things": {
        "post": {
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {"name": {"type": "string", "minLength": 1}},
                        }
                    }
                },
            },
            "responses": {"201": {"description": "created"}},
        }
    },
    "/api/things/{thing_id}": {
        "parameters": [{"name": "thing_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "get": {"responses": {"200": {"description": "ok"}}},
        "put": {
            "requestBody": {
                "content": {
                    "application/json": {"schema": {"type": "object", "properties": {"name": {"type": "string"}}}}
                }
            },
            "responses": {"200": {"description": "ok"}},
        },
        "delete": {"responses": {"200": {"description": "ok"}}},
    },
}

API1_SUITE = """
import json
import pytest
from conformance.actors.accounts import Account
from conformance.fuzz import checks as schemathesis_checks
from conformance.fuzz.client import Safety
# The API-1 suite itself: its tests (collected in this order) and fixtures, with a document and throwaway
# sessions of this stand-in.
from conformance.test_api_fuzz import (NOT_FUZZED, fuzz_budget, path_values, reach,
    test_extreme_values_get_conforming_answers, test_fuzzed_requests_get_conforming_answers,
    test_every_operation_was_fuzzed)

DOCUMENT = json.loads({document!r})

@pytest.fixture(scope="module")
def published_document(profile):
    return schemathesis_checks.annotate_operations(DOCUMENT, profile, excluded=NOT_FUZZED)

@pytest.fixture(scope="module")
def safety(fuzz_budget, profile, target):
    return Safety(base_url=target.base_url, source=None, profile=profile, tokens={{}}, default_token="stand-in",
                  email_domain="example.com", email_fields=frozenset({{"email"}}),
                  sacrificial=Account("hlc-x-2@example.com", "Pw-123456789ab", "X", "1"))
"""


def run_api1(run, stand_in: StandIn, paths: dict, budget: float):
    doc = {"openapi": "3.0.3", "info": {"title": "stand-in", "version": "1"}, "paths": paths}
    result, report = run(
        API1_SUITE.format(document=json.dumps(doc)),
        "--base-url",
        stand_in.url,
        "--fuzz-budget",
        str(budget),
        "-W",
        "ignore::DeprecationWarning",
    )
    assert report is not None, result.stdout.str()[-3000:]
    return result, report


def recorded_cases(report: dict) -> dict[str, int]:
    cases: dict[str, int] = {}
    for data in report["recorded"].values():
        for key in ("extreme_cases", "fuzz_cases"):
            for label, count in data.get(key, {}).items():
                cases[label] = cases.get(label, 0) + count
    return cases


@pytest.mark.timeout(120)
def test_api1_is_partial_naming_the_operations_a_small_budget_did_not_reach(run):
    """Seventeen slow operations, four seconds: before, API-1 said a plain pass whatever it had reached."""
    from conformance.fuzz.reach import MIN_CASES

    stand_in = StandIn(delay=0.1)
    try:
        result, report = run_api1(run, stand_in, plain_operations(17), budget=4)
    finally:
        stand_in.close()
    api1 = report["requirements"]["API-1"]
    cases = recorded_cases(report)
    labels = [f"GET /op{index}" for index in range(17)]
    short = [label for label in labels if cases.get(label, 0) < MIN_CASES]
    assert short, f"the budget was meant to be too small: {cases}"
    assert api1["verdict"] == "pass" and api1["reason"].startswith("partial: "), api1
    assert f"{17 - len(short)} of 17 operations reached" in api1["reason"], api1
    named = api1["reason"].split("not reached: ", 1)[1]
    assert all(f"{label} (" in named for label in short[:12]), (api1, cases)
    assert not any(f"{label} (" in named for label in labels if label not in short), (api1, cases)


@pytest.mark.timeout(120)
def test_api1_fuzzes_every_operation_with_the_runs_own_resources(run):
    """GET, PUT and DELETE of /api/things/{thing_id} reach a thing the fuzzer created, not only a 404."""
    stand_in = StandIn()
    try:
        result, report = run_api1(run, stand_in, THINGS, budget=10)
    finally:
        stand_in.close()
    api1 = report["requirements"]["API-1"]
    assert api1["verdict"] == "pass" and api1["reason"] is None, (api1, recorded_cases(report))
    own = "/api/things/thing-"
    found = {method for method, path, status, _ in stand_in.hits if path.startswith(own) and status == 200}
    assert found == {"GET", "PUT", "DELETE"}, sorted({(m, p, s) for m, p, s, _ in stand_in.hits})[:40]


@pytest.mark.timeout(120)
def test_api1_judges_answers_with_connection_headers_without_error(run):
    """Schemathesis gives header values as lists: a Connection header once made API-1 fail with
    AttributeError ('list' object has no attribute 'lower'), a false failure on a legal server."""
    stand_in = StandIn()
    try:
        result, report = run_api1(run, stand_in, {"/api/items": plain_operations(1)["/op0"], **THINGS}, budget=10)
    finally:
        stand_in.close()
    sent = {(connection, status < 500) for _, _, status, connection in stand_in.hits}
    assert {("keep-alive", True), ("close", True)} <= sent
    api1 = report["requirements"]["API-1"]
    assert api1["verdict"] == "pass", (api1, result.stdout.str()[-3000:])
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 2 and not outcomes.get("failed") and not outcomes.get("errors"), outcomes
