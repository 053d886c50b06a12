"""Fixtures: real reference servers, started once per session and always stopped.

`server` is the clean service. `servers.get(key, ...)` starts a variant (defects,
settings) once and shares it between tests; defects that share a server replace
different components and their tests look at disjoint behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.reference.helpers import PASSWORD, Account, fresh_session, new_account, unique_email
from tests.reference.server import ServerProcess, base_env, run_command

# Defects grouped per server: each group's members replace different components.
DEFECT_GROUPS: dict[str, tuple[str, ...]] = {
    "a": ("generic-codes", "multi-decode", "user-enumeration", "cors-wildcard", "wildcard-search"),
    "b": ("request-id-mismatch", "lax-guards", "content-length-only-limit", "count-patient-id", "tuple-returns-otp"),
    "c": ("no-retry-after", "unverified-claims", "refresh-as-access", "stale-cache", "traceback-500"),
    "d": ("http-exception-envelope", "headers-success-only", "shared-cache", "unmasked-logs"),
    "e": ("plain-logs", "racy-lockout", "weak-dev-secret"),
    "f": ("memory-revocation", "memory-lockout"),
    "g": (
        "guard-crash",
        "bare-429",
        "logout-any-token",
        "query-string-logging",
        "short-revocation-ttl",
        "embedded-jwk",
    ),
    "h": ("generic-lock-code", "revocation-reads-only", "current-user-cache", "out-of-range-crash", "alg-none-case"),
    "i": (
        "update-any-patient",
        "admin-passes-every-role",
        "lockout-registered-only",
        "cors-prefix-match",
        "expiry-leeway",
        "long-request-id-echoed",
    ),
}
HIGH_LOGIN_RATE = "10000/60"


class Servers:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.running: dict[str, ServerProcess] = {}

    def get(self, key: str, **env: str) -> ServerProcess:
        return self.get_many({key: env})[key]

    def get_many(self, wanted: dict[str, dict[str, str]]) -> dict[str, ServerProcess]:
        """Start the servers not running yet, all at once (boot time dominates), and wait for each."""
        new = []
        for key, env in wanted.items():
            if key not in self.running:
                server = ServerProcess(self.root / key, base_env(**env))
                self.running[key] = server  # registered first: stopped at session end even if start fails
                server.spawn()
                new.append(server)
        for server in new:
            server.wait_ready()
        return {key: self.running[key] for key in wanted}

    def defect_groups(self) -> dict[str, ServerProcess]:
        """One server per group of DEFECT_GROUPS, keyed by defect name."""
        started = self.get_many(
            {
                f"defects-{group}": {"REFERENCE_DEFECTS": ",".join(members), "RATE_LIMIT_LOGIN": HIGH_LOGIN_RATE}
                for group, members in DEFECT_GROUPS.items()
            }
        )
        return {name: started[f"defects-{group}"] for group, members in DEFECT_GROUPS.items() for name in members}

    def stop_all(self) -> None:
        for server in self.running.values():  # signal all first: they shut down in parallel
            if server.process is not None and server.process.poll() is None:
                server.process.terminate()
        for server in self.running.values():
            server.stop()


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    pool = Servers(tmp_path_factory.mktemp("reference-servers"))
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture(scope="session")
def server(servers: Servers) -> ServerProcess:
    """The clean reference, default limits except a login rate that tests cannot exhaust by accident."""
    return servers.get("clean", RATE_LIMIT_LOGIN=HIGH_LOGIN_RATE)


@pytest.fixture(scope="session")
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        yield http


@pytest.fixture(scope="session")
def account(client: httpx.Client) -> Account:
    """A shared ordinary account for read-only tests."""
    return new_account(client, "shared")


def seed_account(server: ServerProcess, client: httpx.Client, **roles: str) -> Account:
    """A verified account created with `seed-user` (e.g. plan="pro", role="admin"), logged in."""
    email = unique_email("seeded")
    flags = [part for name, value in roles.items() for part in (f"--{name}", value)]
    result = run_command(
        ["seed-user", "--email", email, "--password", PASSWORD, "--data-dir", str(server.data_dir), *flags],
        server.env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return fresh_session(client, Account(email, PASSWORD, "", "", {}))


@pytest.fixture(scope="session")
def admin(server: ServerProcess, client: httpx.Client) -> Account:
    return seed_account(server, client, role="admin", plan="pro")
