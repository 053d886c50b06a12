"""Small steps the scenarios share: guard-class calls, logout, refresh, locking, polling, SHOULD sub-clauses."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

from conformance.checks import lockout
from conformance.exchange import Exchange
from conformance.outcomes import Violation


def guard_calls(api: Any, profile: Any, token: str, *, base_url: str | None = None) -> dict[str, Exchange]:
    """One request per guard class (user, pro, role) with ``token``, by class name."""
    return {
        klass: api.call(operation, token=token, base_url=base_url)
        for klass, operation in profile.guard_classes.items()
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


def poll(send: Callable[[], Exchange], until: Callable[[Exchange], bool], *, seconds: float,
         interval: float = 0.5) -> Exchange:  # fmt: skip
    """Send until ``until`` holds or ``seconds`` have passed (bounded in time and count); the last exchange."""
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds / interval) + 2):
        exchange = send()
        if until(exchange) or time.monotonic() >= deadline:
            return exchange
        time.sleep(interval)
    return exchange


def should(check: Callable[[], None], *, strict: bool) -> None:
    """Run a check of a SHOULD sub-clause of a MUST requirement: a warning, a failure only under --strict."""
    __tracebackhide__ = True
    try:
        check()
    except Violation as violation:
        if strict:
            raise
        warnings.warn(f"SHOULD: {violation}", stacklevel=2)


def wrong_password(accounts: Any) -> str:
    """A password that satisfies the strength rule and is nobody's."""
    return "Wrong-" + accounts.password()


def lock_account(api: Any, email: str, threshold: int, wrong: str, *, base_url: str | None = None) -> str | None:
    """Send ``threshold`` wrong passwords for ``email`` one by one, then one more that must find it locked.

    Returns None once the lock is confirmed, else why not (for an Inconclusive:
    this only prepares another requirement's scenario; LOCK-1 judges locking).
    """
    for _ in range(threshold):
        api.login(email, wrong, base_url=base_url)
    probe = api.login(email, wrong, base_url=base_url)
    if lockout.answer_kind(probe) != lockout.LOCK:
        return f"{threshold} wrong passwords did not lock {email}: the next attempt got {probe.response.status}"
    return None
