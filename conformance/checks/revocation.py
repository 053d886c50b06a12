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
A request that must fail and is answered 2xx ``success: true`` is ENV-7's
failure too, named in the same outcome (``envelope.judged_with_success_reports``).

REV-5 (:func:`guarded_routes_fail_closed`): with the store down no token can be
checked, so no guarded route may serve any token, revoked or not, at any
moment of the outage; 503 is the expected answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conformance.body import describe
from conformance.checks import envelope
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, NotApplicable, Violation

REVOKED = "TOKEN_REVOKED"
INVALID = "TOKEN_INVALID"
UNAVAILABLE = "SERVICE_UNAVAILABLE"
#: Problems spelled out in a failure message (the rest are counted).
SHOWN = 6


#: What a write did when the SUT took a revoked token, by method: the headline of the failure.
DID = {"POST": "created", "PUT": "changed", "PATCH": "changed", "DELETE": "deleted"}
ACCEPTED_HINT = (
    "keep revocations in the shared store with a TTL of the token's remaining lifetime, and check "
    "them in the one guard every route uses, reads and writes alike"
)


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
        return (
            f"{label} answered {describe(exchange)}: the revoked token passed authentication and was refused "
            "only by the plan or role guard"
        )
    return f"{label} answered {describe(exchange)}"


def token_rejected_as_revoked(exchange: Exchange, *, requirement: str = "REV-1", what: str | None = None) -> None:
    """A request with a revoked token is refused with 401 (its code, ``TOKEN_REVOKED``, is ENV-3's)."""
    __tracebackhide__ = True
    envelope.judged_with_success_reports(
        lambda: _token_rejected_as_revoked(exchange, requirement, what),
        [exchange],
        requirement=requirement,
        must_fail="a request with a revoked token",
    )


def _token_rejected_as_revoked(exchange: Exchange, requirement: str, what: str | None) -> None:
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


def refused_on_every_operation(
    exchanges: Mapping[str, Exchange], *, requirement: str = "REV-1", revoked: str = "a revoked token"
) -> None:
    """Every request (by operation name) with ``revoked`` is refused with 401; one failure names every one that was not.

    Accepted requests lead the failure, and the first of them is the exchange shown:
    a token refused on reads but let write is the finding, not a status detail.
    """
    __tracebackhide__ = True
    envelope.judged_with_success_reports(
        lambda: _refused_on_every_operation(exchanges, requirement, revoked),
        exchanges.values(),
        requirement=requirement,
        must_fail=f"every request with {revoked}",
    )


def _refused_on_every_operation(exchanges: Mapping[str, Exchange], requirement: str, revoked: str) -> None:
    __tracebackhide__ = True
    problems = {
        name: refusal_problem(e, what=f"{name} ({e.request.method} {e.request.url})") for name, e in exchanges.items()
    }
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


@dataclass(frozen=True)
class OutageProbe:
    """One guarded request sent while the revocation store was down."""

    at: float  # seconds into the outage
    route: str  # the guard class it stands for: "user guard", "pro guard", "role guard", "logout"
    token: str  # "revoked" (logged out before the outage) or "unrevoked"
    exchange: Exchange


def outage_problem(probe: OutageProbe) -> str | None:
    """How a guarded request during the outage failed to be refused (503, or 401), or ``None``.

    Served (2xx), or past authentication to a plan or role guard's 403, means
    the token was taken without its revocation check, which cannot be made
    with the store down: for a revoked token and an unrevoked one alike.
    """
    exchange = probe.exchange
    status = exchange.response.status
    if status in (401, 503):
        return None
    what = f"the {probe.token} token on the {probe.route} ({exchange.label}) {probe.at:.0f} s into the outage"
    if served_unchecked(probe):
        return f"ACCEPTED unchecked: {what} answered {describe(exchange)}"
    return f"{what} answered {describe(exchange)}"


def served_unchecked(probe: OutageProbe) -> bool:
    """Served (2xx), or past authentication to a plan or role guard's 403: taken without a revocation check."""
    status = probe.exchange.response.status
    return status < 300 or status == 403


def guarded_routes_fail_closed(probes: Sequence[OutageProbe], *, held: float) -> None:
    """REV-5: while the store is down (``held`` seconds, every probe within), every guarded route fails closed.

    One failure names every probe that was not refused, the ones served first,
    with how far into the outage each was; a 2xx ``success`` answer is ENV-7's
    failure too. Expected: 503 ``SERVICE_UNAVAILABLE`` (a 401 is refused too:
    which code is ENV-3's).
    """
    __tracebackhide__ = True
    if not probes:
        raise NotApplicable("no guarded request was sent during the outage")
    envelope.judged_with_success_reports(
        lambda: _fail_closed(probes, held),
        [p.exchange for p in probes],
        requirement="REV-5",
        must_fail="every guarded request while the revocation store is down",
    )


def _fail_closed(probes: Sequence[OutageProbe], held: float) -> None:
    __tracebackhide__ = True
    failing = [(p, problem) for p in probes if (problem := outage_problem(p)) is not None]
    if not failing:
        return
    # served (2xx) first, then past authentication (a plan or role guard's 403), then the rest; in time order
    failing.sort(key=lambda item: (not served_unchecked(item[0]), item[0].exchange.response.status >= 300))
    routes = sorted({p.route for p in probes})
    served = [p for p, _ in failing if served_unchecked(p)]
    first = min(served, key=lambda p: p.at) if served else None
    closed_first = first is not None and any(p.at < first.at and outage_problem(p) is None for p in probes)
    raise Violation(
        "REV-5",
        expected=f"503 (with code {UNAVAILABLE}: fail closed) on every guarded route ({', '.join(routes)}), for a "
        f"revoked and an unrevoked token, throughout the outage ({held:.0f} s)",
        actual="; ".join(problem for _, problem in failing[:SHOWN])
        + (f"; and {len(failing) - SHOWN} more" if len(failing) > SHOWN else "")
        + (
            f"; it failed closed until then, and served from {first.at:.0f} s into the outage on"
            if closed_first and first is not None
            else ""
        ),
        exchange=failing[0][0].exchange,
        hint="when the revocation store cannot be read, refuse every guarded request with 503 for as long as it "
        "cannot (no fallback to 'not revoked', no circuit breaker that opens)",
    )


def refresh_refused(exchange: Exchange, *, what: str, requirement: str = "REV-2", must: bool = True) -> None:
    """``refresh`` refuses a token it must not take (``what``: revoked, reused, an access token) with 401.

    ``must=False`` for a SHOULD clause (rotation): the request need not fail, so ENV-7 has nothing to say.
    """
    __tracebackhide__ = True
    if not must:
        _refresh_refused(exchange, what, requirement)
        return
    envelope.judged_with_success_reports(
        lambda: _refresh_refused(exchange, what, requirement),
        [exchange],
        requirement=requirement,
        must_fail=f"refresh with {what}",
    )


def _refresh_refused(exchange: Exchange, what: str, requirement: str) -> None:
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
        "revoke a refresh token when it is used"
        if accepted
        else None,
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
