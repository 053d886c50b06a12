"""Token revocation of contract §6 (REV-1 .. REV-6).

The scenarios compare tokens before and after an event (logout, restart, a
second instance, a store outage, a password change). A verdict needs a positive
control: if a token that was *not* revoked stops working too, the event broke
something else (lost data, another secret), and "the revoked token is refused"
proves nothing. :func:`control_succeeded` turns that case into
:class:`~conformance.outcomes.Inconclusive`, never a pass.

These checks judge whether a token is refused, not with which code: the code
(``TOKEN_REVOKED``, ``SERVICE_UNAVAILABLE``) is ENV-3's, so that a SUT with a
wrong code table is blamed once, under ENV-3, and not again for revocation.
"""

from __future__ import annotations

from collections.abc import Mapping

from conformance.body import describe
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, Violation

REVOKED = "TOKEN_REVOKED"
INVALID = "TOKEN_INVALID"
UNAVAILABLE = "SERVICE_UNAVAILABLE"


#: What a write did when the SUT took a revoked token, by method: the headline of the failure.
DID = {"POST": "created", "PUT": "changed", "PATCH": "changed", "DELETE": "deleted"}
ACCEPTED_HINT = ("keep revocations in the shared store with a TTL of the token's remaining lifetime, and check "
                 "them in the one guard every route uses, reads and writes alike")  # fmt: skip


def refusal_problem(exchange: Exchange, *, what: str | None = None) -> str | None:
    """How a request with a revoked token failed to be refused with 401, or ``None`` when it was.

    Acceptance is the headline: what the token was let do comes first, the status after.
    """
    status = exchange.response.status
    if status == 401:
        return None
    label = what or exchange.label
    if 200 <= status < 300:
        did = DID.get(exchange.request.method)
        return f"ACCEPTED: {label} answered {status}" + (f" (the revoked token {did} data)" if did else "")
    if status == 403:
        return f"{label} answered {describe(exchange)}: the revoked token passed authentication and was refused " \
               "only by the plan or role guard"
    return f"{label} answered {describe(exchange)}"


def token_rejected_as_revoked(exchange: Exchange, *, requirement: str = "REV-1", what: str | None = None) -> None:
    """A request with a revoked token is refused with 401 (its code, ``TOKEN_REVOKED``, is ENV-3's)."""
    __tracebackhide__ = True
    problem = refusal_problem(exchange, what=what)
    if problem is None:
        return
    accepted = exchange.response.status < 400
    raise Violation(
        requirement,
        expected=f"401 (with code {REVOKED})",
        actual=problem,
        exchange=exchange,
        hint=ACCEPTED_HINT if accepted or exchange.response.status == 403 else None,
    )


def refused_on_every_operation(exchanges: Mapping[str, Exchange], *, requirement: str = "REV-1",
                               revoked: str = "a revoked token") -> None:  # fmt: skip
    """Every request (by operation name) with ``revoked`` is refused with 401; one failure names every one that was not.

    Accepted requests lead the failure, and the first of them is the exchange shown:
    a token refused on reads but let write is the finding, not a status detail.
    """
    __tracebackhide__ = True
    problems = {name: refusal_problem(e, what=f"{name} ({e.request.method} {e.request.url})")
                for name, e in exchanges.items()}  # fmt: skip
    failing = [name for name, problem in problems.items() if problem is not None]
    if not failing:
        return
    failing.sort(key=lambda name: exchanges[name].response.status >= 400)  # accepted first
    refused = [name for name in exchanges if name not in failing]
    shown = exchanges[failing[0]]
    accepted = [name for name in failing if exchanges[name].response.status < 400]
    raise Violation(
        requirement,
        expected=f"401 (with code {REVOKED}) for {revoked} on every operation: " + ", ".join(exchanges),
        actual="; ".join(problems[name] or "" for name in failing)
        + (f"; refused with 401 on {', '.join(refused)}" if refused else ""),
        exchange=shown,
        hint=ACCEPTED_HINT if accepted or shown.response.status == 403 else None,
    )


def token_still_accepted(exchange: Exchange, *, requirement: str = "REV-1") -> None:
    """A token that was never revoked keeps working (the user's other session, say)."""
    __tracebackhide__ = True
    if 200 <= exchange.response.status < 300:
        return
    raise Violation(
        requirement,
        expected="2xx: this token was never revoked",
        actual=describe(exchange),
        exchange=exchange,
        hint="revoke the presented token's jti only, not every session of the user",
    )


def token_refused_during_outage(exchange: Exchange, *, requirement: str = "REV-5") -> None:
    """With the revocation store down a revoked token is refused: 503 (fail closed) or 401."""
    __tracebackhide__ = True
    if exchange.response.status in (401, 503):
        return
    accepted = exchange.response.status < 400
    raise Violation(
        requirement,
        expected=f"503 (with code {UNAVAILABLE}: fail closed) or 401 (with code {REVOKED})",
        actual=("ACCEPTED while the store was down: " if accepted else "") + describe(exchange),
        exchange=exchange,
        hint="when the revocation store cannot be read, refuse the request with 503 instead of "
        "treating the token as not revoked",
    )


def refresh_refused(exchange: Exchange, *, what: str, requirement: str = "REV-2") -> None:
    """``refresh`` refuses a token it must not take (``what``: revoked, reused, an access token) with 401."""
    __tracebackhide__ = True
    if exchange.response.status == 401:
        return
    accepted = exchange.response.status < 400
    raise Violation(
        requirement,
        expected=f"401 (with code {REVOKED} or {INVALID}) for {what}",
        actual=(f"ACCEPTED: refresh issued tokens for {what}: " if accepted else "") + describe(exchange),
        exchange=exchange,
        hint="check the token's type and its revocation before issuing new tokens; "
        "revoke a refresh token when it is used" if accepted else None,
    )


def control_succeeded(exchange: Exchange, *, what: str) -> None:
    """Positive control: ``exchange`` (``what`` it shows) must be 2xx, else no verdict can be given."""
    __tracebackhide__ = True
    if not 200 <= exchange.response.status < 300:
        raise Inconclusive(f"positive control failed: {what}: {exchange.label} answered {describe(exchange)}")


def control_rejected(exchange: Exchange, *, what: str) -> None:
    """Precondition: ``exchange`` (``what`` it shows, e.g. "the logged-out token is refused") must be refused."""
    __tracebackhide__ = True
    if exchange.response.status < 400:
        raise Inconclusive(f"precondition failed: {what}: {exchange.label} answered {describe(exchange)}")
