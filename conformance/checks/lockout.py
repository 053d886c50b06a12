"""Account lockout of contract §6 (LOCK-1 .. LOCK-4): what the SUT did first, how it labelled it second.

Every login answer is sorted by what it *did* (:func:`answer_kind`), not by its code:

    ok            2xx: the attempt was let in
    failed        401, whatever its code: refused as a wrong password (what LOCK-2 counts)
    locked        refused as a lock: a 429 that is not the source address's rate limit,
                  or any answer coded ACCOUNT_LOCKED
    rate-limited  a 429 of the source address's per-IP rate limit: neither a failure nor a lock
    5xx           a server error
    other         anything else (e.g. 403 EMAIL_NOT_VERIFIED)

Lock or rate limit, black-box: a rate limit refuses every email from one
source address, a lock refuses one account's attempts, the right password
included. The scenarios send from fresh loopback addresses and stay within the
login limit the profile declares, so there a 429 is not the declared rate limit.
Where that matters for a verdict they send a *control* -- a wrong password for
an email never used, from the same address, right after -- and pass what it
showed as ``source_limited``: ``True`` (the control got a 429 too: the address
is limited), ``False`` (it was answered: the 429 was the account's), ``None``
(no control: the code decides, ``RATE_LIMIT_EXCEEDED`` meaning the rate limit).

"Locked" is seen in the refused right password (:func:`right_password_refused`).
How the lock is labelled -- 429, ``ACCOUNT_LOCKED``, ``Retry-After`` -- is
named by LOCK-1's own text, so LOCK-1 judges it (:func:`lock_labelled`), and
only LOCK-1: LOCK-2, LOCK-3 and LOCK-4 judge behaviour, so that a SUT that
locks but says ``UNKNOWN_ERROR`` fails LOCK-1 (and ENV-3) and nothing else.

The contract leaves two details open, and the sequential model of
:func:`follows_lockout_policy` accepts both readings rather than guess:

- whether the N-th failure is answered as a failure (and locks the account for
  the next attempt) or already as locked;
- whether a successful login resets the failure counter.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from conformance.body import describe, error_code
from conformance.checks import envelope
from conformance.checks.limits import refusal_problems
from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable, Violation

INVALID = "INVALID_CREDENTIALS"
LOCKED = "ACCOUNT_LOCKED"
RATE_LIMITED = "RATE_LIMIT_EXCEEDED"

#: Kinds of login answer (values of :func:`answer_kind`).
OK, FAILED, LOCK, LIMITED, SERVER_ERROR, OTHER = "ok", "failed", "locked", "rate-limited", "5xx", "other"
#: Letters of the kinds, for the compact send-order strings of race failures.
LETTER = {OK: "+", FAILED: "F", LOCK: "L", LIMITED: "r", SERVER_ERROR: "5", OTHER: "?"}

LIMITED_REASON = "the per-IP rate limit answered before the lockout could"


def answer_kind(exchange: Exchange, *, source_limited: bool | None = None) -> str:
    """Sort a login answer by what it did; see the module docstring for ``source_limited``."""
    status, code = exchange.response.status, error_code(exchange)
    if 200 <= status < 300:
        return OK
    if status >= 500:
        return SERVER_ERROR
    if status == 429:
        if source_limited is None:
            return LIMITED if code == RATE_LIMITED else LOCK
        return LIMITED if source_limited else LOCK
    if code == LOCKED:
        return LOCK
    if status == 401:
        return FAILED
    return OTHER


def right_password_refused(exchange: Exchange, *, source_limited: bool | None = None) -> bool:
    """Whether the right password was refused as by a lock (any 4xx but the address's rate limit).

    ``NotApplicable`` when the rate limit answered, so nothing is known.
    """
    kind = answer_kind(exchange, source_limited=source_limited)
    if kind == LIMITED:
        raise NotApplicable(LIMITED_REASON)
    return kind not in (OK, SERVER_ERROR)


def lock_labelled(exchange: Exchange, *, requirement: str = "LOCK-1", status: int = 429) -> None:
    """LOCK-1's labels: a locked account's answer is 429 ``ACCOUNT_LOCKED`` with ``Retry-After``.

    Judge only an answer already known to be the lock; every missing label is named.
    """
    __tracebackhide__ = True
    problems = refusal_problems(exchange, status=status, code=LOCKED)
    if problems:
        raise Violation(
            requirement,
            expected=f"{status} with code {LOCKED} and a Retry-After header (the account is locked)",
            actual=f"the account is locked (the attempt was refused), but answered {describe(exchange)}: "
            + "; ".join(problems),
            exchange=exchange,
            hint=f"answer a locked account with {LOCKED} and the seconds the lock has left in Retry-After",
        )


def account_locked(
    exchange: Exchange, *, requirement: str = "LOCK-1", retry_after: bool = True, source_limited: bool | None = None
) -> None:
    """The right password of a locked account is refused; with ``retry_after`` (LOCK-1) also labelled as a lock.

    LOCK-4 (the lock persists, is shared) asks only whether the lock is still
    there: ``retry_after=False`` leaves the labels to LOCK-1, so that one
    defect fails one requirement. A right password let in with 2xx ``success: true`` is ENV-7's failure
    too (under a MUST: LOCK-4 is a SHOULD).
    """
    __tracebackhide__ = True
    envelope.judged_with_success_reports(
        lambda: _account_locked(exchange, requirement, retry_after, source_limited),
        [exchange],
        requirement=requirement,
        must_fail="a login of a locked account",
    )


def _account_locked(exchange: Exchange, requirement: str, retry_after: bool, source_limited: bool | None) -> None:
    __tracebackhide__ = True
    if not right_password_refused(exchange, source_limited=source_limited):
        accepted = answer_kind(exchange) == OK
        raise Violation(
            requirement,
            expected=f"the right password refused (429 with code {LOCKED}): the account is locked",
            actual=("the right password was accepted: " if accepted else "") + describe(exchange),
            exchange=exchange,
            hint="check the lock before verifying the password, and answer every attempt while it holds",
        )
    if retry_after:
        lock_labelled(exchange, requirement=requirement)


def email_without_account_locked(exchange: Exchange, failures: int, *, source_limited: bool | None = None) -> None:
    """LOCK-1: after ``failures`` wrong passwords for an email no account has, the next attempt is the lock.

    Such an email has no right password, so the lock shows in the answer
    itself: refused as locked (not once more as a wrong password), labelled
    429 ``ACCOUNT_LOCKED`` with ``Retry-After`` like a registered account's.
    """
    __tracebackhide__ = True
    kind = answer_kind(exchange, source_limited=source_limited)
    if kind == LIMITED:
        raise NotApplicable(LIMITED_REASON)
    if kind != LOCK:
        raise Violation(
            "LOCK-1",
            expected=f"429 with code {LOCKED}: {failures} failures lock an email without an account too",
            actual=("refused as a wrong password again: " if kind == FAILED else "") + describe(exchange),
            exchange=exchange,
            hint="count failures per lower-cased email whether or not an account has it (§6), so that "
            "the lockout does not tell which accounts exist",
        )
    lock_labelled(exchange)


def no_server_errors(exchanges: Iterable[Exchange], *, requirement: str = "LOCK-2") -> None:
    """No login attempt, however concurrent, is answered with a 5xx."""
    __tracebackhide__ = True
    for exchange in exchanges:
        if exchange.response.status >= 500:
            raise Violation(
                requirement,
                expected="no 5xx answer to any login attempt",
                actual=describe(exchange),
                exchange=exchange,
                hint="make the failure counter atomic instead of retrying or failing on contention",
            )


def at_most_n_invalid_credentials(
    exchanges: Sequence[Exchange], threshold: int, *, source_limited: bool | None = None, order: str | None = None
) -> None:
    """LOCK-2: attempts on one account within one window get at most ``threshold`` failures (401).

    ``exchanges`` are the answers to wrong-password attempts on one account (or
    one unknown email), concurrent or not, with no successful login among them
    (a success may reset the counter); ``order``, when given, says how they were
    sent, for the failure message. Also: none of them is a 5xx.
    """
    __tracebackhide__ = True
    no_server_errors(exchanges)
    failed = refused_as_invalid(exchanges, source_limited=source_limited)
    if len(failed) > threshold:
        raise Violation(
            "LOCK-2",
            expected=f"at most {threshold} of {len(exchanges)} wrong-password attempts refused as failures "
            f"(401 {INVALID}), the rest as locked",
            actual=f"{len(failed)} answered 401 ({tally(exchanges)})" + (f"; {order}" if order else ""),
            exchange=failed[threshold],
            hint="count failures with one atomic operation (INCR, a Lua script or MULTI/EXEC), "
            "not read-then-write across an await",
        )


def refused_as_invalid(exchanges: Iterable[Exchange], *, source_limited: bool | None = None) -> list[Exchange]:
    """The answers that were refusals as a wrong password (what LOCK-2 counts)."""
    return [e for e in exchanges if answer_kind(e, source_limited=source_limited) == FAILED]


def other_account_unaffected(exchange: Exchange, *, correct_password: bool, source_limited: bool | None = None) -> None:
    """LOCK-3: an account that was not attacked answers as if no other account were locked."""
    __tracebackhide__ = True
    kind = answer_kind(exchange, source_limited=source_limited)
    if kind == LIMITED:
        raise NotApplicable(LIMITED_REASON)
    expected = OK if correct_password else FAILED
    if kind != expected:
        raise Violation(
            "LOCK-3",
            expected="a successful login" if correct_password else f"401 {INVALID} (not locked)",
            actual=("refused as locked: " if kind == LOCK else "") + describe(exchange),
            exchange=exchange,
            hint="key the failure counter and the lock by the account's lower-cased email, nothing broader",
        )


def follows_lockout_policy(
    attempts: Sequence[tuple[bool | None, Exchange]], threshold: int, *, source_limited: bool | None = None
) -> None:
    """LOCK-1 and LOCK-2 on one account's attempts, sent one after the other, in order.

    Each attempt is ``(correct, exchange)``: ``correct`` is True for the right
    password, False for a wrong one, None when the SUT may take it either way
    (the right password under a case variant of the email). The model tracks
    every failure count the SUT may be in; an answer that no count allows is a
    violation. Rate-limited answers are skipped (the attempt may or may not
    have been counted). Behaviour is judged over the whole sequence first; only
    then the labels of the answers that were the lock (LOCK-1).
    """
    __tracebackhide__ = True
    counts = {0}
    locked_answers: list[Exchange] = []
    for position, (correct, exchange) in enumerate(attempts, start=1):
        kind = answer_kind(exchange, source_limited=source_limited)
        if kind == SERVER_ERROR:
            no_server_errors([exchange])
        if kind == LIMITED:
            counts |= {min(c + 1, threshold) for c in counts} if correct is not True else set()
            continue
        following = {n for c in counts for n in _next_counts(c, correct, kind, threshold)}
        if not following:
            violation = _policy_violation(position, correct, exchange, kind, counts, threshold)
            if min(counts) >= threshold:  # a login of a locked account, which must fail: a 2xx success is ENV-7's too
                envelope.judged_with_success_reports(
                    functools.partial(_raise, violation),
                    [exchange],
                    requirement="LOCK-1",
                    must_fail="a login of a locked account",
                )
            raise violation
        if kind == LOCK or min(counts) >= threshold:  # an answer of the lock: LOCK-1 judges its labels
            locked_answers.append(exchange)
        counts = following
    for exchange in locked_answers:
        lock_labelled(exchange)


def _raise(violation: Violation) -> None:
    __tracebackhide__ = True
    raise violation


def _next_counts(count: int, correct: bool | None, kind: str, threshold: int) -> set[int]:
    """The failure counts that may follow ``count`` when an attempt got ``kind``; empty if not allowed."""
    if count >= threshold:
        if correct is False:
            return {count} if kind == LOCK else set()
        return {count} if kind not in (OK, SERVER_ERROR) else set()  # the right password refused: locked
    if kind == OK and correct is not False:
        return {0, count}
    if kind == FAILED and correct is not True:
        return {count + 1}
    if kind == LOCK and correct is not True and count == threshold - 1:
        return {threshold}
    return set()


def _policy_violation(
    position: int, correct: bool | None, exchange: Exchange, kind: str, counts: set[int], threshold: int
) -> Violation:
    attempt = {True: "right password", False: "wrong password", None: "right password, email case variant"}[correct]
    failures = " or ".join(str(c) for c in sorted(counts))
    actual = describe(exchange)
    if min(counts) >= threshold:
        expected = f"refused as locked (429 {LOCKED}): {failures} failures already locked the account"
        hint = "lock the account once the threshold is reached and refuse every attempt, right password included"
        if kind == OK:
            actual = f"let in: {actual} (the account was not locked)"
    elif kind == LOCK:
        expected = f"no lock after only {failures} failure(s) (threshold {threshold})"
        hint = f"lock after {threshold} failures, not fewer"
    else:
        expected = "a successful login" if correct else f"401 {INVALID}"
        expected += f" ({failures} of {threshold} failures so far)"
        hint = None
    return Violation(
        "LOCK-1", expected=f"attempt {position} ({attempt}): {expected}", actual=actual, exchange=exchange, hint=hint
    )


def tally(exchanges: Iterable[Exchange]) -> str:
    """``40× 429 with code ACCOUNT_LOCKED, 5× 401 ...``: the answers of a burst, most frequent first."""
    counts: dict[str, int] = {}
    for exchange in exchanges:
        label = describe(exchange)
        counts[label] = counts.get(label, 0) + 1
    return ", ".join(f"{n}× {label}" for label, n in sorted(counts.items(), key=lambda item: -item[1]))


def send_order(
    exchanges: Sequence[Exchange], labels: Sequence[str] | None = None, *, source_limited: bool | None = None
) -> str:
    """The answers in the order the requests were sent, one letter each (F failed, L locked, + ok, r limited).

    ``labels`` (e.g. the account or email case of each attempt) prefix the letters.
    """
    letters = [LETTER[answer_kind(e, source_limited=source_limited)] for e in exchanges]
    if labels is not None:
        letters = [f"{label}{letter}" for label, letter in zip(labels, letters)]
    return "answers in send order: " + " ".join(letters)
