"""Account lockout under sequences, concurrency and interleavings (LOCK-1 .. LOCK-3).

Every example attacks accounts and unknown emails made for it alone, but for
the run's one locked account (``kit/lock_history.py``): made once, the first
time a test asks for it, and judged by every test that needs a lock (LOCK-1,
ENV-3, LOCK-3 and the sequence model's pinned example), since judging a lock
does not consume it. Its
logins come from fresh loopback source addresses, never more per address than
the login limit the profile declares (``logins.py``), so the per-IP limit is not
what gets measured: there a 429 is the account's lock, whatever its code, and a
*control* from the same address settles any doubt. Where the rate limit still
answers, the answer is neither a failure nor a lock, and a run that could judge
nothing is inconclusive. Behaviour is judged before labels: "locked" is the
right password refused; LOCK-1 alone judges 429 ``ACCOUNT_LOCKED`` with
``Retry-After``. Persistence across restarts and instances (LOCK-4) is in
``test_restart.py`` and ``test_instances.py``; the lock held later in its window,
``test_time.py``.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, note

from conformance.checks import envelope, lockout
from conformance.outcomes import Inconclusive, NotApplicable, NotRun, Violation
from scenarios.kit.burst import send_concurrently
from scenarios.kit.lock_history import sequence as history_sequence
from scenarios.kit.race import RACE_ROUNDS, burst_size
from scenarios.kit.strategies import (
    AttackPlan,
    Attempt,
    EmailCase,
    attack_plans,
    login_sequences,
    pinned_in_budget,
    scarce,
)

SAME, UPPER = EmailCase((False,)), EmailCase((True,))


def _judged(exchanges, source_limited=None) -> list:
    return [e for e in exchanges if lockout.answer_kind(e, source_limited=source_limited) != lockout.LIMITED]


def _record(api, exchanges) -> None:
    for exchange in exchanges:
        api.record(exchange)


@pytest.mark.requirement("LOCK-2")
@pytest.mark.clause("LOCK-2/concurrent-burst", "LOCK-2/no-5xx")
def test_concurrent_wrong_passwords_get_at_most_threshold_invalid_credentials(target, api, profile, sides, logins):
    threshold = profile.limits.lockout_threshold
    own_address = sides.sources.enabled
    size = burst_size(profile, own_address=own_address, spread=True)
    if size <= threshold:
        raise NotRun(
            f"the login rate limit ({profile.rate_limits.login}) leaves no room for a burst "
            f"of more than {threshold} attempts",
            option="a target on 127.0.0.1 (bursts from other loopback addresses)",
        )

    for _ in range(RACE_ROUNDS if own_address else 1):  # one address: one burst per rate-limit window
        email = logins.side().accounts.next_email()  # never registered: counting must not need an account
        planned = logins.burst([(email, logins.wrong, 0.0)] * size)
        exchanges = send_concurrently(
            target.base_url, planned, concurrency=size, warm_path=profile.operation("health").path
        )
        logins.sent(planned, exchanges)
        _record(api, exchanges)
        limited = logins.source_limited(exchanges)
        judged = _judged(exchanges, limited)
        if len(judged) <= threshold:
            raise Inconclusive(f"the rate limit answered {size - len(judged)} of {size} attempts")

        lockout.at_most_n_invalid_credentials(
            exchanges, threshold, source_limited=limited, order=lockout.send_order(exchanges, source_limited=limited)
        )


@pytest.mark.requirement("LOCK-1")
@pytest.mark.clause("LOCK-1/threshold", "LOCK-1/right-password-refused", "LOCK-1/retry-after")
def test_account_locked_by_failures_refuses_even_the_right_password(api, lock_history):
    """After the threshold's failures the right password is refused, as registered and upper-cased, labelled as
    the lock: the run's lock history (``kit/lock_history.py``), which this test is the first to ask for."""
    lock_history.record(api)
    try:
        for attempt in lock_history.right:
            lockout.account_locked(attempt, source_limited=lock_history.limited)  # the lock first, then its labels
    except NotApplicable as why:
        raise Inconclusive(str(why)) from None


@pytest.mark.requirement("LOCK-1")
@pytest.mark.clause("LOCK-1/unknown-email")
def test_email_without_an_account_is_locked_alike(profile, sides, logins):
    """§6: counting is per email, also for emails that have no account, so a lock does not reveal accounts.

    Such an email has no right password: after N failures every further attempt
    (two, the second with the email upper-cased) must be refused as locked.
    """
    threshold = profile.limits.lockout_threshold
    email = logins.side().accounts.next_email()  # never registered
    for _ in range(threshold):
        logins.login(email, logins.wrong)
    attempts = [logins.login(email, logins.wrong), logins.login(email.upper(), logins.wrong)]
    limited = logins.source_limited(attempts)
    try:
        for attempt in attempts:
            lockout.email_without_account_locked(attempt, threshold, source_limited=limited)
    except NotApplicable as why:
        raise Inconclusive(str(why)) from None


@pytest.mark.requirement("ENV-3")
@pytest.mark.clause("ENV-3/account-locked")
def test_locked_account_is_answered_with_the_lock_code_of_the_table(api, profile, lock_history):
    """The lock's status and code as an entry of the code table (ENV-3), apart from LOCK-1, whose own text names
    them too: a lock answered ``UNKNOWN_ERROR`` fails both, the lock's behaviour neither (it is judged elsewhere).
    Judged on the lock history's first right password."""
    lock_history.record(api)
    if lock_history.problem:
        raise NotApplicable(f"no lock to judge: {lock_history.problem}", blocked_by="LOCK-1")
    envelope.status_matches_code(lock_history.right[0], profile, expected_code="ACCOUNT_LOCKED")


@pytest.mark.requirement("LOCK-3")
@pytest.mark.clause("LOCK-3/other-account")
def test_lock_of_one_account_leaves_other_accounts_alone(api, user, logins, lock_history):
    """With the lock history's account locked, the run's shared account answers as ever: a wrong password is a
    failure (one only: it is the run's), the right one lets it in."""
    lock_history.record(api)
    if lock_history.problem:  # no lock seen: LOCK-1's failure (inconclusive when LOCK-1 could not judge it either)
        raise NotApplicable(f"no locked account beside it: {lock_history.problem}", blocked_by="LOCK-1")

    wrong = logins.login(user.email, logins.wrong)
    right = logins.login(user.email, user.password)
    limited = logins.source_limited([wrong, right])
    try:
        lockout.other_account_unaffected(wrong, correct_password=False, source_limited=limited)
        lockout.other_account_unaffected(right, correct_password=True, source_limited=limited)
    except NotApplicable as why:
        raise Inconclusive(str(why)) from None


def _follows_policy(attempts, threshold: int, control) -> bool | None:
    """Judge one account's attempts by the sequence model; ``control()`` is asked only when a 429 is in doubt.

    Returns what the control showed (None when it was not asked or showed nothing).
    """
    __tracebackhide__ = True
    try:
        lockout.follows_lockout_policy(attempts, threshold)
    except Violation:
        limited = control()
        if limited is None:
            raise
        lockout.follows_lockout_policy(attempts, threshold, source_limited=limited)
        return limited
    return None


@pytest.mark.requirement("LOCK-1", "LOCK-2")
@pytest.mark.clause("LOCK-1/threshold", "LOCK-1/email-case", "LOCK-2/sequences")
def test_any_login_sequence_follows_the_lockout_policy(api, profile, sides, logins, lock_history, conformance_note):
    """The pinned example is the run's lock history (failures under mixed cases of one email count for one
    account and lock it for every case), judged as sent; generated sequences follow where logins are not scarce."""
    threshold = profile.limits.lockout_threshold
    judged: list[int] = []

    lock_history.record(api)
    pinned = lock_history.policy_attempts
    try:
        limited = _follows_policy(pinned, threshold, lambda: lock_history.limited)
    except Violation:
        conformance_note(f"the pinned sequence (the run's lock history): {_shown(history_sequence(threshold))}")
        raise
    judged.append(len(_judged((e for _, e in pinned), limited)))

    @given(sequence=login_sequences(max_size=2 * threshold + 2))
    def run(sequence):
        note(f"sequence: {sequence!r}")  # this Hypothesis prints drawn arguments empty in "Failing test case"
        account = sides.new().accounts.new(login=False)
        attempts = []
        for correct, case in sequence:
            exchange = logins.login(case.apply(account.email), account.password if correct else logins.wrong)
            # The right password under another case of the email: the SUT may take it or not.
            attempts.append((None if correct and not case.is_identity else correct, exchange))
        sent = [e for _, e in attempts]
        limited = _follows_policy(attempts, threshold, lambda: logins.source_limited(sent))  # a control if in doubt
        judged.append(len(_judged(sent, limited)))

    if not sides.sources.enabled and scarce(profile.rate_limits.login):
        # One address at a tight declared limit: each example costs a fresh account and up to 2N+2 paced logins,
        # so only the pinned example, the lock history the other lockout tests share, is judged.
        conformance_note("single source address at a tight login limit: the pinned login sequence only")
    else:
        run()
    if not any(judged):
        raise Inconclusive("the rate limit answered every attempt of every example")


def _shown(attempts) -> str:
    """A login sequence in short: ``-`` a wrong password, ``+`` the right one, ``U`` the email upper-cased."""
    return " ".join(("+" if right else "-") + ("" if case.is_identity else "U") for right, case in attempts)


#: Dense pinned plans, every run: all attempts in flight at once.
DENSE_ONE = AttackPlan(1, tuple(Attempt(0, UPPER if n % 2 else SAME, 0.0) for n in range(24)), 24)
DENSE_THREE = AttackPlan(3, tuple(Attempt(n % 3, UPPER if n % 4 == 1 else SAME, 0.0) for n in range(36)), 36)


@pytest.mark.requirement("LOCK-2", "LOCK-3")
@pytest.mark.clause("LOCK-2/interleaved", "LOCK-2/no-5xx", "LOCK-3/interleaved")
def test_interleaved_concurrent_attacks_lock_only_their_targets(target, api, profile, sides, logins):
    threshold = profile.limits.lockout_threshold
    judged: list[int] = []
    health = profile.operation("health").path
    if not sides.sources.enabled and burst_size(profile, own_address=False) <= threshold:
        raise NotRun(
            f"one source address at the declared login limit ({profile.rate_limits.login}) leaves no room "
            f"for more than {threshold} attempts in flight",
            option="a higher login limit for the harness's "
            "address, or a target on 127.0.0.1 without --single-source (bursts from other loopback "
            "addresses)",
        )

    @given(plan=attack_plans(max_attempts=burst_size(profile, own_address=sides.sources.enabled, spread=True) // 2))
    @pinned_in_budget(2)
    # The densest races every run: one account, all attempts at once, half of them upper-cased;
    # three accounts interleaved round-robin, 36 in flight.
    @example(plan=DENSE_ONE)
    @example(plan=DENSE_THREE)
    def run(plan):
        note(f"plan: {plan!r}")
        made = sides.new().accounts
        victim, bystander = made.new(login=False), made.new(login=False)
        emails = [victim.email] + [made.next_email() for _ in range(plan.accounts - 1)]
        planned = logins.burst([(a.case.apply(emails[a.account]), logins.wrong, a.delay) for a in plan.attempts])
        exchanges = send_concurrently(target.base_url, planned, concurrency=plan.concurrency, warm_path=health)
        logins.sent(planned, exchanges)
        _record(api, exchanges)
        limited = logins.source_limited(exchanges)
        for index in range(plan.accounts):
            mine = [(n, a, e) for n, (a, e) in enumerate(zip(plan.attempts, exchanges), start=1) if a.account == index]
            labels = [f"#{n}{'' if a.case.is_identity else 'U'}:" for n, a, _ in mine]  # U: upper-cased email
            order = lockout.send_order([e for _, _, e in mine], labels, source_limited=limited)
            lockout.at_most_n_invalid_credentials(
                [e for _, _, e in mine],
                threshold,
                source_limited=limited,
                order=f"account {index} of {plan.accounts}, {plan.concurrency} in flight; {order}",
            )
        on_victim = _judged((e for a, e in zip(plan.attempts, exchanges) if a.account == 0), limited)
        if len(on_victim) >= threshold:
            _locked_after_the_burst(logins, victim, len(on_victim))
        try:
            right = logins.login(bystander.email, bystander.password)
            lockout.other_account_unaffected(
                right, correct_password=True, source_limited=logins.source_limited([right])
            )
        except NotApplicable:
            return
        judged.append(len(_judged(exchanges, limited)))

    run()
    if not any(judged):
        raise Inconclusive("the rate limit answered every attempt of every example")


def _locked_after_the_burst(logins, victim, failures: int) -> None:
    """After concurrent failures the account is locked: if its right password is let in, failures were lost (LOCK-2).

    Only the behaviour: how the lock is labelled is LOCK-1's.
    """
    __tracebackhide__ = True
    attempt = logins.login(victim.email, victim.password)
    try:
        lockout.account_locked(
            attempt, requirement="LOCK-2", retry_after=False, source_limited=logins.source_limited([attempt])
        )
    except NotApplicable:
        pass
    except Violation as violation:
        violation.actual += f" after {failures} concurrent wrong passwords"
        raise Violation(
            "LOCK-2",
            expected=violation.expected,
            actual=violation.actual,
            exchange=attempt,
            hint="count failures atomically: concurrent failures were lost",
        ) from None
