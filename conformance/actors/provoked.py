"""The run's shared provocations: each response kind several suites judge is provoked once per run.

From one source address at a real service's limits (5 registrations and 5
logins a minute) every request to ``register`` or ``login`` costs 12 s of
waiting. The envelope, header, request-id and auth suites all need the same
few response kinds: an unhandled 500 (a privileged login), a 422 and a 413 of
``register``, a 201 registration, the login of an unverified account, a wrong
OTP, a failed login with a wrong password and one with an unknown email, a
401 without a token. What those suites judge of them (the envelope, the
headers, the request id, the Bearer challenge, the refusal) does not depend
on which test sent the request, so each kind is sent once per run, kept, and
replayed to every test that asks for it: recorded into that test's report
(``api.record``) so its failure shows the exchange it judged, and a failure to
provoke (``NotRun``, ``Inconclusive``, a transport failure) is raised again in
every test that asks.

Accounts it makes (three at most, all throwaway accounts of this run):

- the *unverified* account, registered by hand so that its registration is
  the 201 sample; its login and a wrong OTP are provoked on it, never its
  verification, so it stays unverified for both;
- the *spare* account, verified, for the wrong-password login and for the
  auth suite's bad-token matrix (which logs out its verification session: it
  never changes the account, whose password stays right and unused);
- the ``user`` of the run is not touched here.

Thread-safe (one lock, re-entrant because a kind may need another's account),
one registry per run and worker (keyed by the pacer, as the provisioning
clients are).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from conformance.actors.accounts import Account, AccountFactory, random_phone
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, NotRun
from conformance.profile import Profile
from conformance.sut.base import Target
from conformance.wire.client import ApiClient

JSON_HEADERS = {"content-type": "application/json"}


class ProvocationFailed(Inconclusive):
    """The account a kind is provoked on could not be registered: the tests of that kind cannot be judged."""


class Provocations:
    """Each kind's exchange, provoked at most once per run (or the reason it could not be); see the module."""

    def __init__(self, api: ApiClient, profile: Profile, target: Target, accounts: AccountFactory) -> None:
        self.api, self.profile, self.target, self.accounts = api, profile, target, accounts
        self._lock = threading.RLock()
        self._done: dict[str, Exchange | BaseException] = {}
        self._unverified: Account | None = None
        self._spare: Account | None = None
        self._wrong_password: str | None = None

    def __call__(self, kind: str) -> Exchange:
        """The exchange of ``kind`` (provoked on first use), recorded into the calling test's report."""
        outcome = self._once(kind, lambda: KINDS[kind](self))
        if isinstance(outcome, BaseException):
            raise outcome.with_traceback(None)  # not the tracebacks of every earlier replay
        return self.api.record(outcome)

    def _once(self, key: str, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._done:
                try:
                    self._done[key] = make()
                except Exception as reason:  # NotRun, Inconclusive, TransportFailure...: replayed to every asker
                    self._done[key] = reason
            return self._done[key]

    # -- the accounts ------------------------------------------------------------
    def unverified_account(self) -> Account:
        """The account registered by the ``registered-201`` kind (never verified); raises if it was refused."""
        registered = self("registered-201")
        if self._unverified is None or registered.response.status not in (200, 201):
            raise ProvocationFailed(f"registering the unverified account answered {registered.response.status}")
        return self._unverified

    def spare_account(self) -> Account:
        """A verified throwaway account with the session of its verification (made once; no login)."""
        outcome = self._once("spare-account", self.accounts.new)
        if isinstance(outcome, BaseException):
            raise outcome.with_traceback(None)
        return outcome

    def wrong_password(self) -> str:
        """The one wrong password of both failed logins (AUTH-5 compares attempts that differ only in the email)."""
        with self._lock:
            if self._wrong_password is None:
                self._wrong_password = self.accounts.password()
            return self._wrong_password

    # -- the kinds -----------------------------------------------------------------
    def _registered(self) -> Exchange:
        email = self.accounts.next_email()
        account = Account(
            email=email, password=self.accounts.password(), full_name="Unverified Probe", phone=random_phone()
        )
        body = {"email": email, "password": account.password, "full_name": account.full_name, "phone": account.phone}
        exchange = self.api.call("register", json=body)
        if exchange.response.status in (200, 201):
            self._unverified = account
        return exchange

    def _unhandled_error(self) -> Exchange:
        if self.profile.is_production:
            raise NotRun("error_trigger is absent from production targets", option="a development target")
        admin = self.accounts.privileged(role=self.profile.accounts.privileged_role)
        exchange = self.api.call("error_trigger", token=admin.access_token)
        if exchange.response.status < 500:
            # The suites judge the answer as a 5xx (its envelope, headers, request id): without one, the
            # unhandled-error path was not reached, and no clause of it may pass on what came instead.
            self.api.record(exchange)
            raise Inconclusive(
                f"no unhandled error to judge: error_trigger, called with the {self.profile.accounts.privileged_role} "
                f"session, answered {exchange.response.status} ({exchange.label}), not a 5xx"
            )
        return exchange

    def _invalid_body(self) -> Exchange:
        return self.api.call("register", json={"password": "Aa1!" + uuid.uuid4().hex, "full_name": "No Email"})

    def _oversized_body(self) -> Exchange:
        size = self.profile.limits.max_body_bytes + 1
        return self.api.call("register", content=b" " * size, headers=JSON_HEADERS)

    def _unverified_login(self) -> Exchange:
        account = self.unverified_account()
        return self.api.login(account.email, account.password)

    def _wrong_otp(self) -> Exchange:
        # The unverified login goes first, whatever order the tests ask in: a SUT that takes the wrong code
        # verifies the account, and the login would then blame AUTH-6 and the envelope for the OTP's defect.
        self._once("unverified-login", lambda: KINDS["unverified-login"](self))
        account = self.unverified_account()
        code = wrong_code(self.target, self.profile.accounts.otp_length, account.email)
        return self.api.call("verify_otp", json={"email": account.email, "otp_code": code})

    def _wrong_password_login(self) -> Exchange:
        return self.api.login(self.spare_account().email, self.wrong_password())

    def _unknown_email_login(self) -> Exchange:
        return self.api.login(unknown_email(self.accounts), self.wrong_password())

    def _no_token(self) -> Exchange:
        return self.api.call(self.profile.guard_classes["user"])


def wrong_code(target: Target, length: int, email: str) -> str:
    """A well-formed code that is surely not the one sent to ``email`` (when the run can read it)."""
    try:
        real = target.otp_code(email)
    except NotRun:
        real = None  # cannot read the mailbox: one in 10**length that the wrong code is right
    if real is not None and real.isdigit():
        return f"{(int(real) + 1) % 10**length:0{length}d}"
    return next(code for code in ("0" * length, "1" * length) if code != real)


def unknown_email(accounts: AccountFactory) -> str:
    """An address no account has (nor ever will: the run id and a random part)."""
    return f"hlc-{accounts.run_id}-nobody-{uuid.uuid4().hex[:10]}@{accounts.email_domain}"


#: The kinds: what each provokes. Register-bound 422 and 413: the clauses judging them (the envelope, the headers
#: and request id of a response class, a body token not decoded) do not depend on which test sent them.
KINDS: dict[str, Callable[[Provocations], Exchange]] = {
    "unhandled-500": Provocations._unhandled_error,
    "invalid-body-422": Provocations._invalid_body,
    "oversized-413": Provocations._oversized_body,
    "registered-201": Provocations._registered,
    "unverified-login": Provocations._unverified_login,
    "wrong-otp": Provocations._wrong_otp,
    "wrong-password-login": Provocations._wrong_password_login,
    "unknown-email-login": Provocations._unknown_email_login,
    "no-token-401": Provocations._no_token,
}

_registries: dict[int, Provocations] = {}
_registries_lock = threading.Lock()


def registry(api: ApiClient, profile: Profile, target: Target, accounts: AccountFactory) -> Provocations:
    """The run's provocations (one per pacer, i.e. per run and worker)."""
    with _registries_lock:
        key = id(api.pacer)
        if key not in _registries or _registries[key].api is not api:
            _registries[key] = Provocations(api, profile, target, accounts)
        return _registries[key]
