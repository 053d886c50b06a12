"""Throwaway accounts for a load run, created before the load starts.

Registration, the one-time code and password hashing are not what a read or
churn profile measures, so they happen here, in the runner process, through
the target's OTP source (the managed target's SMTP mailbox, ``--otp-cmd`` or
``--fixed-otp``). The result is a JSON file the locust process reads
(``--accounts-file``); it holds passwords and tokens of accounts created for
this run only, and is written with mode 0600.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.actors.accounts import Account, AccountFactory
from conformance.outcomes import Inconclusive, NotRun, excerpt
from conformance.profile import Profile
from conformance.sut.base import Target
from conformance.wire.client import ApiClient, TransportFailure


class ProvisioningError(RuntimeError):
    """The SUT did not let the runner create or log in its accounts (one clear line)."""


@dataclass(frozen=True)
class Needs:
    """What a profile needs before the load starts."""

    accounts: int
    sessions_per_account: int = 1
    patients_per_account: int = 1
    privileged: bool = False


class Provisioner:
    """Creates accounts through the public API of ``target`` using ``profile``'s operations.

    The accounts come from the suites' :class:`~conformance.actors.accounts.AccountFactory`
    (paced, from the provisioning addresses, waiting out a 429 within a bound),
    so a load run provisions exactly as a conformance run does; this class only
    adds what a load profile needs on top (extra sessions, patients) and the
    JSON shape the locust process reads.
    """

    def __init__(
        self,
        target: Target,
        profile: Profile,
        *,
        run_id: str,
        email_domain: str = "example.com",
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.target = target
        self.profile = profile
        self.run_id = run_id
        self.email_domain = email_domain
        self._api = ApiClient(target.base_url, profile)
        patience = {} if sleep is None else {"sleep": sleep}
        self._factory = AccountFactory(
            self._api, target, profile, run_id=f"load-{run_id}", email_domain=email_domain, **patience
        )

    def close(self) -> None:
        self._api.close()

    def __enter__(self) -> Provisioner:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- operations ----------------------------------------------------------
    def login(self, email: str, password: str) -> dict[str, str]:
        with _as_provisioning_error():
            account = self._factory.login(Account(email=email, password=password, full_name="", phone=""))
        return _session(account)

    def new_account(self, needs: Needs) -> dict[str, Any]:
        with _as_provisioning_error():
            account = self._factory.new()
            sessions = [_session(account)]
            sessions += [_session(self._factory.login(account)) for _ in range(needs.sessions_per_account - 1)]
            patients = [self._patient(account, n) for n in range(needs.patients_per_account)]
        return {
            "email": account.email,
            "password": account.password,
            "id": account.user.get("id"),
            "plan": account.user.get("plan"),
            "role": account.user.get("role"),
            "sessions": sessions,
            "patients": patients,
        }

    def privileged(self, *, plan: str | None = None, role: str | None = None) -> dict[str, Any] | None:
        """A logged-in pro or admin account, or None when the run cannot provide one."""
        try:
            account = self.target.privileged_account(plan=plan, role=role)
        except NotRun:
            return None
        return {
            "email": account.email,
            "password": account.password,
            "plan": account.plan,
            "role": account.role,
            "sessions": [self.login(account.email, account.password)],
        }

    def provision(self, needs: Needs) -> dict[str, Any]:
        data: dict[str, Any] = {
            "run_id": self.run_id,
            "email_domain": self.email_domain,
            "accounts": [self.new_account(needs) for _ in range(needs.accounts)],
        }
        if needs.privileged:
            data["pro"] = self.privileged(plan=self.profile.accounts.privileged_plan)
            data["admin"] = self.privileged(role=self.profile.accounts.privileged_role)
        return data

    def _patient(self, account: Account, n: int) -> Any:
        exchange = self._api.call("create_patient", token=account.access_token, json={"name": f"Load Patient {n}"})
        body = exchange.response.json
        if exchange.response.status != 201 or not isinstance(body, dict) or "id" not in body:
            raise ProvisioningError(
                f"{exchange.label} answered {exchange.response.status}, expected 201 with an id: "
                f"{excerpt(exchange.response.body, 300)}"
            )
        return body["id"]


@contextmanager
def _as_provisioning_error() -> Iterator[None]:
    """The factory's and the client's failures (refused, no answer, no OTP) as the runner's one error type."""
    try:
        yield
    except (Inconclusive, TransportFailure) as exc:
        raise ProvisioningError(str(exc)) from exc


def _session(account: Account) -> dict[str, str]:
    return {"access_token": account.access_token or "", "refresh_token": account.refresh_token or ""}


def write_accounts(data: dict[str, Any], path: Path) -> Path:
    """Write the accounts JSON readable by its owner only (it holds passwords and tokens)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    return path
