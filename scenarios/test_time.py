"""The time dimension: every revocation and lock of the run, presented again at the end (REV-1..6, LOCK-1, LOCK-4).

A revocation that lapses after a few seconds passes every check made right
after its logout. This module runs *last* (``scenarios/conftest.py`` orders
it), once every entry of the run's ledger (``ledger.py``) is at least
``MIN_AGE`` seconds old -- in a full run the conformance suites have long
passed that, run alone it waits what remains, never more than ``MIN_AGE`` --
and presents each again: a token on every guard class (a refresh token to
``refresh``), a lock by its right password. Each requirement then judges the
lapses that are its own (the ledger's blame), or is blocked by the one whose
lapse in time explains them.

Under ``pytest -n`` every worker has a ledger of its own and no test runs
"last" across workers, so the re-check is *not run* there rather than judged
on a part of the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from conformance.body import describe
from conformance.checks import envelope
from conformance.outcomes import Inconclusive, NotApplicable, NotRun, Violation, should_clause
from conformance.run.parallel import worker_numbers
from scenarios.kit.helpers import present
from scenarios.kit.ledger import MIN_AGE, Entry, Lapse, Ledger
from scenarios.kit.logins import Logins

#: Lapses spelled out in a failure message (the rest are counted).
SHOWN = 3
#: A lock this close to the end of the profile's lock duration is not presented: it may rightly have expired.
LOCK_END_MARGIN_S = 5.0


@dataclass
class Presented:
    entries: list[Entry]
    lapses: dict[str, list[Lapse]]  # by requirement, or "blocked by <ID>"
    exchanges: dict[int, object]  # id(entry) -> the exchange that took it
    unjudged: dict[int, object]  # id(entry) -> an answer that neither refused nor let in (a 5xx, a 429)
    waited: float
    ledger: Ledger


@pytest.fixture(scope="module")
def presented(ledger, api, profile, sides, accounts, pytestconfig) -> Presented:
    if worker_numbers(pytestconfig)[1] > 1:
        raise NotRun(
            "the end-of-run re-check presents every revocation and lock of the run, and pytest -n splits "
            "the run over workers with a ledger each",
            option="a run without -n",
        )
    waited = ledger.wait_until_all_older_than(MIN_AGE)
    logins = Logins(sides, profile, wrong_password="Wrong-" + accounts.password())
    lock_ends = profile.limits.lockout_duration_seconds - LOCK_END_MARGIN_S
    entries = [e for e in ledger.entries if e.family != "lock" or ledger.now() - e.at < lock_ends]
    lapses, exchanges, unjudged = [], {}, {}
    for entry in entries:
        problem, exchange, judged = present(entry, api, profile, logins)
        if problem is not None:
            lapses.append(Lapse(entry, problem, ledger.now() - entry.at))
            exchanges[id(entry)] = exchange
        elif not judged:
            unjudged[id(entry)] = exchange
    return Presented(entries, ledger.blame(lapses), exchanges, unjudged, waited, ledger)


def judge(presented: Presented, requirement: str, what: str, *, must_fail: bool = True) -> None:
    """Fail ``requirement`` for the lapses blamed on it, naming every one; blocked when another's explain them.

    A lapse answered 2xx ``success: true`` is ENV-7's failure too, unless the clause is a SHOULD
    (``must_fail=False``: a rotated refresh token need not be refused).
    """
    __tracebackhide__ = True
    lapsed = presented.lapses.get(requirement, [])
    shown = [presented.exchanges[id(lapse.entry)] for lapse in lapsed]
    if not must_fail:
        _judge(presented, requirement, what)
        return
    envelope.judged_with_success_reports(
        lambda: _judge(presented, requirement, what),
        shown,
        requirement=requirement,
        must_fail=f"every request with one of the {what}",
    )


def _judge(presented: Presented, requirement: str, what: str) -> None:
    __tracebackhide__ = True
    ledger = presented.ledger
    mine = [e for e in presented.entries if ledger.owner(e) == requirement]
    if not mine:
        raise NotApplicable(f"nothing was {what} in this run (or its locks were at the end of their duration)")
    lapsed = presented.lapses.get(requirement, [])
    if not lapsed and all(id(e) in presented.unjudged for e in mine):
        answer = presented.unjudged[id(mine[0])]
        raise Inconclusive(
            f"none of the {len(mine)} {what} could be judged at the end of the run: the answers "
            f"neither refused nor let in (e.g. {describe(answer) if answer else 'no answer'})"
        )
    if lapsed:
        now = ledger.now()
        raise Violation(
            requirement,
            expected=f"every one of the {len(mine)} {what} still refused {MIN_AGE:.0f} s or more later",
            actual=f"{len(lapsed)} taken again: "
            + "; ".join(f"{lapse.entry.describe(now)}: {lapse.problem}" for lapse in lapsed[:SHOWN])
            + (f"; and {len(lapsed) - SHOWN} more" if len(lapsed) > SHOWN else ""),
            exchange=presented.exchanges[id(lapsed[0].entry)],
            hint="keep each revocation for the token's remaining lifetime (and each lock for its duration): "
            "a TTL in seconds where minutes were meant lapses within the run",
        )
    blockers = {
        key.removeprefix("blocked by "): lapses
        for key, lapses in presented.lapses.items()
        if key.startswith("blocked by ") and any(ledger.owner(lapse.entry) == requirement for lapse in lapses)
    }
    if blockers:
        raise NotApplicable(
            f"{what} were taken again, as fast as ones that lived through nothing: the lapse is in "
            "time, not this requirement's",
            blocked_by=tuple(blockers),
        )


@pytest.mark.requirement("REV-1")
@pytest.mark.clause("REV-1/later-in-run")
def test_logged_out_tokens_stay_refused_until_the_end_of_the_run(presented):
    judge(presented, "REV-1", "tokens revoked by logout")


@pytest.mark.requirement("REV-2")
@pytest.mark.clause("REV-2/reuse")
def test_rotated_refresh_tokens_stay_refused_until_the_end_of_the_run(presented, strict):
    """REV-2's SHOULD clause (rotation): a warning, a failure only under --strict."""
    should_clause(lambda: judge(presented, "REV-2", "refresh tokens revoked by rotation", must_fail=False))


@pytest.mark.requirement("REV-3")
@pytest.mark.clause("REV-3/later-in-run")
def test_tokens_revoked_before_a_restart_stay_refused_until_the_end_of_the_run(presented):
    judge(presented, "REV-3", "tokens revoked before a restart")


@pytest.mark.requirement("REV-5")
@pytest.mark.clause("REV-5/later-in-run")
def test_tokens_revoked_before_a_store_outage_stay_refused_until_the_end_of_the_run(presented):
    judge(presented, "REV-5", "tokens revoked before a store outage")


@pytest.mark.requirement("REV-6")
@pytest.mark.clause("REV-6/later-in-run")
def test_tokens_revoked_by_a_password_change_stay_refused_until_the_end_of_the_run(presented):
    judge(presented, "REV-6", "tokens revoked by a password change")


@pytest.mark.requirement("LOCK-1")
@pytest.mark.clause("LOCK-1/later-in-window")
def test_locks_hold_later_in_their_window(presented, profile):
    window = profile.limits.lockout_duration_seconds
    if window <= MIN_AGE:
        raise NotApplicable(f"the profile's lock lasts {window} s, no longer than the re-check's {MIN_AGE:.0f} s")
    judge(presented, "LOCK-1", "accounts locked by failed logins")


@pytest.mark.requirement("LOCK-4")
@pytest.mark.clause("LOCK-4/later-in-run")
def test_locks_made_before_a_restart_or_outage_hold_until_the_end_of_the_run(presented, profile):
    if profile.limits.lockout_duration_seconds <= MIN_AGE:
        raise NotApplicable("the profile's lock is shorter than the re-check's wait")
    judge(presented, "LOCK-4", "accounts locked before a restart or store outage")
