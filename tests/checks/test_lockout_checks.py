"""Lockout checks (LOCK-1 .. LOCK-3) on recorded login answers: behaviour first, labels (LOCK-1's) second."""

from __future__ import annotations

import pytest

from conformance.checks import lockout
from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable, Violation

THRESHOLD = 5


def answer(status, code=None, *, retry_after="900", body=None):
    headers = {"content-type": "application/json"}
    if retry_after is not None and status == 429:
        headers["retry-after"] = retry_after
    if body is None:
        body = (
            {"success": True, "access_token": "a"}
            if code is None
            else {"success": False, "error": {"message": "m", "code": code}, "request_id": "r"}
        )
    return Exchange.build("POST", "http://sut/api/auth/login", status, response_headers=headers, response_body=body)


OK = answer(200)
FAILED = answer(401, "INVALID_CREDENTIALS")
LOCKED = answer(429, "ACCOUNT_LOCKED")
LIMITED = answer(429, "RATE_LIMIT_EXCEEDED")
CRASHED = answer(500, "INTERNAL_ERROR")
#: A lock that locks but says UNKNOWN_ERROR (the reference's generic-lock-code).
GENERIC_LOCK = answer(429, "UNKNOWN_ERROR")
#: A rate-limit library's 429 (slowapi's): no envelope, no code, no Retry-After.
BARE_429 = answer(429, retry_after=None, body={"error": "Rate limit exceeded: 5 per 1 minute"})


def test_answer_kinds():
    kinds = [lockout.answer_kind(e) for e in (OK, FAILED, LOCKED, LIMITED, CRASHED, answer(403, "FORBIDDEN"))]
    assert kinds == ["ok", "failed", "locked", "rate-limited", "5xx", "other"]


@pytest.mark.parametrize(
    "exchange",
    [GENERIC_LOCK, BARE_429, answer(403, "ACCOUNT_LOCKED")],
    ids=["generic-code", "bare-429", "lock-code-on-403"],
)
def test_a_refusal_that_is_not_the_rate_limit_is_a_lock_whatever_its_label(exchange):
    assert lockout.answer_kind(exchange) == lockout.LOCK


def test_a_401_is_a_failure_whatever_its_code():
    assert lockout.answer_kind(answer(401, "UNKNOWN_ERROR")) == lockout.FAILED


@pytest.mark.parametrize(
    "exchange, source_limited, kind",
    [
        (LIMITED, None, "rate-limited"),  # the SUT says so, and nothing says otherwise
        (LIMITED, False, "locked"),  # ... but a control from the same address was answered: the account's
        (BARE_429, True, "rate-limited"),  # a control met a 429 too: the address is limited
        (LOCKED, True, "rate-limited"),
        (FAILED, True, "failed"),
    ],
)
def test_a_control_decides_between_lock_and_rate_limit(exchange, source_limited, kind):
    assert lockout.answer_kind(exchange, source_limited=source_limited) == kind


# -- LOCK-1: a single locked answer --------------------------------------------


def test_locked_answer_with_retry_after_passes():
    lockout.account_locked(LOCKED)
    lockout.account_locked(answer(429, "ACCOUNT_LOCKED", retry_after="Wed, 21 Oct 2026 07:28:00 GMT"))


@pytest.mark.parametrize("retry_after", [None, "", "soon", "-5"])
def test_locked_answer_without_valid_retry_after_fails(retry_after):
    with pytest.raises(Violation, match="Retry-After") as failure:
        lockout.account_locked(answer(429, "ACCOUNT_LOCKED", retry_after=retry_after))
    assert failure.value.requirement == "LOCK-1"


def test_unlocked_answer_fails():
    with pytest.raises(Violation, match="ACCOUNT_LOCKED"):
        lockout.account_locked(CRASHED)
    with pytest.raises(ExceptionGroup) as group:
        lockout.account_locked(OK)
    assert all(isinstance(v, Violation) and "ACCOUNT_LOCKED" in v.expected for v in group.value.exceptions[:1])


def test_right_password_let_in_is_the_headline_and_a_success_report_is_env7_too():
    """A locked account's login must fail: 200 {"success": true} is LOCK-1's failure and ENV-7's, in one outcome."""
    with pytest.raises(ExceptionGroup) as group:
        lockout.account_locked(OK)
    lock1, env7 = group.value.exceptions
    assert lock1.requirement == "LOCK-1" and lock1.actual.startswith("the right password was accepted: 200")
    assert env7.requirement == "ENV-7" and "success: true" in env7.actual


def test_under_a_should_requirement_the_success_report_is_not_env7s():
    with pytest.raises(Violation) as failure:
        lockout.account_locked(OK, requirement="LOCK-4", retry_after=False)
    assert failure.value.requirement == "LOCK-4"


def test_right_password_let_in_without_a_success_report_is_lock1_alone():
    with pytest.raises(Violation) as failure:
        lockout.account_locked(answer(200, body={"access_token": "a"}))
    assert failure.value.requirement == "LOCK-1"


def test_lock_with_a_generic_code_fails_lock_1_for_the_code_only():
    with pytest.raises(Violation) as failure:
        lockout.account_locked(GENERIC_LOCK)
    assert failure.value.requirement == "LOCK-1"
    assert failure.value.actual == (
        "the account is locked (the attempt was refused), but answered 429 with code "
        "UNKNOWN_ERROR: code UNKNOWN_ERROR instead of ACCOUNT_LOCKED"
    )


def test_bare_429_lock_names_both_missing_code_and_retry_after():
    with pytest.raises(Violation) as failure:
        lockout.account_locked(BARE_429)
    assert failure.value.actual.endswith("no error code (expected ACCOUNT_LOCKED); no Retry-After header")


def test_right_password_refused_as_wrong_is_a_lock_with_the_wrong_status_and_code():
    with pytest.raises(Violation) as failure:
        lockout.account_locked(FAILED)
    assert "status 401 instead of 429; code INVALID_CREDENTIALS instead of ACCOUNT_LOCKED; no Retry-After" in str(
        failure.value
    )


@pytest.mark.parametrize("exchange", [GENERIC_LOCK, BARE_429, FAILED], ids=["generic-code", "bare-429", "401"])
def test_lock_4_judges_the_lock_not_its_labels(exchange):
    lockout.account_locked(exchange, requirement="LOCK-4", retry_after=False)


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
    assert "6 answered 401" in str(failure.value)
    assert "10× 429 with code ACCOUNT_LOCKED" in str(failure.value)


@pytest.mark.parametrize("lock", [GENERIC_LOCK, BARE_429], ids=["generic-code", "bare-429"])
def test_burst_whose_locks_are_mislabelled_passes_lock_2(lock):
    lockout.at_most_n_invalid_credentials([FAILED] * THRESHOLD + [lock] * 40, THRESHOLD)


def test_burst_failure_names_the_send_order():
    exchanges = [FAILED, LOCKED, FAILED, FAILED, FAILED, FAILED, FAILED]
    order = lockout.send_order(exchanges, [f"#{n}:" for n in range(1, 8)])
    assert order == "answers in send order: #1:F #2:L #3:F #4:F #5:F #6:F #7:F"
    with pytest.raises(Violation, match="answers in send order: #1:F #2:L"):
        lockout.at_most_n_invalid_credentials(exchanges, THRESHOLD, order=order)


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


def test_other_account_refused_by_a_mislabelled_lock_fails_lock_3_as_locked():
    with pytest.raises(Violation, match="Actual: refused as locked: 429 with code UNKNOWN_ERROR"):
        lockout.other_account_unaffected(GENERIC_LOCK, correct_password=True)


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
    let_in_while_locked = attempts[-1][1] is OK
    with pytest.raises(ExceptionGroup if let_in_while_locked else Violation) as failure:
        lockout.follows_lockout_policy(attempts, THRESHOLD)
    violations = failure.value.exceptions if let_in_while_locked else (failure.value,)
    assert [v.requirement for v in violations] == ["LOCK-1", "ENV-7"] if let_in_while_locked else ["LOCK-1"]
    assert f"attempt {position} " in str(violations[0])
    assert text in str(violations[0])


def test_sequence_with_a_5xx_fails_lock_2():
    with pytest.raises(Violation) as failure:
        lockout.follows_lockout_policy([(W, FAILED), (W, CRASHED)], THRESHOLD)
    assert failure.value.requirement == "LOCK-2"


def test_sequence_whose_lock_lacks_retry_after_fails():
    with pytest.raises(Violation, match="Retry-After"):
        lockout.follows_lockout_policy([(W, FAILED)] * 5 + [(W, answer(429, "ACCOUNT_LOCKED", retry_after=None))], 5)


@pytest.mark.parametrize("lock", [GENERIC_LOCK, BARE_429], ids=["generic-code", "bare-429"])
def test_sequence_locked_with_a_wrong_label_fails_lock_1_for_the_label_only(lock):
    with pytest.raises(Violation) as failure:
        lockout.follows_lockout_policy([(W, FAILED)] * 5 + [(R, lock), (W, lock)], THRESHOLD)
    assert failure.value.requirement == "LOCK-1"
    assert failure.value.actual.startswith("the account is locked (the attempt was refused)")
    assert failure.value.exchange is lock


def test_sequence_behaviour_is_judged_before_labels():
    """A mislabelled lock at attempt 6 and the right password let in at 7: the lapse is the finding."""
    with pytest.raises(ExceptionGroup) as failure:
        lockout.follows_lockout_policy([(W, FAILED)] * 5 + [(W, GENERIC_LOCK), (R, OK)], THRESHOLD)
    lock1, env7 = failure.value.exceptions
    assert "attempt 7 (right password)" in str(lock1) and env7.requirement == "ENV-7"
    assert lock1.actual.startswith("let in: 200")


def test_sequence_of_rate_limited_attempts_is_skipped_unless_a_control_says_otherwise():
    attempts = [(W, FAILED), (W, BARE_429), (W, BARE_429)]
    lockout.follows_lockout_policy(attempts, THRESHOLD, source_limited=True)
    with pytest.raises(Violation, match="no lock after only 1"):
        lockout.follows_lockout_policy(attempts, THRESHOLD)


# -- an email without an account (LOCK-1/unknown-email) ----------------------------------------


def test_email_without_account_locked_passes_on_the_lock():
    lockout.email_without_account_locked(LOCKED, THRESHOLD)


def test_email_without_account_answered_as_a_wrong_password_again_fails():
    with pytest.raises(Violation, match="refused as a wrong password again: 401 with code INVALID_CREDENTIALS") as f:
        lockout.email_without_account_locked(FAILED, THRESHOLD)
    assert f.value.requirement == "LOCK-1"


def test_email_without_account_locked_but_mislabelled_fails_on_the_labels():
    with pytest.raises(Violation, match="the account is locked"):
        lockout.email_without_account_locked(GENERIC_LOCK, THRESHOLD)


def test_email_without_account_behind_the_rate_limit_is_not_judged():
    with pytest.raises(NotApplicable):
        lockout.email_without_account_locked(LIMITED, THRESHOLD)
