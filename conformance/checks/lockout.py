"""Account lockout of contract §6 (LOCK-1 .. LOCK-4).

Every login answer is first sorted into one of a few kinds (:func:`answer_kind`).
A per-IP rate limit may answer before the lockout counter is consulted: such
answers (429 ``RATE_LIMIT_EXCEEDED``) are neither a failure nor a lock, so the
checks skip them and the scenarios treat a run made only of them as
inconclusive.

The contract leaves two details open, and the sequential model of
:func:`follows_lockout_policy` accepts both readings rather than guess:

- whether the N-th failure is answered ``INVALID_CREDENTIALS`` (and locks the
  account for the next attempt) or already ``ACCOUNT_LOCKED``;
- whether a successful login resets the failure counter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from conformance.body import describe, error_code
from conformance.checks.limits import retry_after_is_valid
from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable, Violation

INVALID = "INVALID_CREDENTIALS"
LOCKED = "ACCOUNT_LOCKED"
RATE_LIMITED = "RATE_LIMIT_EXCEEDED"

#: Kinds of login answer (values of :func:`answer_kind`).
OK, FAILED, LOCK, LIMITED, SERVER_ERROR, OTHER = "ok", "failed", "locked", "rate-limited", "5xx", "other"


def answer_kind(exchange: Exchange) -> str:
    """Sort a login answer: ``ok``, ``failed``, ``locked``, ``rate-limited``, ``5xx`` or ``other``."""
    status, code = exchange.response.status, error_code(exchange)
    if 200 <= status < 300:
        return OK
    if status >= 500:
        return SERVER_ERROR
    if status == 401 and code == INVALID:
        return FAILED
    if status == 429 and code == LOCKED:
        return LOCK
    if status == 429 and code == RATE_LIMITED:
        return LIMITED
    return OTHER


def account_locked(exchange: Exchange, *, requirement: str = "LOCK-1", retry_after: bool = True) -> None:
    """A locked account's attempt is 429 ``ACCOUNT_LOCKED`` with a ``Retry-After`` header.

    LOCK-4 (the lock persists, is shared) asks only whether the lock is still
    there: ``retry_after=False`` leaves the header to LOCK-1, so that one
    defect fails one requirement.
    """
    __tracebackhide__ = True
    kind = answer_kind(exchange)
    if kind == LIMITED:
        raise NotApplicable("the per-IP rate limit answered before the lockout could")
    if kind != LOCK:
        raise Violation(
            requirement,
            expected=f"429 with code {LOCKED} (the account is locked)",
            actual=describe(exchange),
            exchange=exchange,
            hint="check the lock before verifying the password, and answer every attempt while it holds",
        )
    if retry_after:
        retry_after_is_valid(exchange, requirement)


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


def at_most_n_invalid_credentials(exchanges: Sequence[Exchange], threshold: int) -> None:
    """LOCK-2: attempts on one account within one window get at most ``threshold`` INVALID_CREDENTIALS.

    ``exchanges`` are the answers to wrong-password attempts on one account (or
    one unknown email), concurrent or not, with no successful login among them
    (a success may reset the counter). Also: none of them is a 5xx.
    """
    __tracebackhide__ = True
    no_server_errors(exchanges)
    failed = refused_as_invalid(exchanges)
    if len(failed) > threshold:
        kinds = _tally(exchanges)
        raise Violation(
            "LOCK-2",
            expected=f"at most {threshold} of {len(exchanges)} wrong-password attempts answered {INVALID}",
            actual=f"{len(failed)} answered {INVALID} ({kinds})",
            exchange=failed[threshold],
            hint="count failures with one atomic operation (INCR, a Lua script or MULTI/EXEC), "
            "not read-then-write across an await",
        )


def refused_as_invalid(exchanges: Iterable[Exchange]) -> list[Exchange]:
    """The answers that were ``INVALID_CREDENTIALS`` (what LOCK-2 counts)."""
    return [exchange for exchange in exchanges if answer_kind(exchange) == FAILED]


def other_account_unaffected(exchange: Exchange, *, correct_password: bool) -> None:
    """LOCK-3: an account that was not attacked answers as if no other account were locked."""
    __tracebackhide__ = True
    kind = answer_kind(exchange)
    if kind == LIMITED:
        raise NotApplicable("the per-IP rate limit answered before the lockout could")
    expected = OK if correct_password else FAILED
    if kind != expected:
        raise Violation(
            "LOCK-3",
            expected="a successful login" if correct_password else f"401 {INVALID} (not locked)",
            actual=describe(exchange),
            exchange=exchange,
            hint="key the failure counter and the lock by the account's lower-cased email, nothing broader",
        )


def follows_lockout_policy(attempts: Sequence[tuple[bool | None, Exchange]], threshold: int) -> None:
    """LOCK-1 and LOCK-2 on one account's attempts, sent one after the other, in order.

    Each attempt is ``(correct, exchange)``: ``correct`` is True for the right
    password, False for a wrong one, None when the SUT may take it either way
    (the right password under a case variant of the email). The model tracks
    every failure count the SUT may be in; an answer that no count allows is a
    violation. Rate-limited answers are skipped (the attempt may or may not
    have been counted).
    """
    __tracebackhide__ = True
    counts = {0}
    for position, (correct, exchange) in enumerate(attempts, start=1):
        kind = answer_kind(exchange)
        if kind == SERVER_ERROR:
            no_server_errors([exchange])
        if kind == LIMITED:
            counts |= {min(c + 1, threshold) for c in counts} if correct is not True else set()
            continue
        following = {n for c in counts for n in _next_counts(c, correct, kind, threshold)}
        if not following:
            raise _policy_violation(position, correct, exchange, counts, threshold)
        if kind == LOCK:
            account_locked(exchange)
        counts = following


def _next_counts(count: int, correct: bool | None, kind: str, threshold: int) -> set[int]:
    """The failure counts that may follow ``count`` when an attempt got ``kind``; empty if not allowed."""
    if count >= threshold:
        return {count} if kind == LOCK else set()
    if kind == OK and correct is not False:
        return {0, count}
    if kind == FAILED and correct is not True:
        return {count + 1}
    if kind == LOCK and correct is not True and count == threshold - 1:
        return {threshold}
    return set()


def _policy_violation(
    position: int, correct: bool | None, exchange: Exchange, counts: set[int], threshold: int
) -> Violation:
    attempt = {True: "right password", False: "wrong password", None: "right password, email case variant"}[correct]
    failures = " or ".join(str(c) for c in sorted(counts))
    if min(counts) >= threshold:
        requirement, expected = "LOCK-1", f"429 {LOCKED}: {failures} failures already locked the account"
        hint = "lock the account once the threshold is reached and refuse every attempt, right password included"
    elif answer_kind(exchange) == LOCK:
        requirement, expected = "LOCK-1", f"no lock after only {failures} failure(s) (threshold {threshold})"
        hint = f"lock after {threshold} failures, not fewer"
    else:
        requirement = "LOCK-1"
        expected = "a successful login" if correct else f"401 {INVALID}"
        expected += f" ({failures} of {threshold} failures so far)"
        hint = None
    return Violation(
        requirement,
        expected=f"attempt {position} ({attempt}): {expected}",
        actual=describe(exchange),
        exchange=exchange,
        hint=hint,
    )


def _tally(exchanges: Iterable[Exchange]) -> str:
    counts: dict[str, int] = {}
    for exchange in exchanges:
        label = describe(exchange)
        counts[label] = counts.get(label, 0) + 1
    return ", ".join(f"{n}× {label}" for label, n in sorted(counts.items(), key=lambda item: -item[1]))
