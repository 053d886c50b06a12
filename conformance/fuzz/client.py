"""API-1's transport: sends schemathesis' cases and the extreme-value probes with the run's safety rules applied.

Safety, because both passes send whatever they like:
- they only ever talk to the target's base URL, redirects not followed;
- they authenticate with throwaway accounts of this run, never the shared
  ``user``: one for everything, and a second, sacrificial one for the
  operations that end a session or change credentials (logout, change_password);
  read-only (GET) plan- and role-guarded operations get a privileged session
  when the run has one, and only with their documented method;
- e-mail addresses in bodies are addresses of this run (the fuzzer rewrites
  them, the extreme pass builds them), so no mail goes to a real inbox and no
  real account gets locked;
- per-client-IP limits: against a loopback target they send from the fuzzer's
  own loopback address (``profile.sources.fuzz``), so their logins do not eat
  the other suites' budget; otherwise each pass sends at most a share of a
  rate-limited operation's limit.

Each pass counts what it sent per documented operation (:class:`Spending`): the
suite records those counts on its test, for the report.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import requests
import schemathesis

from conformance import redaction
from conformance.exchange import Exchange, RecordedRequest, to_curl
from conformance.fuzz import checks as schemathesis_checks
from conformance.outcomes import NotRun, Violation
from conformance.wire import factory, pacing, sources
from conformance.wire.client import ApiClient, ClientTimeout, TransportFailure, failure_of
from conformance.wire.transport import exchange_of

if TYPE_CHECKING:
    from conformance.actors.accounts import Account, AccountFactory
    from conformance.fuzz.extremes import Probe
    from conformance.fuzz.resources import PathValues
    from conformance.openapi import DocumentedOperation
    from conformance.profile import Profile
    from conformance.sut.base import Target

#: Operations that end the session or change the credentials they are called with.
SESSION_ENDING = frozenset({"logout", "change_password"})
#: Operations whose bodies carry e-mail addresses that reach mailboxes or lockout counters.
EMAIL_BODIES = frozenset({"register", "login", "verify_otp"})
#: Seconds per request: bounded, generous for a 2-core machine.
REQUEST_TIMEOUT = 10.0
#: Share of a rate limit each pass may spend when it cannot send from its own address.
RATE_BUDGET_SHARE = 0.2
#: Fresh sessions the extreme pass may take for session-ending operations (one after each success).
MAX_RENEWALS = 10
#: One case in this many of an operation with path parameters names the run's own resources (the first one
#: included); the others keep schemathesis' values, so the parameter itself is fuzzed too.
OWN_RESOURCE_EVERY = 2


@dataclass
class Safety:
    """The safety rules of one run's API-1 passes, decided once (see the module docstring)."""

    base_url: str  # the target's, with a loopback name as its IPv4 literal when sending from a source address
    source: str | None  # the loopback address to send from, or None (then the rate budgets apply)
    profile: Profile
    tokens: dict[str, str]  # logical operation -> bearer token; default_token for the rest
    default_token: str
    sacrificial: Account
    email_domain: str
    email_fields: frozenset[str]
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _numbers: itertools.count = field(default_factory=itertools.count, repr=False)

    @classmethod
    def of_run(cls, accounts: AccountFactory, profile: Profile, target: Target) -> Safety:
        """Throwaway sessions of this run, and the source address when the target is on loopback.

        New accounts, never ``accounts.ordinary``'s pool, even from one address: the fuzzer creates patients
        without bound (a pool user's listings must stay short), and the sacrificial account is logged out and
        sent password changes. Its privileged sessions are the run's kept ones: only read-only operations get them.
        """
        account, sacrificial = accounts.new(), accounts.new()
        own_source = sources.reachable_from_other_sources(target.base_url) and sources.can_bind(profile.sources.fuzz)
        return cls(
            base_url=sources.as_ipv4_literal(target.base_url) if own_source else target.base_url,
            source=profile.sources.fuzz if own_source else None,
            profile=profile,
            tokens=tokens_by_operation(profile, accounts, sacrificial.access_token or ""),
            default_token=account.access_token or "",
            sacrificial=sacrificial,
            email_domain=account.email.rsplit("@", 1)[-1],
            email_fields=frozenset({"email", profile.login.username_field}),
        )

    def token_for(self, name: str | None, *, documented_method: bool = True) -> str:
        # A probe with another method (schemathesis' coverage phase) never carries a privileged token.
        return self.tokens.get(name or "", self.default_token) if documented_method else self.default_token

    def fresh_email(self) -> str:
        return f"hlc-fuzz-{self.run}-{next(self._numbers)}@{self.email_domain}"

    def spending(self) -> Spending:
        """The request counts of a new pass, with its share of each rate limit when it shares the run's address."""
        if self.source is not None:
            return Spending({})
        return Spending(
            {op: max(1, int(rate.count * RATE_BUDGET_SHARE)) for op, rate in self.profile.rate_limits.items()}
        )


def tokens_by_operation(profile: Profile, accounts: AccountFactory, sacrificial_token: str) -> dict[str, str]:
    """Session-ending operations get the sacrificial session; plan and role guarded ones a
    privileged session when the run can provide one (read-only operations only), so the
    fuzzer reaches past the guard; everything else the ordinary throwaway session."""
    tokens = {name: sacrificial_token for name in SESSION_ENDING}
    privileged: dict[tuple[str | None, str | None], str | None] = {}
    for name, op in profile.operations.items():
        if name in SESSION_ENDING or op.method != "GET":
            continue
        wanted = (op.guard == "pro" and profile.accounts.privileged_plan or None, op.role)
        if wanted == (None, None) or op.role == profile.accounts.default_role:
            continue
        if wanted not in privileged:
            try:
                privileged[wanted] = accounts.privileged(plan=wanted[0], role=wanted[1]).access_token
            except NotRun:
                privileged[wanted] = None
        if privileged[wanted]:
            tokens[name] = privileged[wanted]
    return tokens


def own_resources(safety: Safety, document: dict[str, Any], api: ApiClient) -> PathValues:
    """The run's own resources for path parameters (:mod:`conformance.fuzz.resources`), created with the
    session the operations that use them are sent with, through ``api`` (from the passes' own address)."""
    from conformance.fuzz import extremes
    from conformance.fuzz.resources import PathValues

    def build(creator: DocumentedOperation, values: dict[str, str]) -> Probe:
        return extremes.baseline_request(
            document, creator, email_fields=safety.email_fields, fresh_email=safety.fresh_email, path_values=values
        )

    shared_limits = safety.spending().budgets  # rate-limited operations, when the passes share the run's address

    def send(request: Probe) -> Exchange | None:
        if request.operation in SESSION_ENDING or request.operation in shared_limits:
            return None  # never at the cost of a session or of the other suites' rate budget
        headers = dict(request.headers) | {"Authorization": f"Bearer {safety.token_for(request.operation)}"}
        try:
            return api.request(request.method, request.target, content=request.body, headers=headers)
        except (TransportFailure, ClientTimeout):
            return None  # no resource then: the generated values stay

    return PathValues(document, build, send)


@dataclass
class Spending:
    """What one pass sent per documented operation, and what the rate budgets held back."""

    budgets: dict[str, int]  # logical operation -> requests this pass may send to it
    sent: Counter[str] = field(default_factory=Counter)  # label -> requests sent
    held_back: Counter[str] = field(default_factory=Counter)  # label -> requests not sent (rate budget)
    _spent: Counter[str] = field(default_factory=Counter)

    def admit(self, label: str, name: str | None) -> bool:
        if name in self.budgets:
            self._spent[name] += 1
            if self._spent[name] > self.budgets[name]:
                self.held_back[label] += 1
                return False
        self.sent[label] += 1
        return True


def no_answer(request: RecordedRequest, cause: BaseException, *, sent: str) -> Violation:
    """A request that got no HTTP answer at all: API-1 wants an answer, judged like any other."""
    return Violation(
        "API-1",
        expected=f"an HTTP answer (no 5xx; ENV-1, RID-1, HDR-1), also for {sent}",
        actual=f"no answer: {type(cause).__name__}: {cause}",
        hint=f"Reproduce: {to_curl(request)}",
    )


class CaseSender:
    """Sends schemathesis cases on the wire and judges each answer.

    Schemathesis serializes each case as it would for ``requests`` (bodies,
    multipart, raw query strings: its own rules, unchanged); the prepared bytes
    then go out on a wire client (:mod:`conformance.wire.factory`), so the fuzzer
    is counted, recorded and bound by the connection rules like every other
    request, and its answers are the same :class:`~conformance.exchange.Exchange`.
    """

    def __init__(
        self, safety: Safety, judgement: schemathesis_checks.Judgement, path_values: PathValues | None = None
    ) -> None:
        self.safety = safety
        self.judgement = judgement
        self.spending = safety.spending()
        self.path_values = path_values
        # Unpaced (the rate budgets cap the cases), but counted into the run's pacer: from the run's own address,
        # a later paced login must wait for the window the fuzzer's logins spent, not meet a 429.
        pacer = pacing.RUN_PACER
        self.client = factory.client(
            factory.Purpose.FUZZ,
            source=safety.source,
            timeout=REQUEST_TIMEOUT,
            pacer=pacer,
            profile=pacer.profile if pacer is not None else None,
            wait=False,
        )
        self._cases: Counter[str] = Counter()

    def __repr__(self) -> str:
        return f"CaseSender({self.safety.base_url}, sent={dict(self.spending.sent)})"

    def send(self, case: schemathesis.Case) -> None:
        """Send one case (unless a rate budget holds it back); a non-conforming answer raises a Violation."""
        __tracebackhide__ = True
        name = schemathesis_checks.logical_operation(case.operation)
        if not self.spending.admit(case.operation.label, name):
            return
        if name in EMAIL_BODIES:
            self._rewrite_emails(case)
        own = self._fill_path(case)
        documented = str(case.method).upper() == str(case.operation.method).upper()
        token = self.safety.token_for(name, documented_method=documented)
        prepared = prepare(case, self.safety.base_url, {"Authorization": f"Bearer {token}"})
        request = self.client.build_request(
            prepared.method or "GET", prepared.url or "", content=_bytes(prepared.body), headers=dict(prepared.headers)
        )
        try:
            exchange = exchange_of(self.client.send(request))
        except httpx.TransportError as exc:
            failure = failure_of(exc, request, REQUEST_TIMEOUT)
            if isinstance(failure, ClientTimeout):  # the client gave up: that proves nothing about the SUT
                raise failure from None
            raise no_answer(failure.request, exc, sent=f"a case of {case.operation.label}") from None
        if (
            own
            and self.path_values is not None
            and str(case.method).upper() == "DELETE"
            and 200 <= exchange.response.status < 300
        ):
            self.path_values.spent(case.operation.path, own)
        violation = schemathesis_checks.api1_violation(exchange, self.judgement)
        if violation is not None:
            raise violation

    def close(self) -> None:
        self.client.close()

    def _fill_path(self, case: schemathesis.Case) -> dict[str, str]:
        """Every ``OWN_RESOURCE_EVERY``-th case of an operation names the run's own resources in its path."""
        self._cases[case.operation.label] += 1
        parameters = case.path_parameters
        if self.path_values is None or not parameters or (self._cases[case.operation.label] - 1) % OWN_RESOURCE_EVERY:
            return {}
        own = {k: v for k, v in self.path_values.for_path(case.operation.path).items() if k in parameters}
        parameters.update(own)
        return own

    def _rewrite_emails(self, case: schemathesis.Case) -> None:
        """Addresses of this run instead of whatever was generated: no real inbox, no real account."""
        if not isinstance(case.body, dict):
            return
        for key, value in case.body.items():
            if isinstance(value, str) and "@" in value and key in self.safety.email_fields:
                case.body[key] = self.safety.fresh_email()


class ProbeSender:
    """Sends extreme-value probes (raw bytes, with ``httpx``) and judges each answer.

    Session-ending operations get a session of the sacrificial account of their
    own, renewed after each probe they accepted: a logout the extreme pass sent
    never revokes the session the fuzzer uses.
    """

    def __init__(self, safety: Safety, judgement: schemathesis_checks.Judgement, api: ApiClient) -> None:
        """``api`` sends to ``safety.base_url`` from ``safety.source`` (``ApiClient.with_source``)."""
        self.safety = safety
        self.judgement = judgement
        self.spending = safety.spending()
        self.api = api
        self._session_token: str | None = None
        self._renewals = 0

    def send(self, probe: Probe) -> Violation | None:
        """Send one probe (unless a rate budget holds it back); the answer's API-1 violation, if any.

        Raises :class:`~conformance.wire.client.ClientTimeout` (inconclusive) when the client gave up waiting.
        """
        if not self.spending.admit(probe.label, probe.operation):
            return None
        token = self._token(probe.operation)
        if token is None:  # no session of its own left: held back rather than ending the fuzzer's session
            self.spending.held_back[probe.label] += 1
            return None
        headers = dict(probe.headers) | {"Authorization": f"Bearer {token}"}
        try:
            exchange = self.api.request(probe.method, probe.target, content=probe.body, headers=headers)
        except TransportFailure as failure:
            return no_answer(failure.request, failure.cause, sent=probe.describe())
        if probe.operation in SESSION_ENDING and 200 <= exchange.response.status < 300:
            self._session_token = None  # that session may be over: the next probe gets a fresh one
        if exchange.response.status in probe.unjudged_statuses:
            return None
        return schemathesis_checks.api1_violation(exchange, self.judgement, sent=probe.describe())

    def _token(self, name: str | None) -> str | None:
        if name not in SESSION_ENDING:
            return self.safety.token_for(name)
        if self._session_token is None:
            self._session_token = self._fresh_session()
        return self._session_token

    def _fresh_session(self) -> str | None:
        """A new session of the sacrificial account (bounded; counted against the login budget)."""
        if self._renewals >= MAX_RENEWALS or not self.spending.admit(
            "login (a fresh session for session-ending probes)", "login"
        ):
            return None
        self._renewals += 1
        account = self.safety.sacrificial
        try:
            exchange = self.api.login(account.email, account.password)
        except (TransportFailure, ClientTimeout):
            return None
        body: Any = exchange.response.json
        tokens = body if exchange.response.status == 200 and isinstance(body, dict) else {}
        for name in ("access_token", "refresh_token"):
            redaction.register(tokens.get(name), name.replace("_", " "))  # opaque tokens match no JWT pattern
        token = tokens.get("access_token")
        return token if isinstance(token, str) else None


#: The keyword arguments of schemathesis' serialized case that make the request's bytes.
_REQUEST_FIELDS = ("method", "url", "headers", "params", "cookies", "json", "data", "files", "auth")


def prepare(case: schemathesis.Case, base_url: str, headers: dict[str, str]) -> requests.PreparedRequest:
    """The bytes schemathesis would send for ``case`` (its ``requests`` serialization), without sending them."""
    kwargs = case.as_transport_kwargs(base_url=base_url, headers=headers)
    return requests.Request(**{key: kwargs[key] for key in _REQUEST_FIELDS if key in kwargs}).prepare()


def _bytes(body: Any) -> bytes:
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)
