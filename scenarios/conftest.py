"""Scenario-only fixtures, and the Hypothesis profiles of the stateful scenarios.

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

from conformance.accounts import AccountFactory
from conformance.client import ApiClient
from conformance.sources import SourceAddresses, as_ipv4_literal

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
        factory = AccountFactory(client, self.target, self.profile, run_id=run_id,
                                 email_domain=self.main_accounts.email_domain)  # fmt: skip
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
