"""Account lockout under sequences, concurrency and interleavings (LOCK-1 .. LOCK-3).

Every example attacks accounts and unknown emails made for it alone, from its
own loopback source address when the target allows (see ``sources.py``), so
the per-IP login limit is not what gets measured; where it still answers
(429 ``RATE_LIMIT_EXCEEDED``) the answer is neither a failure nor a lock, and a
run that could judge nothing is inconclusive. Persistence across restarts and
instances (LOCK-4) is in ``test_restart.py`` and ``test_instances.py``.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, note

from conformance.checks import lockout
from conformance.outcomes import Inconclusive, NotApplicable, NotRun
from scenarios.burst import login_request, send_concurrently
from scenarios.helpers import lock_account, wrong_password
from scenarios.race import RACE_ROUNDS, burst_size, wrong_password_burst
from scenarios.strategies import AttackPlan, Attempt, EmailCase, attack_plans, login_sequences


SAME, UPPER = EmailCase((False,)), EmailCase((True,))


def _judged(exchanges) -> list:
    return [e for e in exchanges if lockout.answer_kind(e) != lockout.LIMITED]


def _record(api, exchanges) -> None:
    for exchange in exchanges:
        api.record(exchange)


@pytest.mark.requirement("LOCK-2")
def test_concurrent_wrong_passwords_get_at_most_threshold_invalid_credentials(target, api, accounts, profile, sides):
    threshold = profile.limits.lockout_threshold
    own_address = sides.sources.enabled
    size = burst_size(profile, own_address=own_address)
    if size <= threshold:
        raise NotRun(f"the login rate limit ({profile.rate_limits.login}) leaves no room for a burst "
                     f"of more than {threshold} attempts", option="a target on 127.0.0.1 (bursts from other "
                     "loopback addresses)")  # fmt: skip

    for _ in range(RACE_ROUNDS if own_address else 1):  # one address: one burst per rate-limit window
        side = sides.new()
        email = side.accounts.next_email()  # never registered: counting must not depend on the account existing
        exchanges = wrong_password_burst(target.base_url, profile, email, wrong_password(accounts), size=size,
                                         local_address=side.address)  # fmt: skip
        _record(api, exchanges)
        if len(_judged(exchanges)) <= threshold:
            raise Inconclusive(f"the rate limit answered {size - len(_judged(exchanges))} of {size} attempts")

        lockout.at_most_n_invalid_credentials(exchanges, threshold)


@pytest.mark.requirement("LOCK-1")
def test_account_locked_by_failures_refuses_even_the_right_password(profile, accounts, sides):
    side = sides.new()
    account = side.accounts.new(login=False)
    problem = lock_account(side.api, account.email, profile.limits.lockout_threshold, wrong_password(accounts))
    if problem:
        raise Inconclusive(problem)

    lockout.account_locked(side.api.login(account.email, account.password))
    lockout.account_locked(side.api.login(account.email.upper(), account.password))


@pytest.mark.requirement("LOCK-3")
def test_lock_of_one_account_leaves_other_accounts_alone(profile, accounts, sides):
    side = sides.new()
    victim, bystander = side.accounts.new(login=False), side.accounts.new(login=False)
    wrong = wrong_password(accounts)
    problem = lock_account(side.api, victim.email, profile.limits.lockout_threshold, wrong)
    if problem:
        raise Inconclusive(problem)

    lockout.other_account_unaffected(side.api.login(bystander.email, wrong), correct_password=False)
    lockout.other_account_unaffected(side.api.login(bystander.email, bystander.password), correct_password=True)


@pytest.mark.requirement("LOCK-1", "LOCK-2")
def test_any_login_sequence_follows_the_lockout_policy(profile, accounts, sides):
    threshold = profile.limits.lockout_threshold
    wrong = wrong_password(accounts)
    judged: list[int] = []

    @given(sequence=login_sequences(max_size=2 * threshold + 2))
    # Failures under mixed cases of the email count for one account, and lock it for its exact address.
    @example(sequence=[(False, UPPER), (False, SAME)] * ((threshold + 1) // 2) + [(True, SAME)])
    def run(sequence):
        note(f"sequence: {sequence!r}")  # this Hypothesis prints drawn arguments empty in "Failing test case"
        side = sides.new()
        account = side.accounts.new(login=False)
        attempts = []
        for correct, case in sequence:
            exchange = side.api.login(case.apply(account.email), account.password if correct else wrong)
            # The right password under another case of the email: the SUT may take it or not.
            attempts.append((None if correct and not case.is_identity else correct, exchange))
        lockout.follows_lockout_policy(attempts, threshold)
        judged.append(len(_judged(e for _, e in attempts)))

    run()
    if not any(judged):
        raise Inconclusive("the rate limit answered every attempt of every example")


@pytest.mark.requirement("LOCK-2", "LOCK-3")
def test_interleaved_concurrent_attacks_lock_only_their_targets(target, api, profile, accounts, sides):
    threshold = profile.limits.lockout_threshold
    wrong = wrong_password(accounts)
    judged: list[int] = []
    health = profile.operation("health").path

    @given(plan=attack_plans(max_attempts=burst_size(profile, own_address=True) // 2))
    # The densest race every run: one account, all attempts at once, half of them upper-cased.
    @example(plan=AttackPlan(1, tuple(Attempt(0, UPPER if n % 2 else SAME, 0.0) for n in range(24)), 24))
    def run(plan):
        note(f"plan: {plan!r}")
        side = sides.new()
        victim, bystander = side.accounts.new(login=False), side.accounts.new(login=False)
        emails = [victim.email] + [side.accounts.next_email() for _ in range(plan.accounts - 1)]
        planned = [login_request(profile, a.case.apply(emails[a.account]), wrong, delay=a.delay) for a in plan.attempts]
        exchanges = send_concurrently(target.base_url, planned, concurrency=plan.concurrency, warm_path=health,
                                      local_address=side.address)  # fmt: skip
        _record(api, exchanges)
        for index in range(plan.accounts):
            lockout.at_most_n_invalid_credentials(
                [e for a, e in zip(plan.attempts, exchanges) if a.account == index], threshold)  # fmt: skip
        on_victim = _judged(e for a, e in zip(plan.attempts, exchanges) if a.account == 0)
        if len(on_victim) >= threshold:
            _locked_or_limited(side.api.login(victim.email, victim.password))
        try:
            lockout.other_account_unaffected(side.api.login(bystander.email, bystander.password), correct_password=True)
        except NotApplicable:
            return
        judged.append(len(_judged(exchanges)))

    run()
    if not any(judged):
        raise Inconclusive("the rate limit answered every attempt of every example")


def _locked_or_limited(exchange) -> None:
    """After concurrent failures the account is locked: if not, failures were lost, a race (LOCK-2)."""
    try:
        lockout.account_locked(exchange, requirement="LOCK-2", retry_after=False)
    except NotApplicable:
        pass
