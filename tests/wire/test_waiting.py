"""Waiting for a declared limit is said out loud and never counted against a test's timeout."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from conformance.wire import waiting


class AlarmFired(Exception):
    pass


@pytest.fixture
def alarm():
    def fire(signum, frame):
        raise AlarmFired()

    previous = signal.signal(signal.SIGALRM, fire)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def test_a_wait_longer_than_the_tests_timeout_does_not_fire_it(alarm):
    signal.setitimer(signal.ITIMER_REAL, 0.5)  # what pytest-timeout arms for a test
    waiting.sleep(1.0, what="login 5/60")  # twice the timeout: the alarm must not fire meanwhile
    left, _ = signal.getitimer(signal.ITIMER_REAL)
    assert 0.3 < left <= 0.5, "re-armed with what was left when the wait began"
    with pytest.raises(AlarmFired):
        time.sleep(1.0)  # after the wait, the timeout counts again


def test_concurrent_waits_pause_the_alarm_until_the_last_one_ends(alarm):
    signal.setitimer(signal.ITIMER_REAL, 0.4)
    threads = [
        threading.Thread(target=waiting.sleep, args=(0.3 + n * 0.2,), kwargs={"what": "register 5/60"})
        for n in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()  # 0.7 s in all: the alarm (0.4 s) would have fired without the pause
    assert signal.getitimer(signal.ITIMER_REAL)[0] > 0.2


def test_status_lines_say_what_is_waited_for_and_when_it_goes_on(monkeypatch):
    lines: list[tuple[str, bool]] = []
    waiting.set_reporter(lambda text, final: lines.append((text, final)), interactive=True)
    now = [0.0]
    try:
        waiting.sleep(
            5.0,
            what="login 5/60",
            detail=lambda left: "12 of 31 logins",
            clock=lambda: now[0],
            pause=lambda s: now.__setitem__(0, now[0] + s),
        )
    finally:
        waiting.set_reporter(None)
    assert lines[0] == ("waiting for login 5/60: next in 5 s — 12 of 31 logins", False)
    assert len(lines) == 6 and lines[-1] == ("waited 5 s for login 5/60", True)
    assert waiting.waited["login 5/60"] >= 5.0


def test_short_waits_are_not_announced():
    lines: list[str] = []
    waiting.set_reporter(lambda text, final: lines.append(text))
    try:
        waiting.sleep(0.01, what="login 5/60")
    finally:
        waiting.set_reporter(None)
    assert lines == []


def test_a_test_that_waits_past_pytest_timeouts_limit_passes(pytester):
    """pytest-timeout's per-test limit (300 s in the harness's configuration) does not count waits for limits: a
    staging run at 5 logins a minute failed LOCK-1 and LOCK-2 when it fired inside the pacer's sleep."""
    pytester.makepyfile(
        """
        from conformance.wire import waiting

        def test_waits_for_a_window():
            waiting.sleep(2.5, what="login 5/60")
        """
    )
    result = pytester.runpytest_subprocess("--timeout=1", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_burst_from_the_runs_own_address_is_counted_so_later_paced_requests_wait():
    """From one address at a declared limit, a burst meant to meet it (LOCK-2's) spends the window: the next
    paced login must wait, not meet a 429 (the end-of-run re-check was inconclusive from one address)."""
    import httpx

    from conformance import profile as profiles
    from conformance.wire import factory
    from conformance.wire.pacing import Pacer

    profile = profiles.load(None)
    waits: list[float] = []
    pacer = Pacer(profile, sleep=waits.append)
    stand_in = httpx.MockTransport(lambda request: httpx.Response(401))
    with factory.client(factory.Purpose.BURST, base_url="http://sut", pacer=pacer, profile=profile, wait=False,
                        base=lambda: stand_in, recorder=None) as burst:  # fmt: skip
        for _ in range(profile.rate_limits.login.count):
            burst.post(profile.operation("login").path)
    assert waits == [], "the burst itself never waits"
    pacer.wait_turn("login")
    assert len(waits) == 1 and waits[0] > 50, "the next paced login waits for the window the burst spent"
    count = profile.rate_limits.login.count
    assert pacer.by_test[""] == {"login+burst": count, "login": 1}, "the plan tells bursts from paced requests"


def test_in_a_log_the_status_line_does_not_leave_the_progress_dots_dangling(pytester):
    """In CI the status line comes between two results of one file: the next result restates the file's name, so
    the log does not read as dots of nobody's file after ``conformance: waiting for ...``."""
    pytester.makepyfile(
        test_waits="""
        from conformance.wire import waiting

        def test_before():
            pass

        def test_waits_for_a_window():
            waiting.ANNOUNCE_AFTER, waiting.CI_INTERVAL = 0.1, 0.4
            waiting.sleep(1.0, what="login 5/60")  # two status lines

        def test_after():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    lines = result.outlines
    status = [n for n, line in enumerate(lines) if "conformance: waiting for login 5/60" in line]
    assert len(status) == 2 and all(lines[n].startswith("conformance:") for n in status), lines
    assert lines[status[-1] + 1].startswith("test_waits.py ."), lines[status[0] - 1 : status[-1] + 2]
    assert status[1] == status[0] + 1, "no empty file line between two status lines"
