"""Runs schemathesis over the published document, one operation at a time, within the fuzz budget.

Schemathesis' own pytest integration (``from_fixture(...).parametrize()``)
builds every operation's hypothesis test up front (running its coverage
generation for all of them) and lets whatever the tools raise out as a test
failure. API-1 needs more: a clock over generation too, a count of the cases
each operation got, and a line between what the SUT did and what the tools did.
So this module builds and runs the same per-operation tests itself, one at a
time (``build_operation_test``, what ``parametrize`` calls: this is the one
module that imports schemathesis' internals), and classifies how each one ended:

    a Violation anywhere        the SUT failed (also inside a FlakyFailure: a failure
                                that did not replay is still the SUT's)
    SliceSpent                  the operation used its slice of what is left of the budget
                                (so that a slow operation cannot starve the ones after it);
                                it comes back in the next round, with the time others left
    BudgetSpent                 the budget ran out; what was sent so far is judged
    raised by the test body     the harness or the transport: an error, reported as such
    anything else               schemathesis or hypothesis failed (generation, a health
                                check, Unsatisfiable, a flaky strategy): the operation
                                could not be fuzzed, so API-1 is *inconclusive*, never *fail*

:meth:`FuzzResult.conclude` turns the results into the test's outcome; a SUT
failure found before (or after) a tool error is still reported as the failure.
"""

from __future__ import annotations

import unittest
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import schemathesis
from hypothesis.errors import _WrappedBaseException
from schemathesis.core.control import SkipTest as SchemathesisSkip
from schemathesis.core.result import Err
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test

from conformance.fuzz.budget import BudgetSpent, FuzzBudget, hard_stop
from conformance.outcomes import Inconclusive, Violation
from conformance.run import interrupt

#: Characters of a tool's message kept in the inconclusive reason.
MESSAGE_LIMIT = 600
#: Rounds over the operations cut short by their slice (each later round only generates, with a seed of its own).
MAX_ROUNDS = 3
#: Seconds past a slice's end before its hard stop interrupts a generation that does not return.
SLICE_GRACE = 1.0


class SliceSpent(KeyboardInterrupt):
    """This operation's share of the budget is spent: on to the next one (a KeyboardInterrupt, like BudgetSpent)."""


class FuzzBudgetWarning(UserWarning):
    """The fuzz budget ran out before every operation had been fuzzed."""


@dataclass
class OperationResult:
    """How fuzzing one documented operation ended."""

    label: str
    cases: int = 0
    violation: Violation | None = None
    tool_error: str | None = None
    harness_error: BaseException | None = None
    reached: bool = True
    stopped_by_budget: bool = False
    #: Its test ran to the end: every case schemathesis had for it within ``max_examples`` was sent.
    finished: bool = False

    @property
    def done(self) -> bool:
        """Nothing more to fuzz: finished, or ended by a failure or an error."""
        ended = (self.violation, self.harness_error, self.tool_error)
        return self.finished or any(outcome is not None for outcome in ended)


@dataclass
class FuzzResult:
    operations: list[OperationResult] = field(default_factory=list)
    #: Whether the budget cut anything short: the whole run, or an operation's share of it.
    stopped_by_budget: bool = False

    def cases(self) -> dict[str, int]:
        """Cases sent per operation label (0 for those the budget never reached)."""
        return {op.label: op.cases for op in self.operations}

    def conclude(self) -> None:
        """Raise the outcome: the SUT's failures, else the harness's errors, else the tools' (inconclusive)."""
        __tracebackhide__ = True
        unreached = [op.label for op in self.operations if not op.reached]
        if unreached:
            warnings.warn(
                FuzzBudgetWarning(
                    f"the fuzz budget ran out before {len(unreached)} of {len(self.operations)} operations were fuzzed "
                    f"({', '.join(unreached)}); raise --fuzz-budget to fuzz them"
                ),
                stacklevel=2,
            )
        failures: list[BaseException] = [op.violation for op in self.operations if op.violation is not None]
        failures += [op.harness_error for op in self.operations if op.harness_error is not None]
        if len(failures) == 1:
            raise failures[0]
        if failures:
            raise ExceptionGroup(
                f"API-1: {len(failures)} operations failed while fuzzing: " + "; ".join(_headline(f) for f in failures),
                failures,
            )  # type: ignore[arg-type]
        broken = [op for op in self.operations if op.tool_error is not None]
        if broken:
            raise Inconclusive(
                f"schemathesis or hypothesis failed on {len(broken)} operation(s), which could not be fuzzed: "
                + "; ".join(f"{op.label}: {op.tool_error}" for op in broken)
            )
        if self.operations and not any(op.reached for op in self.operations):
            raise Inconclusive(
                f"no operation was fuzzed: the budget ran out before the first of "
                f"{len(self.operations)} (raise --fuzz-budget)"
            )


def fuzz(
    schema: schemathesis.BaseSchema,
    send: Callable[[schemathesis.Case], None],
    sent: Callable[[str], int],
    budget: FuzzBudget,
    *,
    settings: hypothesis.settings,
    max_rounds: int = MAX_ROUNDS,
) -> FuzzResult:
    """Fuzz every operation of ``schema`` with ``send`` (which raises a Violation for a bad answer), within ``budget``.

    ``sent(label)`` is how many requests ``send`` has made to that operation
    (a rate budget may hold some cases back). The budget is shared in rounds:
    in each, every operation still to fuzz gets a slice, what is left divided
    by the operations still to come in the round (so the time a quick one
    leaves goes to the next); an operation cut short by its slice comes back
    in the next round with fresh examples, until every operation is done, the
    budget is spent or ``max_rounds`` have run. A slice ends softly between
    cases, at the latest with a hard stop (a generation that never returns
    costs its own operation its slice, never the others their turn).
    """
    body = _Body(send, budget)

    def fuzzed_case(case: schemathesis.Case) -> None:  # a plain function: hypothesis wraps it
        __tracebackhide__ = True
        body.run(case)

    feedback = FeedbackSources()  # what schemathesis' pytest integration gives a schema loaded from a document
    result = FuzzResult()
    pending: list[tuple[Any, OperationResult]] = []
    for item in schema.get_all_operations():
        if isinstance(item, Err):
            result.operations.append(OperationResult(item.err().label, tool_error=describe(item.err())))
        else:
            current = OperationResult(item.ok().label, reached=False)
            result.operations.append(current)
            pending.append((item.ok(), current))
    try:
        for round_number in range(1, max_rounds + 1):
            cut: list[tuple[Any, OperationResult]] = []
            for index, (operation, current) in enumerate(pending):
                budget.check()
                seconds = budget.remaining() / (len(pending) - index)
                current.reached = True
                if _fuzz_one(
                    schema,
                    operation,
                    current,
                    fuzzed_case,
                    body,
                    budget,
                    seconds,
                    round_number,
                    settings=settings,
                    feedback=feedback,
                ):
                    cut.append((operation, current))
                current.cases = sent(operation.label)
                if budget.expired():
                    raise BudgetSpent(f"fuzz budget of {budget.seconds:g} s spent")
            pending = cut
            if not pending:
                break
    except BudgetSpent:
        result.stopped_by_budget = True
    for current in result.operations:
        current.cases = sent(current.label)
        current.stopped_by_budget = current.reached and not current.done
    interrupt.check()  # a Ctrl-C the tools caught (a FlakyFailure, a tool error) still stops the run
    result.stopped_by_budget = result.stopped_by_budget or any(op.stopped_by_budget for op in result.operations)
    return result


def _fuzz_one(
    schema: schemathesis.BaseSchema,
    operation: Any,
    current: OperationResult,
    test_func: Callable[..., None],
    body: _Body,
    budget: FuzzBudget,
    seconds: float,
    round_number: int,
    *,
    settings: hypothesis.settings,
    feedback: FeedbackSources,
) -> bool:
    """One slice of fuzzing ``operation``: whether it was cut short by the slice (and should come back).

    The first round runs schemathesis' test as built (examples, coverage cases,
    generation, the schema's seed); later rounds only generate, with a seed of
    their own, so that they send cases the first one did not.
    """
    body.start_slice(seconds)
    if round_number > 1:
        settings = hypothesis.settings(settings, phases=[hypothesis.Phase.generate])
    try:
        with hard_stop(min(body.slice_end, budget.deadline), clock=budget.clock, grace=SLICE_GRACE, raising=SliceSpent):
            # Building the test runs schemathesis' coverage generation: it can fail, and take time, too.
            test = build_operation_test(
                config=schema.config,
                operation=operation,
                test_func=test_func,
                given_kwargs={},
                feedback=feedback,
                explicit_settings=settings,
            )
            if round_number > 1:
                test = hypothesis.seed(_round_seed(schema.config.seed, operation.label, round_number))(test)
            test()
    except (unittest.SkipTest, SchemathesisSkip):
        pass  # nothing to generate for this operation (e.g. no negative cases are possible)
    except BaseException as exc:
        return _settle(current, exc, body.raised)
    current.finished = True
    return False


def _round_seed(seed: int | None, label: str, round_number: int) -> int:
    return zlib.crc32(f"{seed}:{label}:{round_number}".encode())


class _Body:
    """The hypothesis test's body: the clock first, then ``send``; remembers what it raised itself."""

    def __init__(self, send: Callable[[schemathesis.Case], None], budget: FuzzBudget) -> None:
        self.send = send
        self.budget = budget
        self.raised: set[int] = set()  # ids of the exceptions the body raised: the harness's, not the tools'
        self.slice_end = budget.deadline
        self.attempts = 0

    def start_slice(self, seconds: float) -> None:
        self.slice_end, self.attempts = self.budget.clock() + seconds, 0

    def run(self, case: schemathesis.Case) -> None:
        __tracebackhide__ = True
        self.budget.check()
        if self.attempts and self.budget.expired(self.slice_end):  # the first case of a slice always goes
            raise SliceSpent
        self.attempts += 1
        try:
            self.send(case)
        except Violation:
            raise
        except Exception as exc:  # the harness's or the transport's, not the tools'
            self.raised.add(id(exc))
            raise


def _settle(current: OperationResult, exc: BaseException, from_body: set[int]) -> bool:
    """Record how an operation's slice ended (whether the slice cut it short); re-raise what is
    neither the SUT's, the harness's nor the tools' (the budget's end, a real Ctrl-C)."""
    interrupt.check()  # SIGINT or SIGTERM, wherever hypothesis put the KeyboardInterrupt
    nodes = list(_tree(exc))
    violation = next((n for n in nodes if isinstance(n, Violation)), None)
    if violation is not None:
        current.violation = violation
    elif any(isinstance(n, BudgetSpent) for n in nodes):
        raise exc if isinstance(exc, BudgetSpent) else BudgetSpent(str(exc)) from exc
    elif any(isinstance(n, SliceSpent) for n in nodes):
        return True
    elif any(isinstance(n, KeyboardInterrupt) for n in nodes):
        raise exc  # a real Ctrl-C, even inside a FlakyFailure
    elif any(id(n) in from_body for n in nodes):
        current.harness_error = next(n for n in nodes if id(n) in from_body)
    else:
        current.tool_error = describe(exc)
    return False


def _tree(exc: BaseException, seen: set[int] | None = None) -> Iterator[BaseException]:
    """``exc``, the members of exception groups and the causes (hypothesis wraps BaseExceptions in a FlakyFailure)."""
    seen = set() if seen is None else seen
    if id(exc) in seen:
        return
    seen.add(id(exc))
    yield exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _tree(inner, seen)
    if exc.__cause__ is not None:
        yield from _tree(exc.__cause__, seen)
    elif isinstance(exc, _WrappedBaseException) and exc.__context__ is not None:
        yield from _tree(exc.__context__, seen)


def describe(exc: BaseException) -> str:
    """The tool's own message: exception type and text, groups and wrapped exceptions unfolded."""
    if isinstance(exc, _WrappedBaseException) and (exc.__cause__ or exc.__context__) is not None:
        return describe(exc.__cause__ or exc.__context__)  # type: ignore[arg-type]
    text = f"{type(exc).__name__}: {str(exc).strip()}".rstrip(": ")
    if isinstance(exc, BaseExceptionGroup):
        text = f"{text} [{'; '.join(describe(inner) for inner in exc.exceptions)}]"
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + "..."


def _headline(failure: BaseException) -> str:
    if isinstance(failure, Violation):
        return f"{failure.exchange.label}: {failure.actual}" if failure.exchange is not None else failure.actual
    return f"{type(failure).__name__}: {failure}".splitlines()[0]
