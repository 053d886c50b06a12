"""Lockout checks (LOCK-1 .. LOCK-3) on recorded login answers."""

from __future__ import annotations

import pytest

from conformance.checks import lockout
from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable, Violation

THRESHOLD = 5


def answer(status, code=None, *, retry_after="900"):
    headers = {"content-type": "application/json"}
    if retry_after is not None and status == 429:
        headers["retry-after"] = retry_after
    body = {"success": True, "access_token": "a"} if code is None else {
        "success": False, "error": {"message": "m", "code": code}, "request_id": "r"}  # fmt: skip
    return Exchange.build("POST", "http://sut/api/auth/login", status, response_headers=headers, response_body=body)


OK = answer(200)
FAILED = answer(401, "INVALID_CREDENTIALS")
LOCKED = answer(429, "ACCOUNT_LOCKED")
LIMITED = answer(429, "RATE_LIMIT_EXCEEDED")
CRASHED = answer(500, "INTERNAL_ERROR")


def test_answer_kinds():
    kinds = [lockout.answer_kind(e) for e in (OK, FAILED, LOCKED, LIMITED, CRASHED, answer(403, "FORBIDDEN"))]
    assert kinds == ["ok", "failed", "locked", "rate-limited", "5xx", "other"]


# -- LOCK-1: a single locked answer --------------------------------------------


def test_locked_answer_with_retry_after_passes():
    lockout.account_locked(LOCKED)
    lockout.account_locked(answer(429, "ACCOUNT_LOCKED", retry_after="Wed, 21 Oct 2026 07:28:00 GMT"))


@pytest.mark.parametrize("retry_after", [None, "", "soon", "-5"])
def test_locked_answer_without_valid_retry_after_fails(retry_after):
    with pytest.raises(Violation, match="Retry-After") as failure:
        lockout.account_locked(answer(429, "ACCOUNT_LOCKED", retry_after=retry_after))
    assert failure.value.requirement == "LOCK-1"


@pytest.mark.parametrize("exchange", [OK, FAILED, CRASHED], ids=["accepted", "invalid-credentials", "5xx"])
def test_unlocked_answer_fails(exchange):
    with pytest.raises(Violation, match="ACCOUNT_LOCKED"):
        lockout.account_locked(exchange)


def test_rate_limited_answer_says_nothing_about_the_lock():
    with pytest.raises(NotApplicable):
        lockout.account_locked(LIMITED)


def test_lock_4_asks_only_whether_the_lock_holds():
    lockout.account_locked(answer(429, "ACCOUNT_LOCKED", retry_after=None), requirement="LOCK-4", retry_after=False)


def test_requirement_can_be_named_for_lock_4():
    with pytest.raises(Violation) as failure:
        lockout.account_locked(FAILED, requirement="LOCK-4")
    assert failure.value.requirement == "LOCK-4"


# -- LOCK-2: the concurrent burst ------------------------------------------------


def test_burst_within_threshold_passes():
    lockout.at_most_n_invalid_credentials([FAILED] * THRESHOLD + [LOCKED] * 40 + [LIMITED] * 3, THRESHOLD)


def test_burst_over_threshold_fails_naming_the_count():
    with pytest.raises(Violation) as failure:
        lockout.at_most_n_invalid_credentials([FAILED] * (THRESHOLD + 1) + [LOCKED] * 10, THRESHOLD)
    assert failure.value.requirement == "LOCK-2"
    assert "6 answered INVALID_CREDENTIALS" in str(failure.value)
    assert "10× 429 with code ACCOUNT_LOCKED" in str(failure.value)


def test_burst_with_a_5xx_fails():
    with pytest.raises(Violation, match="no 5xx") as failure:
        lockout.at_most_n_invalid_credentials([FAILED, CRASHED, LOCKED], THRESHOLD)
    assert failure.value.requirement == "LOCK-2"


# -- LOCK-3 ---------------------------------------------------------------------------


def test_other_account_logs_in_and_fails_normally():
    lockout.other_account_unaffected(OK, correct_password=True)
    lockout.other_account_unaffected(FAILED, correct_password=False)


@pytest.mark.parametrize("exchange, correct", [(LOCKED, True), (LOCKED, False), (FAILED, True)])
def test_other_account_locked_or_refused_fails(exchange, correct):
    with pytest.raises(Violation) as failure:
        lockout.other_account_unaffected(exchange, correct_password=correct)
    assert failure.value.requirement == "LOCK-3"


def test_other_account_rate_limited_is_not_applicable():
    with pytest.raises(NotApplicable):
        lockout.other_account_unaffected(LIMITED, correct_password=True)


# -- LOCK-1/LOCK-2: the sequential model ------------------------------------------------

W, R, V = False, True, None  # wrong password, right password, right password under an email case variant


@pytest.mark.parametrize(
    "attempts",
    [
        [(W, FAILED)] * 5 + [(R, LOCKED), (W, LOCKED)],
        [(W, FAILED)] * 4 + [(W, LOCKED), (R, LOCKED)],  # the 5th failure may already answer "locked"
        [(W, FAILED)] * 4 + [(R, OK)] + [(W, FAILED)] * 5 + [(W, LOCKED)],  # success resets the counter
        [(W, FAILED)] * 4 + [(R, OK), (W, FAILED), (W, LOCKED)],  # ... or does not
        [(V, OK), (V, FAILED), (W, FAILED), (W, FAILED), (W, FAILED), (V, FAILED), (R, LOCKED)],
        [(W, FAILED), (W, LIMITED), (W, FAILED), (W, FAILED), (W, FAILED), (W, FAILED), (W, LOCKED)],
        [(W, FAILED), (W, LIMITED), (W, FAILED), (W, FAILED), (W, FAILED), (W, LOCKED)],
        [(R, OK), (R, OK), (W, FAILED), (R, OK)],
    ],
)
def test_sequences_the_policy_allows(attempts):
    lockout.follows_lockout_policy(attempts, THRESHOLD)


@pytest.mark.parametrize(
    "attempts, position, text",
    [
        ([(W, FAILED)] * 6, 6, "already locked"),
        ([(W, FAILED)] * 5 + [(R, OK)], 6, "already locked"),
        ([(W, FAILED)] * 2 + [(W, LOCKED)], 3, "no lock after only 2"),
        ([(W, FAILED), (R, LOCKED)], 2, "no lock after only 1"),
        ([(W, FAILED), (R, FAILED)], 2, "a successful login"),
        ([(W, FAILED)] * 5 + [(V, OK)], 6, "already locked"),
        ([(W, FAILED)] * 4 + [(R, OK)] + [(W, FAILED)] * 6, 11, "already locked"),
    ],
)
def test_sequences_the_policy_forbids(attempts, position, text):
    with pytest.raises(Violation) as failure:
        lockout.follows_lockout_policy(attempts, THRESHOLD)
    assert failure.value.requirement == "LOCK-1"
    assert f"attempt {position} " in str(failure.value)
    assert text in str(failure.value)


def test_sequence_with_a_5xx_fails_lock_2():
    with pytest.raises(Violation) as failure:
        lockout.follows_lockout_policy([(W, FAILED), (W, CRASHED)], THRESHOLD)
    assert failure.value.requirement == "LOCK-2"


def test_sequence_whose_lock_lacks_retry_after_fails():
    with pytest.raises(Violation, match="Retry-After"):
        lockout.follows_lockout_policy([(W, FAILED)] * 5 + [(W, answer(429, "ACCOUNT_LOCKED", retry_after=None))], 5)
