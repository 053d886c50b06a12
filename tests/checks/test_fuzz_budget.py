"""The fuzz budget's clock and its hard stop (conformance.fuzz.budget)."""

from __future__ import annotations

import signal
import time

import pytest

from conformance.fuzz.budget import BudgetSpent, FuzzBudget, effective_seconds, hard_stop, per_test_timeout


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_budget_is_spent_at_its_deadline_and_not_before():
    clock = FakeClock()
    budget = FuzzBudget(10, clock=clock)
    clock.now += 9.9
    budget.check()
    assert budget.remaining() == pytest.approx(0.1)
    clock.now += 0.1
    with pytest.raises(BudgetSpent, match="10 s"):
        budget.check()
    assert budget.used() == pytest.approx(10)


def test_a_share_is_counted_on_what_is_left():
    clock = FakeClock()
    budget = FuzzBudget(10, clock=clock)
    clock.now += 5  # provisioning took half
    deadline = budget.share(0.4)
    assert deadline == pytest.approx(clock.now + 2)
    clock.now += 2
    assert budget.expired(deadline) and not budget.expired()


def test_budget_stays_within_pytest_timeouts_limit():
    assert effective_seconds(60, None) == 60
    assert effective_seconds(60, 300) == 60
    assert effective_seconds(400, 300) == pytest.approx(240), "the per-test timeout must never fire inside API-1"


def test_per_test_timeout_is_read_from_pytest_timeout(request):
    assert per_test_timeout(request.node) == 300  # pyproject's timeout


@pytest.mark.timeout(123)
def test_per_test_timeout_follows_the_marker(request):
    assert per_test_timeout(request.node) == 123


def test_hard_stop_interrupts_a_blocked_main_thread():
    handler_before = signal.getsignal(signal.SIGINT)  # SIG_IGN when started in the background
    finished = []
    with pytest.raises(BudgetSpent):
        with hard_stop(time.monotonic(), grace=0.2):
            time.sleep(30)  # a generation or a read that never returns in time
            finished.append(True)
    assert not finished
    assert signal.getsignal(signal.SIGINT) is handler_before, "the SIGINT handler it found is back"


def test_hard_stop_leaves_ctrl_c_a_keyboard_interrupt():
    with pytest.raises(KeyboardInterrupt) as caught:
        with hard_stop(time.monotonic() + 60):
            signal.raise_signal(signal.SIGINT)
    assert type(caught.value) is KeyboardInterrupt


def test_hard_stop_does_nothing_when_the_block_ends_in_time():
    handler_before = signal.getsignal(signal.SIGINT)  # SIG_IGN when started in the background
    with hard_stop(time.monotonic() + 0.3, grace=0.0):
        pass
    time.sleep(0.6)  # past the deadline: the cancelled watchdog must not fire
    assert signal.getsignal(signal.SIGINT) is handler_before, "the SIGINT handler it found is back"


def test_hard_stop_firing_as_the_block_ends_never_leaks_an_interrupt():
    """The watchdog's signal may still be pending when the block ends: it is absorbed, never raised later."""
    handler_before = signal.getsignal(signal.SIGINT)
    try:
        for _ in range(20):
            try:
                with hard_stop(time.monotonic(), grace=0.0):
                    sum(range(1000))
            except BudgetSpent:
                pass
            time.sleep(0.01)
    except KeyboardInterrupt:  # pragma: no cover - what the test guards against
        pytest.fail("a BudgetSpent or KeyboardInterrupt escaped after the block")
    assert signal.getsignal(signal.SIGINT) is handler_before, "the SIGINT handler it found is back"
