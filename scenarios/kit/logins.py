"""Logins for the lockout scenarios, sized to the login rate limit the profile declares.

Lockout counts per account, whatever address the attempts come from; the
per-IP rate limit counts per address. So the lockout scenarios spread their
attempts over fresh loopback source addresses (:class:`~scenarios.conftest.Sides`),
at most ``count - 1`` logins per address of a ``count/seconds`` limit, keeping
the last one for a *control*: a wrong password for an email never used, from
the same address, which shows black-box whether that address is rate-limited
(a rate limit refuses every email from an address, a lock one account). Five
wrong passwords and a probe under ``login = "5/60"`` thus come from two
addresses, and no answer of a scenario is the declared rate limit.

Without source addresses (a SUT not on loopback) every login leaves from the
run's own address, which the rest of the run uses too: nothing is counted, and
the codes and controls tell the rate limit from a lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conformance.body import error_code
from conformance.checks import lockout
from conformance.exchange import Exchange
from conformance.profile import Profile
from scenarios.kit.burst import login_request

#: Seconds after an ambiguous 429 within which a control still speaks of the same rate window.
CONTROL_FRESHNESS = 2.0


class Logins:
    """Sends logins from budgeted source addresses and remembers which address sent which answer."""

    def __init__(self, sides: Any, profile: Profile, *, wrong_password: str) -> None:
        self.sides, self.profile = sides, profile
        self.rate = profile.rate_limits.login
        self.budget = max(1, self.rate.count - 1)  # one left for a control
        self.wrong = wrong_password
        self.enabled = sides.sources.enabled
        self._current: Any = None
        self._used: dict[str | None, int] = {}
        self._side_of: dict[str | None, Any] = {}
        self._address_of: dict[int, tuple[Exchange, str | None]] = {}  # id -> (exchange kept alive, address)
        self.controls: list[Exchange] = []  # the controls sent, in order (a shared history records them)

    # -- sending ----------------------------------------------------------------------
    def side(self, need: int = 1) -> Any:
        """A channel with ``need`` logins left in its budget (a fresh one when the current has not)."""
        if self._current is None or (self.enabled and self._left(self._current.address) < need):
            self._current = self.sides.new()
            self._side_of[self._current.address] = self._current
        return self._current

    def login(self, email: str, password: str, *, base_url: str | None = None) -> Exchange:
        side = self.side()
        exchange = side.api.login(email, password, base_url=base_url)
        self._spent(side.address, exchange)
        return exchange

    def burst(self, emails_and_passwords: Sequence[tuple[str, str, float]]) -> list[Any]:
        """Planned concurrent logins ``(email, password, delay)``, each on an address with budget left."""
        planned = []
        for email, password, delay in emails_and_passwords:
            side = self.side()
            planned.append(login_request(self.profile, email, password, delay=delay, source=side.address))
            self._used[side.address] = self._used.get(side.address, 0) + 1
        return planned

    def sent(self, planned: Sequence[Any], exchanges: Sequence[Exchange]) -> None:
        """Remember the addresses of a burst's answers (for :meth:`source_limited`)."""
        for request, exchange in zip(planned, exchanges):
            self._address_of[id(exchange)] = (exchange, request.source)

    # -- judging ------------------------------------------------------------------------
    def source_limited(self, exchanges: Sequence[Exchange]) -> bool | None:
        """Whether the addresses that answered any of ``exchanges`` with an ambiguous 429 are rate-limited.

        A 429 is ambiguous unless coded ``ACCOUNT_LOCKED`` (the SUT says it is the
        lock). ``None`` when there is none (nothing to decide), or when no control
        could be sent in time to say anything; otherwise a control is sent from
        each such address, and ``True`` when any control met a 429.
        """
        ambiguous = [e for e in exchanges if e.response.status == 429 and error_code(e) != lockout.LOCKED]
        addresses = {self._address_of.get(id(e), (e, None))[1] for e in ambiguous}
        if not addresses:
            return None
        latest = max((e.timing.started + e.timing.seconds for e in ambiguous if e.timing is not None), default=None)
        answers = [self.control(address, after=latest) for address in addresses]
        if any(answer is True for answer in answers):
            return True
        return False if any(answer is False for answer in answers) else None

    def control(self, address: str | None, *, after: float | None = None) -> bool | None:
        """A wrong password for a never-used email from ``address``: True when it too got a 429.

        ``None`` when it left more than :data:`CONTROL_FRESHNESS` seconds after ``after`` (the 429 it
        controls, wall clock): paced to one address's declared limit, a control may wait for the next
        window, and then it says nothing about the window the 429 was in.
        """
        side = self._side_of.get(address) if self.enabled else None
        side = side or self.sides.new()
        exchange = side.api.login(side.accounts.next_email(), self.wrong)  # an email nobody has tried
        self._spent(side.address, exchange)
        self.controls.append(exchange)
        if after is not None and exchange.timing is not None and exchange.timing.started - after > CONTROL_FRESHNESS:
            return None
        return exchange.response.status == 429

    # -- internals ----------------------------------------------------------------------
    def _left(self, address: str | None) -> int:
        return self.budget - self._used.get(address, 0)

    def _spent(self, address: str | None, exchange: Exchange) -> None:
        self._used[address] = self._used.get(address, 0) + 1
        self._address_of[id(exchange)] = (exchange, address)
