"""Scenario-only fixtures, the order the scenarios run in, and the Hypothesis profiles of the stateful scenarios.

Order (:func:`pytest_collection_modifyitems`). The time dimension (``ledger.py``)
presents every revocation and lock of the run again at the end, at least 30 s
after it was made. So that this costs no waiting in a full run, the scenarios
that revoke tokens and lock accounts run *first*, before every other test of the
session (conformance suites included), in the order of :data:`FIRST`: the
restart and the store outage, the events a revocation must survive (the
restart revokes tokens of every kind and locks an account before it: REV-3,
LOCK-4), then the revocations and locks that live through no event, so that at
the end a lapse in time is told from a loss across an event (``ledger.py``); then
every other test in its usual (file) order; and the end-of-run re-check,
``test_time.py``, runs *last*. In a full run the re-check then waits nothing;
run alone (``pytest scenarios``) it waits what remains of the 30 s.

Profiles (choose with ``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE``):

- ``dev`` (default): few examples, because every example costs real requests
  against a SUT with rate limits;
- ``ci``: the built-in ``ci`` profile (derandomized, no deadline, no example
  database) with the same small budget, so that a CI run is reproducible;
- ``debug``: ``dev`` with verbose output, to watch the plans being tried.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, Verbosity, settings

from conformance.actors.accounts import AccountFactory
from conformance.wire.client import ApiClient
from conformance.wire.sources import SourceAddresses, as_ipv4_literal
from scenarios.kit.ledger import Ledger
from scenarios.kit.lock_history import LockHistory, SharedLock, lock
from scenarios.kit.logins import Logins

#: Examples per scenario test. Each example makes a few accounts and 10-60 requests.
EXAMPLES = 6
SCENARIO_SETTINGS = {
    "max_examples": EXAMPLES,
    # HTTP round trips on a shared 2-core machine: wall-clock deadlines would only measure the noise.
    "deadline": None,
    # Drawing a plan is cheap; carrying it out is slow on purpose.
    "suppress_health_check": [HealthCheck.too_slow],
    # No shrinking: every shrink step is a live run (new accounts, dozens of requests) against a SUT
    # with rate limits, up to hundreds of them; the plans are small enough to read as they fail.
    "phases": (Phase.explicit, Phase.reuse, Phase.generate),
    "report_multiple_bugs": False,
}

settings.register_profile("dev", **SCENARIO_SETTINGS)
settings.register_profile("ci", parent=settings.get_profile("ci"), **SCENARIO_SETTINGS)
settings.register_profile("debug", parent=settings.get_profile("dev"), verbosity=Verbosity.verbose)
_current = settings.get_current_profile_name()
if os.environ.get("HYPOTHESIS_PROFILE") or _current in ("default", "ci"):
    # Hypothesis may have auto-loaded its own "ci" (CI=true) before the derived one existed: reload it.
    # --hypothesis-profile is applied after this module is imported, so it still wins.
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if _current == "ci" else "dev"))


@dataclass
class Side:
    """A client and an account factory that talk to the SUT from their own source address."""

    address: str | None
    api: ApiClient
    accounts: AccountFactory


class Sides:
    """Makes :class:`Side` channels, each from a fresh loopback address when the target allows it."""

    def __init__(self, target: Any, profile: Any, api: ApiClient, accounts: AccountFactory) -> None:
        self.target, self.profile, self.main_api, self.main_accounts = target, profile, api, accounts
        self.sources = SourceAddresses(target.base_url, profile.sources)
        self._made: list[Side] = []

    def new(self) -> Side:
        """A fresh channel; without source addresses it shares the main client (and its rate-limit budget)."""
        address = self.sources.next()
        if address is None:
            return Side(None, self.main_api, self.main_accounts)
        client = self.main_api.with_source(address, base_url=as_ipv4_literal(self.target.base_url))
        run_id = f"{self.main_accounts.run_id}s{len(self._made)}"  # unique addresses, still this run's
        factory = AccountFactory(
            client, self.target, self.profile, run_id=run_id, email_domain=self.main_accounts.email_domain
        )
        side = Side(address, client, factory)
        self._made.append(side)
        return side

    def close(self) -> None:
        for side in self._made:
            side.api.close()
        self._made.clear()


@pytest.fixture(scope="session")
def sides(target: Any, profile: Any, api: ApiClient, accounts: AccountFactory) -> Iterator[Sides]:
    """Fresh client channels for scenarios that would otherwise exhaust the per-IP rate limits."""
    made = Sides(target, profile, api, accounts)
    yield made
    made.close()


@pytest.fixture(scope="session")
def ledger() -> Ledger:
    """The run's revocations and locks, presented again after every restart and at the end of the run."""
    return Ledger()


@pytest.fixture
def logins(sides: Sides, profile: Any, accounts: AccountFactory) -> Logins:
    """Logins spread over fresh source addresses within the declared login limit (``logins.py``)."""
    return Logins(sides, profile, wrong_password="Wrong-" + accounts.password())


@pytest.fixture(scope="session")
def shared_lock() -> SharedLock:
    """Holds the run's one locked account (``lock_history``)."""
    return SharedLock()


@pytest.fixture
def lock_history(
    shared_lock: SharedLock, sides: Sides, profile: Any, logins: Logins, ledger: Ledger, request: pytest.FixtureRequest
) -> LockHistory:
    """The run's one locked account and every exchange that locked it (``kit/lock_history.py``).

    Made by the first test that asks, with that test's logins, and entered in the ledger once, under that test.
    """

    def make() -> LockHistory:
        account = sides.new().accounts.new(login=False)
        where = request.node.nodeid
        return lock(
            logins,
            account,
            profile.limits.lockout_threshold,
            on_lock=lambda: ledger.locked(account.email, account.password, where=where),
        )

    return shared_lock.get(make)


# -- order -------------------------------------------------------------------------------------
#: Scenario tests that run before every other test of the session, in this order (a module, or module::test).
FIRST = (
    "scenarios/test_restart.py",
    "scenarios/test_outage.py",
    "scenarios/test_revocation.py",
    "scenarios/test_instances.py",
    # The run's lock history (``lock_history``) is made by the first of these that runs.
    "scenarios/test_lockout.py::test_account_locked_by_failures_refuses_even_the_right_password",
    "scenarios/test_lockout.py::test_lock_of_one_account_leaves_other_accounts_alone",
)
#: Modules that run after every other test of the session.
LAST = ("scenarios/test_time.py",)


def _rank(item: pytest.Item) -> tuple[int, int]:
    if item.get_closest_marker("exhausts_limit") is not None:
        return (3, 0)  # after the end-of-run re-check too: it spends the login window of the run's address
    nodeid = item.nodeid.replace("\\", "/")
    path = "scenarios/" + nodeid.split("scenarios/", 1)[1] if "scenarios/" in nodeid else nodeid
    for position, prefix in enumerate(FIRST):
        if path == prefix or path.startswith(prefix + "::") or path.startswith(prefix + "["):
            return (0, position)
    if any(path.startswith(prefix) for prefix in LAST):
        return (2, 0)
    return (1, 0)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Revocations and locks first, the end-of-run re-check last (see the module docstring); stable otherwise."""
    items[:] = sorted(items, key=_rank)  # sorted() is stable: file order within each rank
