"""Throwaway accounts: created by this run, for this run, through the public API.

The harness never locks, changes or deletes an account it did not create
(contract §2), so every test that needs a user gets one made here: a unique
address per run (``hlc-<run>-<n>@<domain>``), a random password that satisfies
the strength rule, registration, the one-time code from the target's OTP
source, verification and login. Privileged accounts (plan ``pro``, role
``admin``) cannot be had through the API: they come from the target (seeded,
or pre-provisioned with ``--accounts``) or, for SUTs that authorize from
claims, from a token minted with the signing secret.

Logins and registrations are rate limited, so what costs one is kept for the
run where sharing consumes nothing: a privileged session per (plan, role), and,
from one source address at a scarce registration limit, a small pool of
ordinary accounts (:meth:`AccountFactory.ordinary`) that tests write patients
to but never log out, lock or change.

A provisioning step the SUT refuses raises :class:`ProvisioningFailed`, an
``Inconclusive``: the test that needed the account could not be judged.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import itertools
import math
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt

from conformance import redaction
from conformance.checks.limits import retry_after_seconds
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, NotRun, excerpt
from conformance.profile import Profile
from conformance.redaction import MASK, redact
from conformance.sut.base import Target
from conformance.sut.errors import TargetError
from conformance.wire import waiting
from conformance.wire.client import ApiClient

PASSWORD_LENGTH = 20
#: Seconds a provisioning request may spend waiting out 429s in total, beyond the declared window.
RATE_LIMIT_PATIENCE = 30.0
#: First back-off, in seconds, for a 429 without a usable Retry-After (doubled each time, up to the window).
FIRST_BACKOFF = 1.0
#: Ordinary accounts the run's pool makes at most (one source address, scarce registration limit).
POOL_SIZE = 3
#: Seconds before its access token's end at which a kept session is replaced by a new login (at most half its life).
RENEW_MARGIN = 120.0


class ProvisioningFailed(Inconclusive):
    """A step of creating or logging in a throwaway account failed (the SUT refused, or no OTP came)."""

    def __init__(self, step: str, exchange: Exchange | None = None, *, why: str | None = None) -> None:
        self.exchange = exchange
        if exchange is not None:
            why = f"answered {exchange.response.status} {excerpt(exchange.response.body, 300)} ({exchange.label})"
        super().__init__(redact(f"cannot provision a throwaway account: {step} {why}"))


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    full_name: str
    phone: str
    access_token: str | None = None
    refresh_token: str | None = None
    user: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str | None:
        """The SUT's user id (``user.id``), once known."""
        value = self.user.get("id")
        return None if value is None else str(value)

    def __repr__(self) -> str:
        """Never the password or the tokens: reprs end up in tracebacks."""
        return f"Account({self.email!r}, id={self.id!r}, password={MASK}, tokens={MASK if self.access_token else None})"

    def __post_init__(self) -> None:
        for label, value in (
            ("password", self.password),
            ("access token", self.access_token),
            ("refresh token", self.refresh_token),
        ):
            redaction.register(value, label)


def strong_password(length: int, specials: str) -> str:
    """A random password with upper, lower, digit and special characters (contract §4).

    ``specials`` are the profile's (``[accounts] password_specials``): characters
    every reasonable policy accepts, because a random password a stricter policy
    refuses would make a random requirement inconclusive.
    """
    classes = [string.ascii_uppercase, string.ascii_lowercase, string.digits, specials]
    alphabet = "".join(classes)
    chars = [secrets.choice(c) for c in classes] + [secrets.choice(alphabet) for _ in range(length - len(classes))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def random_phone() -> str:
    """A syntactically valid E.164 number in a fictional range."""
    return "+1555" + "".join(secrets.choice(string.digits) for _ in range(7))


def new_run_id() -> str:
    return secrets.token_hex(4)


class ProvisioningClients:
    """The clients that register, verify and log in throwaway accounts, used in turn.

    On a loopback target they send from the profile's provisioning addresses,
    so that per-IP limits bind per address (each paced to the declared
    limit); elsewhere there is the one client, paced to the limit.
    """

    def __init__(self, api: ApiClient, profile: Profile) -> None:
        from conformance.wire.sources import as_ipv4_literal, can_bind, reachable_from_other_sources, worker_index

        sources = profile.sources
        offset = worker_index() * sources.provisioning_count
        first = ipaddress.IPv4Address(sources.provisioning_first) + offset
        addresses = [str(first + n) for n in range(sources.provisioning_count)]
        if reachable_from_other_sources(api.base_url) and addresses and can_bind(addresses[0]):
            base_url = as_ipv4_literal(api.base_url)
            self.clients = [api.with_source(address, base_url=base_url) for address in addresses]
        else:
            self.clients = [api]
        self._turns = itertools.cycle(range(len(self.clients)))
        self._lock = threading.Lock()

    def next(self) -> ApiClient:
        with self._lock:
            return self.clients[next(self._turns)]


_provisioning: dict[int, ProvisioningClients] = {}
_provisioning_lock = threading.Lock()


def provisioning_for(api: ApiClient, profile: Profile) -> ProvisioningClients:
    """The run's provisioning clients (one set per pacer, i.e. per run and worker)."""
    with _provisioning_lock:
        key = id(api.pacer)
        if key not in _provisioning:
            _provisioning[key] = ProvisioningClients(api, profile)
        return _provisioning[key]


class AccountFactory:
    """Creates and logs in throwaway accounts; see the module docstring."""

    def __init__(
        self,
        api: ApiClient,
        target: Target,
        profile: Profile,
        *,
        run_id: str | None = None,
        email_domain: str = "example.com",
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.api = api
        self.target = target
        self.profile = profile
        self.run_id = run_id or new_run_id()
        self.email_domain = email_domain
        self._sleep = sleep
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._minting_base: Account | None = None
        self._provisioning = provisioning_for(api, profile)
        # Kept for the run: privileged sessions by (plan, role), and the pool; each with the monotonic time
        # its session was opened. One lock for both: a caller waits for the login another is making.
        self._kept_lock = threading.RLock()
        self._privileged: dict[tuple[str | None, str | None], tuple[Account, float]] = {}
        self._pool: list[tuple[Account, float]] = []
        self._pool_turn = 0
        self._clock: Callable[[], float] = time.monotonic

    def next_email(self) -> str:
        """A unique address for this run (also for tests that register by hand)."""
        with self._lock:
            number = next(self._numbers)
        return f"hlc-{self.run_id}-{number}@{self.email_domain}"

    def password(self) -> str:
        accounts = self.profile.accounts
        return strong_password(accounts.password_length(PASSWORD_LENGTH), accounts.password_specials)

    # -- the public API ----------------------------------------------------------
    def new(self, *, verified: bool = True, login: bool = False) -> Account:
        """A registered account; verified, with a session: the verification's tokens (a login when it gave none).

        ``login=True`` also logs in after verifying. Each login costs one
        request of the rate-limited login, so only tests that need one ask.
        """
        if login and not verified:
            raise ValueError("an unverified account cannot log in: use new(verified=False, login=False)")
        email = self.next_email()
        name = f"Conformance Tester {email.split('@')[0][-6:]}"
        account = Account(email=email, password=self.password(), full_name=name, phone=random_phone())
        body = {"email": email, "password": account.password, "full_name": name, "phone": account.phone}
        client = self._provisioning.next()  # one address for the whole account
        registered = self._patiently("register", lambda: client.call("register", json=body))
        if registered.response.status not in (200, 201):
            raise ProvisioningFailed("register", registered)
        if not verified:
            return account
        try:
            code = self.target.otp_code(account.email)
        except TargetError as exc:  # e.g. no mail arrived: the test cannot be judged
            raise ProvisioningFailed("otp_code", why=f"failed: {exc}") from exc
        redaction.register(code, "one-time code")
        verify = {"email": email, "otp_code": code}
        verification = self._patiently("verify_otp", lambda: client.call("verify_otp", json=verify))
        if verification.response.status != 200:
            raise ProvisioningFailed("verify_otp", verification)
        with_tokens = _with_session(account, verification.response.json)
        return self.login(with_tokens) if login or not with_tokens.access_token else with_tokens

    def login(self, account: Account) -> Account:
        """A new session (fresh tokens) for ``account``."""
        client = self._provisioning.next()
        exchange = self._patiently("login", lambda: client.login(account.email, account.password))
        if exchange.response.status != 200:
            raise ProvisioningFailed("login", exchange)
        return _with_session(account, exchange.response.json)

    @property
    def pooled(self) -> bool:
        """Whether :meth:`ordinary` shares a pool: every request from one address, at a scarce registration limit."""
        from conformance.wire.pacing import scarce
        from conformance.wire.sources import single_source

        return single_source(self.api.base_url) and scarce(self.profile.rate_limits.register)

    def ordinary(self, n: int = 1) -> list[Account]:
        """``n`` distinct verified accounts with a session, that the caller may write patients to but must never
        log out, lock or change (for that: :meth:`new`, or a session of its own from :meth:`login`).

        From one source address at a scarce registration limit (:attr:`pooled`) they come from the run's pool,
        made lazily, at most :data:`POOL_SIZE` (beyond that, the rest are new), handed out in turn so that no
        member collects every test's patients: a caller must expect patients and sessions of earlier tests on
        them. Elsewhere each call makes new accounts, as :meth:`new` does, so runs that can afford it keep every
        test independent.
        """
        if not self.pooled:
            return [self.new() for _ in range(n)]
        with self._kept_lock:
            while len(self._pool) < min(n, POOL_SIZE):
                self._pool.append((self.new(), self._clock()))
            size = len(self._pool)
            turns = [(self._pool_turn + k) % size for k in range(min(n, size))]
            self._pool_turn = (self._pool_turn + len(turns)) % size
            members = []
            for turn in turns:
                account, opened = self._pool[turn]
                if self._expiring(opened) or self._refused(account):
                    account, opened = self.login(account), self._clock()
                    self._pool[turn] = (account, opened)
                members.append(account)
        return members + [self.new() for _ in range(n - len(members))]

    def session_spent(self, account: Account) -> None:
        """A pool member's standing session may be over (a defective SUT revoked it on a request that should not
        have): the next :meth:`ordinary` that hands it out logs in again first."""
        with self._kept_lock:
            self._pool = [(a, -math.inf if a.email == account.email else t) for a, t in self._pool]

    def privileged(self, *, plan: str | None = None, role: str | None = None, fresh: bool = False) -> Account:
        """A logged-in account with ``plan`` and/or ``role``: from the target, else a minted token.

        The session is kept per (plan, role) for the run, since each costs a rate-limited login: callers may use
        it, never log it out or change the account. ``fresh=True``: a session of its own, not kept, for a caller
        that will log it out or change it.
        """
        if fresh:
            return self._privileged_session(plan, role)
        with self._kept_lock:
            kept = self._privileged.get((plan, role))
            if kept is None or self._expiring(kept[1]) or self._refused(kept[0]):
                kept = (self._privileged_session(plan, role), self._clock())
                self._privileged[(plan, role)] = kept
            return kept[0]

    def _refused(self, account: Account) -> bool:
        """Whether a kept session is over although young: another test's logout or password change may have ended
        it (a SUT may end every session of the user), or a defect did. One request of the user guard, not rate
        limited, before a kept session is handed out: a dead one would make its next user's verdict a lie."""
        if not account.access_token:
            return False
        check = self.api.call(self.profile.guard_classes["user"], token=account.access_token)
        return check.response.status == 401

    def _expiring(self, opened: float) -> bool:
        """Whether a session opened at ``opened`` is near the end of its access token's declared lifetime."""
        lifetime = self.profile.tokens.access_lifetime_seconds
        return self._clock() - opened > lifetime - min(RENEW_MARGIN, lifetime / 2)

    # -- internals --------------------------------------------------------------
    def _privileged_session(self, plan: str | None, role: str | None) -> Account:
        try:
            credentials = self.target.privileged_account(plan=plan, role=role)
        except NotRun:
            if self.profile.authorization != "claims" or not self.target.jwt_secret:
                raise
            return self._minted(plan, role)
        except TargetError as exc:  # e.g. the seed command failed
            raise ProvisioningFailed("privileged_account", why=f"failed: {exc}") from exc
        account = Account(email=credentials.email, password=credentials.password, full_name="", phone="")
        return self.login(account)

    def _minted(self, plan: str | None, role: str | None) -> Account:
        """A registered account of this run with an access token carrying elevated claims (§3)."""
        with self._lock:
            base = self._minting_base
        if base is None:
            base = self.new()
            with self._lock:
                self._minting_base = base
        if base.id is None:
            raise Inconclusive(f"cannot mint a token: the SUT returned no user id for {base.email}")
        now = int(time.time())
        claims = {
            "sub": base.id,
            "plan": plan or self.profile.accounts.default_plan,
            "role": role or self.profile.accounts.default_role,
            "iat": now,
            "exp": now + self.profile.tokens.access_lifetime_seconds,
            "jti": uuid.uuid4().hex,
            "type": "access",
        }
        token = jwt.encode(claims, self.target.jwt_secret, algorithm=self.profile.tokens.algorithm)
        user = {**base.user, "plan": claims["plan"], "role": claims["role"]}
        return dataclasses.replace(base, access_token=token, user=user)

    def _patiently(self, operation: str, send: Callable[[], Exchange]) -> Exchange:
        """Send, waiting out any 429 (bounded): provisioning is not what is being tested.

        The pacer already keeps these requests within the declared limit, so a
        429 means the SUT's limit is stricter than declared, or another client
        shares the address. Whatever its body (enveloped or not, with or without
        a code), it is waited out: ``Retry-After`` when valid, else a back-off
        doubling up to the declared window; after the window and
        :data:`RATE_LIMIT_PATIENCE` more, the 429 is returned and the caller's
        provisioning fails inconclusive, naming the limit.
        """
        rate = self.profile.rate_limits.of(operation)
        window = rate.seconds if rate else 60.0
        deadline = time.monotonic() + window + RATE_LIMIT_PATIENCE
        backoff = FIRST_BACKOFF
        while True:
            exchange = send()
            if exchange.response.status != 429:
                return exchange
            retry_after = _delay(exchange.response.headers.get("retry-after"))
            wait = min(retry_after, window) if retry_after is not None else backoff
            if time.monotonic() + wait > deadline:
                declared = f"{rate} per client address" if rate else "no limit"
                raise ProvisioningFailed(
                    operation,
                    why=f"was refused with 429 for {window + RATE_LIMIT_PATIENCE:.0f} s "
                    f"although the profile declares {declared} ([rate_limits] {operation}); "
                    f"last answer: {exchange.response.status} "
                    f"{excerpt(exchange.response.body, 200)}",
                )
            if self._sleep is not None:
                self._sleep(max(wait, 0.1))
            else:
                waiting.sleep(max(wait, 0.1), what=f"a 429 on {operation} (Retry-After)")
            backoff = min(backoff * 2, window)


def _delay(retry_after: str | None) -> float | None:
    """``Retry-After`` in seconds from now (delay-seconds or an HTTP-date), or ``None`` when absent or invalid."""
    seconds = retry_after_seconds(retry_after or "")
    if seconds is None:
        return None
    if seconds > 10**9:  # an HTTP-date: seconds since the epoch
        seconds -= time.time()
    return max(seconds, 0.0)


def _with_session(account: Account, body: Any) -> Account:
    body = body if isinstance(body, dict) else {}
    user = body.get("user") if isinstance(body.get("user"), dict) else account.user
    return dataclasses.replace(
        account,
        access_token=body.get("access_token", account.access_token),
        refresh_token=body.get("refresh_token", account.refresh_token),
        user=user,
    )
