"""Privileged accounts (plan ``pro``, role ``admin``), which the public API cannot create.

Two sources (contract §2): an accounts file of pre-provisioned credentials
(``--accounts``), and a seed command that creates a verified account
(``--seed-cmd``; in managed mode the reference's ``seed-user`` by default).
Minting elevated tokens is the account factory's business, not the target's.

Accounts file (TOML)::

    [[account]]
    email = "admin@staging.example.org"
    password = "..."
    role = "admin"          # plan and role default to the profile's defaults
    [[account]]
    email = "pro@staging.example.org"
    password = "..."
    plan = "pro"
"""

from __future__ import annotations

import os
import secrets
import string
import tomllib
from collections.abc import Mapping
from pathlib import Path

from conformance.sut.base import PrivilegedAccount
from conformance.sut.errors import TargetError
from conformance.sut.process import render_command, run_bounded

SEED_TIMEOUT = 60.0
#: The environment variable a seed command finds the password in (it is also written to its standard input).
PASSWORD_VARIABLE = "CONFORMANCE_SEED_PASSWORD"


def load_accounts_file(path: str | Path, *, default_plan: str, default_role: str) -> list[PrivilegedAccount]:
    """The ``[[account]]`` entries of ``path``; :class:`TargetError` on anything malformed."""
    where = f"--accounts {path}"
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        raise TargetError(f"{where}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise TargetError(f"{where}: not valid TOML ({exc})") from None
    entries = data.get("account", [])
    if not isinstance(entries, list) or not entries:
        raise TargetError(f"{where}: expected one or more [[account]] tables with email and password")
    accounts = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not entry.get("email") or not entry.get("password"):
            raise TargetError(f"{where}: account #{number} needs an email and a password")
        accounts.append(
            PrivilegedAccount(
                email=str(entry["email"]),
                password=str(entry["password"]),
                plan=str(entry.get("plan", default_plan)),
                role=str(entry.get("role", default_role)),
            )
        )
    return accounts


def matching(accounts: list[PrivilegedAccount], plan: str | None, role: str | None) -> PrivilegedAccount | None:
    """The first account with the wanted plan and role (``None`` = any)."""
    for account in accounts:
        if (plan is None or account.plan == plan) and (role is None or account.role == role):
            return account
    return None


def new_credentials(tag: str) -> tuple[str, str]:
    """A unique throwaway email and a password that satisfies the strength rule of §4."""
    email = f"hlc-seed-{tag}-{secrets.token_hex(4)}@example.com"
    body = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(16))
    return email, f"Hl{body}7!x"


def render_seed_command(template: str, values: Mapping[str, object]) -> str:
    """The seed command line; a ``{password}`` placeholder is refused, saying where the password comes from."""
    if "{password}" in template:
        raise TargetError(
            f"--seed-cmd: {{password}} is not a placeholder (a password on a command line is visible "
            f"in `ps`): read it from ${PASSWORD_VARIABLE} or the first line of standard input"
        )
    return render_command(template, values, option="--seed-cmd")


def run_seed(
    template: str, values: Mapping[str, object], password: str, *, env: Mapping[str, str] | None = None
) -> str:
    """Run the seed command; its output on success, :class:`CommandError` on failure.

    The password never goes on the command line (``ps`` shows that to every
    user of the machine): the command gets it in ``CONFORMANCE_SEED_PASSWORD``
    and as the first line of its standard input.
    """
    command = render_seed_command(template, values)
    full_env = {**(os.environ if env is None else env), PASSWORD_VARIABLE: password}
    done = run_bounded(
        command, timeout=SEED_TIMEOUT, env=full_env, input=password + "\n", check=True, what="--seed-cmd"
    )
    return done.output
