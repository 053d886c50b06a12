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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from conformance.outcomes import NotRun
from conformance.actors.accounts import PASSWORD_LENGTH, strong_password
from conformance.profile import Profile
from conformance.sut.base import Target

#: Bound for every provisioning request (seconds).
REQUEST_TIMEOUT = 15.0


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
    """Creates accounts through the public API of ``target`` using ``profile``'s operations."""

    def __init__(self, target: Target, profile: Profile, *, run_id: str, email_domain: str = "example.com") -> None:
        self.target = target
        self.profile = profile
        self.run_id = run_id
        self.email_domain = email_domain
        self._serial = 0
        self._http = httpx.Client(base_url=target.base_url, timeout=REQUEST_TIMEOUT, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Provisioner:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- operations ----------------------------------------------------------
    def _call(self, operation: str, *, expect: int, token: str | None = None, **kwargs: Any) -> Any:
        op = self.profile.operation(operation)
        path = op.url_path(**kwargs.pop("path_params", {}))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = self._http.request(op.method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ProvisioningError(f"{op.method} {path}: {exc!r}") from exc
        if response.status_code != expect:
            raise ProvisioningError(
                f"{op.method} {path} answered {response.status_code}, expected {expect}: {response.text[:300]}"
            )
        return response.json()

    def login(self, email: str, password: str) -> dict[str, str]:
        data = self._call("login", expect=200, **self.profile.login.body(email, password))
        return {"access_token": data["access_token"], "refresh_token": data["refresh_token"]}

    def new_account(self, needs: Needs) -> dict[str, Any]:
        self._serial += 1
        email = f"hlc-load-{self.run_id}-{self._serial}@{self.email_domain}"
        rules = self.profile.accounts
        password = strong_password(rules.password_length(PASSWORD_LENGTH), rules.password_specials)
        self._call(
            "register",
            expect=201,
            json={"email": email, "password": password, "full_name": "Load Tester", "phone": f"+1555{self._serial:07d}"},
        )
        verified = self._call("verify_otp", expect=200, json={"email": email, "otp_code": self.target.otp_code(email)})
        sessions = [{"access_token": verified["access_token"], "refresh_token": verified["refresh_token"]}]
        sessions += [self.login(email, password) for _ in range(needs.sessions_per_account - 1)]
        patients = [
            self._call("create_patient", expect=201, token=sessions[0]["access_token"], json={"name": f"Load Patient {n}"})[
                "id"
            ]
            for n in range(needs.patients_per_account)
        ]
        user = verified.get("user") or {}
        return {
            "email": email,
            "password": password,
            "id": user.get("id"),
            "plan": user.get("plan"),
            "role": user.get("role"),
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


def write_accounts(data: dict[str, Any], path: Path) -> Path:
    """Write the accounts JSON readable by its owner only (it holds passwords and tokens)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    return path
