"""API-1: fuzzing the SUT's published OpenAPI document.

Schemathesis generates requests for every operation of the document
(``error_trigger`` excepted: it fails on purpose) and each answer must be no
5xx and satisfy ENV-1, RID-1 and HDR-1 (see :mod:`conformance.schemathesis_checks`).

Safety, because the fuzzer sends whatever it likes:
- it only ever talks to the target's base URL, redirects not followed;
- it authenticates with throwaway accounts of this run, never the shared
  ``user``: one for everything, and a second, sacrificial one for the
  operations that end a session or change credentials (logout, change_password);
  read-only (GET) plan- and role-guarded operations get a privileged session
  when the run has one, and only with their documented method;
- e-mail addresses in register and login bodies are rewritten to addresses of
  this run, so no mail goes to a real inbox and no real account gets locked;
- per-client-IP limits: against a loopback target it sends from its own
  loopback address, so its logins do not eat the other suites' budget;
  otherwise it sends at most a few requests to rate-limited operations.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from conformance import schemathesis_checks, sources
from conformance.outcomes import NotRun, Violation

#: Logical operations never fuzzed: error_trigger fails on purpose (API-1 excepts it).
NOT_FUZZED = ("error_trigger",)
#: Operations that end the session or change the credentials they are called with.
SESSION_ENDING = frozenset({"logout", "change_password"})
#: Operations whose bodies carry e-mail addresses that reach mailboxes or lockout counters.
EMAIL_BODIES = frozenset({"register", "login", "verify_otp"})
#: Seconds per request: bounded, generous for a 2-core machine.
REQUEST_TIMEOUT = 10.0
#: Share of a rate limit the fuzzer may spend when it cannot send from its own address.
RATE_BUDGET_SHARE = 0.2


@dataclass(repr=False)
class FuzzClient:
    """Sends schemathesis cases to the target with the run's safety rules applied."""

    base_url: str
    judgement: schemathesis_checks.Judgement
    #: The bearer token for each logical operation; ``default_token`` for the rest.
    tokens: dict[str, str]
    default_token: str
    email_domain: str
    email_fields: frozenset[str]
    rate_budgets: dict[str, int]
    session: requests.Session = field(default_factory=requests.Session)
    spent: dict[str, int] = field(default_factory=dict)
    _numbers: itertools.count = field(default_factory=itertools.count)
    _run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def __repr__(self) -> str:
        return f"FuzzClient({self.base_url}, budgets={self.rate_budgets}, spent={self.spent})"

    def send(self, case: schemathesis.Case) -> None:
        __tracebackhide__ = True
        name = schemathesis_checks.logical_operation(case.operation)
        if not self._within_budget(name):
            return
        if name in EMAIL_BODIES:
            self._rewrite_emails(case)
        token = self.default_token
        if str(case.method).upper() == str(case.operation.method).upper():
            # A probe with another method (schemathesis' coverage phase) never carries a privileged token.
            token = self.tokens.get(name or "", self.default_token)
        response = case.call(
            base_url=self.base_url,
            session=self.session,
            headers={"Authorization": f"Bearer {token}"},
            timeout=REQUEST_TIMEOUT,
            allow_redirects=False,
        )
        with schemathesis_checks.judging(self.judgement):
            schemathesis_checks.validate(case, response)

    def _within_budget(self, name: str | None) -> bool:
        if name not in self.rate_budgets:
            return True
        self.spent[name] = self.spent.get(name, 0) + 1
        return self.spent[name] <= self.rate_budgets[name]

    def _rewrite_emails(self, case: schemathesis.Case) -> None:
        """Addresses of this run instead of whatever was generated: no real inbox, no real account."""
        if not isinstance(case.body, dict):
            return
        for key, value in case.body.items():
            if isinstance(value, str) and "@" in value and key in self.email_fields:
                case.body[key] = f"hlc-fuzz-{self._run}-{next(self._numbers)}@{self.email_domain}"


@pytest.fixture(scope="module")
def published_api(api, profile, target) -> schemathesis.BaseSchema:
    """The SUT's OpenAPI document as a schemathesis schema aimed at the target only."""
    exchange = api.call("openapi")
    document = exchange.response.json
    if exchange.response.status != 200 or not isinstance(document, dict) or "paths" not in document:
        raise Violation(
            "API-1",
            expected="200 with the OpenAPI 3.x document to fuzz",
            actual=f"{exchange.response.status}, {'no' if not isinstance(document, dict) else 'an unusable'} document",
            exchange=exchange,
        )
    annotated = schemathesis_checks.annotate_operations(document, profile, excluded=NOT_FUZZED)
    # An explicit Config: never pick up a schemathesis.toml from the working directory.
    schema = schemathesis.openapi.from_dict(annotated, config=schemathesis.Config())
    schema.config.update(base_url=target.base_url, request_timeout=REQUEST_TIMEOUT)
    return schema


@pytest.fixture(scope="module")
def fuzz_client(accounts, profile, target) -> FuzzClient:
    """Throwaway sessions and a transport that keep the fuzzer apart from the other suites."""
    account, sacrificial = accounts.new(), accounts.new()
    session = requests.Session()
    base_url = target.base_url
    if sources.reachable_from_other_sources(base_url) and sources.can_bind(profile.sources.fuzz):
        adapter = schemathesis_checks.SourceAddressAdapter(profile.sources.fuzz)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        base_url = sources.as_ipv4_literal(base_url)
        budgets: dict[str, int] = {}
    else:
        budgets = {op: max(1, int(rate.count * RATE_BUDGET_SHARE)) for op, rate in profile.rate_limits.items()}
    client = FuzzClient(
        base_url=base_url,
        judgement=schemathesis_checks.Judgement(profile),
        tokens=tokens_by_operation(profile, accounts, sacrificial.access_token),
        default_token=account.access_token,
        email_domain=account.email.rsplit("@", 1)[-1],
        email_fields=frozenset({"email", profile.login.username_field}),
        rate_budgets=budgets,
        session=session,
    )
    yield client
    session.close()


def tokens_by_operation(profile, accounts, sacrificial_token: str) -> dict[str, str]:
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


fuzzed_api = schemathesis.pytest.from_fixture("published_api").exclude(func=schemathesis_checks.is_excluded)


@pytest.mark.requirement("API-1")
@settings(
    # Bounded: ~15 generated cases per operation keep the whole suite well under a minute here.
    max_examples=15,
    # A 2-core shared machine: wall-clock deadlines would only measure the neighbours.
    deadline=None,
    # No shrinking: each step is a live request; the failing request is reported as sent.
    phases=[Phase.explicit, Phase.generate],
    # The fixtures are module-scoped and read-only during the test; nothing to reset per example.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)
@fuzzed_api.parametrize()
def test_fuzzed_requests_get_conforming_answers(case, fuzz_client):
    fuzz_client.send(case)
