"""API-1: the SUT's published OpenAPI document, pushed to extreme values and fuzzed, every operation of it.

Two passes over every operation of the document (``error_trigger`` excepted: it
fails on purpose), judged alike: no 5xx, and every answer satisfies ENV-1, RID-1
and HDR-1 (:func:`conformance.fuzz.checks.api1_violation`).

1. The extreme values of :mod:`conformance.fuzz.extremes`: every parameter and body
   field far outside its schema, and the bodies in the wrong shape or media
   type. Bounded in count (about 240 requests on the reference) and to
   ``EXTREME_SHARE`` of what is left of the budget when it starts; round robin
   over the operations, so a pass cut short has probed each of them alike.
2. Schemathesis' generation (:mod:`conformance.fuzz.runner`): bounded to
   ``max_examples`` per operation and by the rest of the budget, shared in
   rounds of one slice per operation (the time a quick one leaves goes to the others).

Path parameters name resources the fuzzer's own session created
(:mod:`conformance.fuzz.resources`), so both passes reach past "not found".
A third test judges the reach (:mod:`conformance.fuzz.reach`): API-1 is a plain
pass only when every operation got at least ``MIN_CASES`` requests from the two
passes together; otherwise it passes as ``partial: ...``, naming the operations
it did not reach (inconclusive when it reached none). It reads what the passes
recorded, so it comes last in this module (tests run in definition order; under
xdist a module stays on one worker).

``--fuzz-budget SECONDS`` bounds both together, provisioning and generation
included (:mod:`conformance.fuzz.budget`); it never exceeds a share of
pytest-timeout's per-test limit, so that limit never fires inside the tools.
Each test records, as user properties (JSON), the requests it sent per
documented operation (``extreme_cases``, ``fuzz_cases``), how the budget went
(``fuzz_budget``) and which operations were reached (``operations_reached``).
The safety rules are :mod:`conformance.fuzz.client`'s.
"""

from __future__ import annotations

import warnings

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from conformance.fuzz import checks as schemathesis_checks
from conformance.fuzz import extremes
from conformance.fuzz import runner as fuzz_runner
from conformance.fuzz.budget import BudgetSpent, FuzzBudget, effective_seconds, hard_stop, per_test_timeout
from conformance.fuzz.client import REQUEST_TIMEOUT, CaseSender, ProbeSender, Safety, own_resources
from conformance.fuzz.reach import Reach
from conformance.fuzz.resources import PathValues
from conformance.openapi import operations
from conformance.outcomes import Inconclusive, Violation
from conformance.wire.client import ClientTimeout

#: Logical operations never fuzzed: error_trigger fails on purpose (API-1 excepts it).
NOT_FUZZED = ("error_trigger",)
#: Share of what is left of the budget the extreme pass may use; the fuzzer has the rest (and what the pass left).
EXTREME_SHARE = 0.4
#: Further failing probes of an operation named in its failure message.
OTHERS_NAMED = 8

FUZZ_SETTINGS = settings(
    # Bounded: ~15 generated cases per operation (besides schemathesis' coverage cases) keep it ~10 s here.
    max_examples=15,
    # A 2-core shared machine: wall-clock deadlines would only measure the neighbours (the budget bounds the whole).
    deadline=None,
    # No shrinking: each step is a live request; the failing request is reported as sent.
    phases=[Phase.explicit, Phase.generate],
    # One failure per operation is enough; every further example would be another live request.
    report_multiple_bugs=False,
    # Generation is slow on some schemas by nature; the budget, not a health check, bounds it.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)


@pytest.fixture(scope="module")
def fuzz_budget(request: pytest.FixtureRequest, run_options) -> FuzzBudget:
    """API-1's clock, started before anything of API-1 happens (provisioning included)."""
    return FuzzBudget(effective_seconds(run_options.fuzz_budget, per_test_timeout(request.node)))


@pytest.fixture(scope="module")
def published_document(api, profile) -> dict:
    """The SUT's OpenAPI document, its operations named after the profile's logical operations."""
    exchange = api.call("openapi")
    document = exchange.response.json
    if exchange.response.status != 200 or not isinstance(document, dict) or "paths" not in document:
        raise Violation(
            "API-1",
            expected="200 with the OpenAPI 3.x document to fuzz",
            actual=f"{exchange.response.status}, {'no' if not isinstance(document, dict) else 'an unusable'} document",
            exchange=exchange,
        )
    return schemathesis_checks.annotate_operations(document, profile, excluded=NOT_FUZZED)


@pytest.fixture(scope="module")
def safety(fuzz_budget: FuzzBudget, accounts, profile, target) -> Safety:
    """Throwaway sessions and the transport rules that keep API-1 apart from the other suites."""
    return Safety.of_run(accounts, profile, target)


@pytest.fixture(scope="module")
def path_values(published_document, safety, api):
    """Resources of the fuzzer's own session for the documented path parameters, created on first use."""
    client = api.with_source(safety.source, base_url=safety.base_url)
    try:
        yield own_resources(safety, published_document, client)
    finally:
        client.close()


@pytest.fixture(scope="module")
def reach(published_document) -> Reach:
    """The requests each operation to fuzz got from both passes (judged by the last test)."""
    return Reach(tuple(op.label for op in operations(published_document) if not op.excluded))


@pytest.mark.requirement("API-1")
@pytest.mark.clause(
    "API-1/extreme-values", "API-1/no-5xx", "API-1/envelope", "API-1/request-id", "API-1/security-headers"
)
def test_extreme_values_get_conforming_answers(
    fuzz_budget, published_document, safety, path_values: PathValues, reach, api, profile, conformance_record
):
    began = fuzz_budget.used()  # provisioning and the other pass before it
    client = api.with_source(safety.source, base_url=safety.base_url)
    sender = ProbeSender(safety, schemathesis_checks.Judgement(profile), client)
    planned = extremes.interleaved(
        extremes.probes(
            published_document,
            email_fields=safety.email_fields,
            fresh_email=safety.fresh_email,
            path_values=path_values.for_operation,
        )
    )
    deadline = fuzz_budget.share(EXTREME_SHARE)
    failures: dict[str, list[tuple[extremes.Probe, Violation]]] = {}
    unanswered: list[tuple[extremes.Probe, ClientTimeout]] = []
    stopped = False
    try:
        with hard_stop(deadline, clock=fuzz_budget.clock):
            for probe in planned:
                fuzz_budget.check(deadline)
                try:
                    violation = sender.send(probe)
                except ClientTimeout as timeout:
                    unanswered.append((probe, timeout))
                    continue
                if violation is not None:
                    failures.setdefault(probe.label, []).append((probe, violation))
    except BudgetSpent:
        stopped = True
    finally:
        client.close()
    sent = {probe.label: sender.spending.sent[probe.label] for probe in planned}
    reach.add("extreme values", sent)
    conformance_record("extreme_cases", sent)
    conformance_record("fuzz_budget", _budget_note(fuzz_budget, began, stopped, sender.spending.held_back))
    if stopped:
        _warn_unfinished(sum(sent.values()), len(planned))
    _raise_extreme_failures(failures)
    if unanswered:  # only when nothing failed: a SUT failure is reported whatever else happened
        probe, timeout = unanswered[0]
        raise Inconclusive(
            f"{len(unanswered)} probe(s) got no answer before the client gave up, first {probe.describe()}: {timeout}"
        )
    if not any(sent.values()):  # a pass needs answers: nothing sent (all held back, or no time) proves nothing
        raise Inconclusive(
            f"no extreme-value probe was sent ({len(planned)} planned; held back by the rate budgets: "
            f"{sum(sender.spending.held_back.values())}; stopped by the fuzz budget: {stopped})"
        )


@pytest.mark.requirement("API-1")
@pytest.mark.clause(
    "API-1/every-operation", "API-1/no-5xx", "API-1/envelope", "API-1/request-id", "API-1/security-headers"
)
def test_fuzzed_requests_get_conforming_answers(
    fuzz_budget, published_document, safety, path_values: PathValues, reach, profile, conformance_record
):
    # An explicit Config: never pick up a schemathesis.toml from the working directory.
    began = fuzz_budget.used()
    schema = schemathesis.openapi.from_dict(published_document, config=schemathesis.Config())
    schema.config.update(base_url=safety.base_url, request_timeout=REQUEST_TIMEOUT)
    schema = schema.exclude(func=schemathesis_checks.is_excluded)
    sender = CaseSender(safety, schemathesis_checks.Judgement(profile), path_values)
    try:
        result = fuzz_runner.fuzz(
            schema, sender.send, lambda label: sender.spending.sent[label], fuzz_budget, settings=FUZZ_SETTINGS
        )
    finally:
        sender.close()
    reach.add("schemathesis", result.cases(), exhausted=[op.label for op in result.operations if op.finished])
    conformance_record("fuzz_cases", result.cases())
    conformance_record(
        "fuzz_budget", _budget_note(fuzz_budget, began, result.stopped_by_budget, sender.spending.held_back)
    )
    result.conclude()


@pytest.mark.requirement("API-1")
@pytest.mark.clause("API-1/every-operation")
def test_every_operation_was_fuzzed(reach: Reach, conformance_record):
    """API-1 is a plain pass only when both passes together reached every operation (conformance.fuzz.reach)."""
    conformance_record(
        "operations_reached",
        {"reached": [label for label in reach.labels if reach.reached(label)], "not_reached": reach.short()},
    )
    reach.judge()


def _budget_note(budget: FuzzBudget, began: float, stopped: bool, held_back) -> dict:
    """How the budget went: ``began`` is when this pass started on its clock (provisioning included)."""
    return {
        "seconds": budget.seconds,
        "began": round(began, 1),
        "used": round(budget.used(), 1),
        "stopped_by_budget": stopped,
        "held_back_by_rate_limits": dict(held_back),
    }


def _warn_unfinished(sent: int, planned: int) -> None:
    warnings.warn(
        fuzz_runner.FuzzBudgetWarning(
            f"the fuzz budget's share for extreme values ran out after {sent} of {planned} probes; "
            f"raise --fuzz-budget to send them all"
        ),
        stacklevel=2,
    )


def _raise_extreme_failures(failures: dict[str, list[tuple[extremes.Probe, Violation]]]) -> None:
    """One Violation per operation: its first failing probe, naming the others."""
    __tracebackhide__ = True
    found = []
    for label, failed in failures.items():
        probe, first = failed[0]
        others = [f"{p.kind} in {p.field or 'the body'}" for p, _ in failed[1:]]
        named = ", ".join(others[:OTHERS_NAMED]) + (", ..." if len(others) > OTHERS_NAMED else "")
        actual = first.actual + (f" (and {len(others)} more probes of {label}: {named})" if others else "")
        found.append(
            Violation(
                "API-1",
                expected=first.expected,
                actual=actual,
                exchange=first.exchange,
                hint=first.hint,
                extra_headers=first.extra_headers,
            )
        )
    if len(found) == 1:
        raise found[0]
    if found:
        raise ExceptionGroup(
            f"API-1: extreme values broke {len(found)} operations: "
            + "; ".join(
                f"{label}: {len(f)} probes, first {f[0][0].kind} in {f[0][0].field or 'the body'} "
                f"({f[0][1].actual[:80]})"
                for label, f in failures.items()
            ),
            found,
        )
