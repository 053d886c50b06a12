"""The run's one lock history: what it sends, what it keeps, and that the lockout checks judge it both ways."""

from __future__ import annotations

import dataclasses

import pytest

from conformance.checks import envelope, lockout
from conformance.exchange import Exchange
from conformance.outcomes import Violation
from scenarios.kit.lock_history import SharedLock, lock, sequence
from tests.scenarios.test_logins import answer, logins_for

THRESHOLD = 5
URL_METHOD, URL = "POST", "http://127.0.0.1:1/api/auth/login"
PASSWORD = "Right-pw-1"


@dataclasses.dataclass
class Victim:
    email: str = "victim@example.com"
    password: str = PASSWORD


class FakeLockout:
    """A SUT's lockout: ``key`` maps an email to its counter (lower-cased when conforming)."""

    def __init__(self, *, key=str.lower, code="ACCOUNT_LOCKED", headers=True):
        self.key, self.code, self.failures, self.sent = key, code, {}, []
        self.headers = headers

    def __call__(self, address, email, password):
        self.sent.append((email, password))
        if not email.lower().startswith("victim"):  # a control's never-used email
            return answer(401, "INVALID_CREDENTIALS")
        key = self.key(email)
        if self.failures.get(key, 0) >= THRESHOLD:
            headers = {"Retry-After": "900"} if self.headers else None
            return Exchange.build(
                URL_METHOD, URL, 429, response_body={"error": {"code": self.code}}, response_headers=headers
            )
        if password == PASSWORD:
            return Exchange.build(URL_METHOD, URL, 200, response_body={"success": True})
        self.failures[key] = self.failures.get(key, 0) + 1
        return answer(401, "INVALID_CREDENTIALS")


def history_against(sut, *, enabled=True):
    logins, sides = logins_for(lambda address, email: None, enabled=enabled)
    # Route every login of every side (and the controls) through the fake SUT, passwords included.
    original_new = sides.new

    def new():
        side = original_new()
        side.api.login = lambda email, password, base_url=None, a=side.address: sut(a, email, password)
        return side

    sides.new = new
    seen = []
    history = lock(logins, Victim(), THRESHOLD, on_lock=lambda: seen.append("locked"))
    return history, seen


def test_the_history_is_mixed_case_failures_then_the_right_password_a_wrong_one_and_the_right_upper_cased():
    sut = FakeLockout()
    history, seen = history_against(sut)
    assert [email for email, _ in sut.sent] == [
        "VICTIM@EXAMPLE.COM",
        "victim@example.com",
        "VICTIM@EXAMPLE.COM",
        "victim@example.com",
        "VICTIM@EXAMPLE.COM",
        "victim@example.com",
        "VICTIM@EXAMPLE.COM",
        "VICTIM@EXAMPLE.COM",
    ]
    assert [password == PASSWORD for _, password in sut.sent] == [False] * THRESHOLD + [True, False, True]
    assert len(history.right) == 2 and history.problem is None and seen == ["locked"]
    assert history.limited is None and not history.controls, "coded ACCOUNT_LOCKED: no doubt, no control"
    assert [correct for correct, _ in history.policy_attempts] == [False] * THRESHOLD + [True, False, None]
    assert sequence(THRESHOLD) == [(c, case) for c, case, _ in history.attempts]


def test_a_conforming_lock_passes_every_judgement_of_the_history():
    history, _ = history_against(FakeLockout())
    for attempt in history.right:
        lockout.account_locked(attempt, source_limited=history.limited)
    lockout.follows_lockout_policy(history.policy_attempts, THRESHOLD)


def test_failures_counted_per_exact_email_fail_the_lock_and_the_sequence_model():
    history, seen = history_against(FakeLockout(key=str))  # 3 upper-cased failures, 2 as registered: no lock
    assert history.problem and "did not lock" in history.problem and seen == []
    with pytest.raises((Violation, ExceptionGroup), match="LOCK-1"):  # with ENV-7: the 200 says success
        lockout.account_locked(history.right[0], source_limited=history.limited)
    with pytest.raises((Violation, ExceptionGroup), match="LOCK-1"):  # with ENV-7: the 200 says success
        lockout.follows_lockout_policy(history.policy_attempts, THRESHOLD)


def test_a_lock_without_retry_after_fails_lock_1_on_the_history():
    history, _ = history_against(FakeLockout(headers=False))
    assert history.problem is None
    with pytest.raises(Violation, match="Retry-After"):
        lockout.account_locked(history.right[0], source_limited=history.limited)


def test_a_lock_with_a_generic_code_is_controlled_once_and_fails_env_3():
    from conformance import profile as profiles

    history, seen = history_against(FakeLockout(code="UNKNOWN_ERROR"))
    assert len(history.controls) == 1, "one control for the ambiguous 429s of the history's address"
    assert history.controls[0] in history.exchanges and history.limited is False
    assert history.problem is None and seen == ["locked"]
    with pytest.raises(Violation, match="ENV-3"):
        envelope.status_matches_code(history.right[0], profiles.load(None), expected_code="ACCOUNT_LOCKED")


def test_the_lock_is_made_once_per_run():
    shared, made = SharedLock(), []

    def make():
        made.append(1)
        return history_against(FakeLockout())[0]

    assert shared.get(make) is shared.get(make) and made == [1]


def test_a_lock_that_could_not_be_made_is_not_tried_again_by_every_test():
    shared, made = SharedLock(), []

    def make():
        made.append(1)
        raise RuntimeError("no OTP arrived")

    for _ in range(3):
        with pytest.raises(RuntimeError, match="no OTP arrived"):
            shared.get(make)
    assert made == [1]


class LockAfterPassword(FakeLockout):
    """The lock checked only once the password was found right: a wrong password while locked still gets 401."""

    def __call__(self, address, email, password):
        if password != PASSWORD and email.lower().startswith("victim"):
            self.sent.append((email, password))
            self.failures[self.key(email)] = self.failures.get(self.key(email), 0) + 1
            return answer(401, "INVALID_CREDENTIALS")
        return super().__call__(address, email, password)


def test_a_lock_checked_after_the_password_fails_the_sequence_model_on_the_history():
    """Wrong -> 401, right -> 429 while locked tells a guesser which password is right: the history's wrong
    password after the lock shows it."""
    history, _ = history_against(LockAfterPassword())
    with pytest.raises(Violation):
        lockout.follows_lockout_policy(history.policy_attempts, THRESHOLD)
    conforming, _ = history_against(FakeLockout())
    lockout.follows_lockout_policy(conforming.policy_attempts, THRESHOLD)


def test_every_exchange_is_recorded_into_the_asking_test_s_report():
    history, _ = history_against(FakeLockout(code="UNKNOWN_ERROR"))
    recorded = []
    history.record(type("Api", (), {"record": lambda self, e: recorded.append(e)})())
    assert recorded == history.exchanges and len(recorded) == THRESHOLD + 3 + 1
