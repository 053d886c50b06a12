"""Small steps the scenarios share.

Guard-class and write calls, logout, refresh, locking, presenting ledger entries,
polling, SHOULD sub-clauses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

from conformance.body import describe
from conformance.checks import lockout, revocation
from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable
from scenarios.kit.ledger import Entry
from scenarios.kit.logins import Logins


def guard_calls(api: Any, profile: Any, token: str, *, base_url: str | None = None) -> dict[str, Exchange]:
    """One request per guard class (user, pro, role) with ``token``, by class name."""
    return {
        klass: api.call(operation, token=token, base_url=base_url) for klass, operation in profile.guard_classes.items()
    }


def user_call(api: Any, profile: Any, token: str, *, base_url: str | None = None) -> Exchange:
    """A request to the ``user`` guard class's operation (``me`` by default)."""
    return api.call(profile.guard_classes["user"], token=token, base_url=base_url)


def logout(api: Any, account: Any, *, with_refresh: bool = True, base_url: str | None = None) -> Exchange:
    """Log ``account``'s session out, revoking its refresh token too when asked."""
    body = {"refresh_token": account.refresh_token} if with_refresh and account.refresh_token else None
    return api.call("logout", token=account.access_token, json=body, base_url=base_url)


def refresh(api: Any, token: str | None, *, base_url: str | None = None) -> Exchange:
    return api.call("refresh", json={"refresh_token": token}, base_url=base_url)


def poll(
    send: Callable[[], Exchange], until: Callable[[Exchange], bool], *, seconds: float, interval: float = 0.5
) -> Exchange:
    """Send until ``until`` holds or ``seconds`` have passed (bounded in time and count); the last exchange."""
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds / interval) + 2):
        exchange = send()
        if until(exchange) or time.monotonic() >= deadline:
            return exchange
        time.sleep(interval)
    return exchange


def wrong_password(accounts: Any) -> str:
    """A password that satisfies the strength rule and is nobody's."""
    return "Wrong-" + accounts.password()


def lock_account(logins: Logins, email: str, password: str, threshold: int) -> tuple[str | None, Exchange]:
    """Send ``threshold`` wrong passwords for ``email``, then its right ``password``, which must be refused.

    Returns ``(None, probe)`` once the lock is seen (the right password refused,
    whatever the label), else ``(why not, probe)``, for an Inconclusive: this only
    prepares another requirement's scenario; LOCK-1 judges locking.
    """
    for _ in range(threshold):
        logins.login(email, logins.wrong)
    probe = logins.login(email, password)
    try:
        if lockout.right_password_refused(probe, source_limited=logins.source_limited([probe])):
            return None, probe
    except NotApplicable as why:
        return f"{threshold} wrong passwords for {email} could not be judged: {why}", probe
    return f"{threshold} wrong passwords did not lock {email}: the right password then got {describe(probe)}", probe


def write_calls(
    api: Any, profile: Any, token: str, patient_id: str, *, base_url: str | None = None
) -> dict[str, Exchange]:
    """One request per write operation with ``token``, by operation name; delete last (it removes the patient)."""
    calls = {
        "update_me": lambda: api.call(
            "update_me", token=token, json={"full_name": "Revoked Writer"}, base_url=base_url
        ),
        "create_patient": lambda: api.call(
            "create_patient", token=token, json={"name": "Revoked Writer"}, base_url=base_url
        ),
        "update_patient": lambda: api.call(
            "update_patient",
            token=token,
            path_params={"id": patient_id},
            json={"name": "Revoked Writer"},
            base_url=base_url,
        ),
        "delete_patient": lambda: api.call(
            "delete_patient", token=token, path_params={"id": patient_id}, base_url=base_url
        ),
    }
    return {name: send() for name, send in calls.items()}


def created_id(exchange: Exchange) -> str | None:
    """The ``id`` of a patient a 2xx create returned, else None."""
    body = exchange.response.json
    if 200 <= exchange.response.status < 300 and isinstance(body, dict) and body.get("id") is not None:
        return str(body["id"])
    return None


def let_in(exchange: Exchange) -> bool:
    """Whether a request with a revoked token got past authentication: a 2xx, or a 403 of a plan or role guard."""
    return exchange.response.status < 400 or exchange.response.status == 403


class Presentation(NamedTuple):
    """What presenting a ledger entry again showed."""

    problem: str | None  # the lapse, in words; None when it held or could not be judged
    exchange: Exchange | None  # the answer that shows the lapse (or why it could not be judged)
    judged: bool  # False: the answers neither refused nor let in (a 5xx, a 429): they show nothing either way


def present(entry: Entry, api: Any, profile: Any, logins: Logins) -> Presentation:
    """Present a ledger entry again, on the main instance: did it hold?

    A token on every guard class (a refresh token to ``refresh``); a lock by its
    right password. A lapse is the token let in (2xx, or past authentication to
    a 403 of the plan or role guard), the right password let in. It held when
    the token is refused with 401 everywhere, the lock still answers as a lock.
    Anything else (a 5xx, a rate limit's 429, a 400) is neither: *not judged*,
    and what it breaks is judged where the entry was made, not blamed on time.
    """
    if entry.family == "lock":
        exchange = logins.login(entry.email, entry.secret)
        kind = lockout.answer_kind(exchange, source_limited=logins.source_limited([exchange]))
        if kind == lockout.OK:
            return Presentation(f"the right password was let in: {describe(exchange)}", exchange, True)
        return Presentation(None, exchange, kind == lockout.LOCK)
    if entry.kind == "refresh":
        exchange = refresh(api, entry.secret)  # on the main instance: the peer may be gone by now
        if exchange.response.status < 400:
            return Presentation(f"ACCEPTED: refresh issued tokens ({describe(exchange)})", exchange, True)
        return Presentation(None, exchange, exchange.response.status in (400, 401, 403))
    problems: list[tuple[bool, str, Exchange]] = []
    unjudged: Exchange | None = None
    for klass, exchange in guard_calls(api, profile, entry.secret).items():
        if let_in(exchange):
            problem = revocation.refusal_problem(
                exchange, what=f"the {klass} guard ({exchange.request.method} {exchange.request.url})"
            )
            problems.append((exchange.response.status >= 400, str(problem), exchange))
        elif exchange.response.status != 401 and unjudged is None:
            unjudged = exchange
    if not problems:
        return Presentation(None, unjudged, unjudged is None)
    problems.sort(key=lambda item: item[0])  # what the token was let do first
    return Presentation("; ".join(problem for _, problem, _ in problems), problems[0][2], True)
