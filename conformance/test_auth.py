"""AUTH-1..7: tokens, guards and credentials, seen from outside.

The bad-token matrix (every AUTH-2 variant of :mod:`conformance.actors.tokens`
against the representative operation of every guard class, and against
``logout``) is sent once per module and judged by several tests: AUTH-2 (the
classes refuse alike), ENV-3 (the code of the user class follows the table),
AUTH-1 (one decode each) and AUTH-4 (a Bearer challenge). AUTH-7 sends one
token per entry of the weak-secret dictionary to the user guard.

The user, pro and role columns are forged from the shared ``user`` session and
only ever sent to reads; the logout column is forged from a throwaway session
of its own, so that a SUT that wrongly logs out on a forged token revokes
nothing another test relies on.

Budget: from one address every ``register`` and ``login`` costs 12 s at 5 a
minute. The failed logins (a wrong password, an unknown email), the
unverified account's login, its wrong OTP and the 422 of ``register`` are the
run-wide provocations of :mod:`conformance.actors.provoked`, which the
envelope suite judges too. The throwaway account of the matrix is the run's
spare account (also the one of the wrong-password login): its verification
session is logged out (the revoked token) and its second session comes from
``refresh`` with the refresh token the logout left alone, so the matrix costs
no login (one when the SUT refuses that refresh). What remains here are the
privileged sessions (cached).
"""

from __future__ import annotations

import string
import time
from collections.abc import Callable, Mapping

import pytest

from conformance import redaction
from conformance.actors import weak_secrets
from conformance.actors.provoked import Provocations, registry, unknown_email
from conformance.actors.tokens import ALG_NONE_SPELLINGS, VARIANT_BY_ID, VARIANTS, BadToken, Session, TokenForge
from conformance.body import describe
from conformance.checks import auth
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, NotApplicable, NotRun
from conformance.profile import Operation, Profile
from conformance.wire import waiting

GUARD_CLASSES = ("user", "pro", "role")
#: The matrix's columns: the guard classes, and logout (a forged token must not log anyone out).
MATRIX_COLUMNS = (*GUARD_CLASSES, "logout")
#: Fills ``{id}``-style path parameters: authentication must answer before any lookup.
PLACEHOLDER_VALUE = "hlc-no-such-resource"
#: AUTH-7 bounds: at most this many dictionary entries, within this many seconds (waits for 429s included).
WEAK_SECRETS_MAX = 500
WEAK_SECRETS_BUDGET_SECONDS = 120.0
#: The bad-token family of AUTH-2's list each variant belongs to (its clauses): the spellings of one trick share it.
FAMILIES = {
    "missing": ("missing", "query-access-token", "query-token"),
    "malformed": ("malformed", "oversized", "missing-exp"),
    "bad-signature": (
        "bad-signature",
        "truncated-signature",
        "empty-signature",
        "kid-path-traversal",
        "kid-sql-injection",
        "kid-command-injection",
        "jwk-embedded",
        "jku-foreign-key",
        "x5u-foreign-key",
        "alg-rs256",
        "alg-es256",
        "alg-hs256-public-key",
    ),
    "alg-none": tuple(f"alg-{s}{signed}" for s in ALG_NONE_SPELLINGS for signed in ("", "-signed")),
    "expired": ("expired", "expired-just-now", "nbf-future", "iat-future"),
    "revoked": ("revoked",),
    "refresh-as-access": ("refresh-as-access",),
    "tampered-claims": ("tampered-claims", "unknown-sub"),
}
FAMILY = {variant: family for family, variants in FAMILIES.items() for variant in variants}


def variant_params(clauses_of: Callable[[str], tuple[str, ...]]) -> list:
    """VARIANTS as parameters, each marked with the clauses ``clauses_of(variant)`` names."""
    return [pytest.param(variant, marks=pytest.mark.clause(*clauses_of(variant))) for variant in VARIANTS]


def code_clause(variant: str) -> str:
    """The ENV-3 clause of the code a variant must be refused with (TOKEN_EXPIRED -> ENV-3/token-expired)."""
    return "ENV-3/" + VARIANT_BY_ID[variant].expected_code.lower().replace("_", "-")


def call_guarded(api, operation: Operation, token: str | None, *, params: Mapping[str, str] | None = None) -> Exchange:
    """Call ``operation`` with ``token`` (``None``: no Authorization header) and a harmless body."""
    fields = [name for _, name, _, _ in string.Formatter().parse(operation.path) if name]
    return api.call(
        operation.name,
        token=token,
        path_params={name: PLACEHOLDER_VALUE for name in fields} or None,
        json={} if operation.body == "json" else None,
        params=params,
    )


def send_bad_token(api, operation: Operation, bad: BadToken) -> Exchange:
    """Send ``bad`` to ``operation``: as the bearer token, or in the query string for a query-string variant.

    A query-string variant carries a genuine token in the URL; like every
    token of the run it is registered for redaction, so no output shows it.
    """
    return call_guarded(api, operation, bad.bearer, params=bad.query)


class RejectionMatrix:
    """The answers of every matrix column to every bad-token variant, each variant sent on first use."""

    def __init__(self, api, accounts, profile: Profile, forge: TokenForge, user, shared: Provocations) -> None:
        self.api = api
        self.accounts = accounts
        self.shared = shared
        self.profile = profile
        self.forge = forge
        self.user = user
        self._throwaway = None
        self._logged_out: Session | None = None
        self._logout_session: Session | None = None
        self._answers: dict[str, dict[str, Exchange]] = {}

    def logged_out(self) -> Session:
        """The spare account's verification session, logged out: its access token is revoked.

        Made on first use: only the revoked variant and the logout column need
        it. The logout presents no refresh token, so that the refresh token
        stays valid for :meth:`logout_session` (§2: logout revokes the presented
        token, and the refresh token only when given).
        """
        if self._logged_out is None:
            account = self.shared.spare_account()
            logout = self.api.call("logout", token=account.access_token)
            if not 200 <= logout.response.status < 300:
                raise Inconclusive(f"logout of a throwaway session failed ({describe(logout)}), so no revoked token")
            self._throwaway = account
            self._logged_out = Session(account.access_token, account.refresh_token, account.access_token)
        return self._logged_out

    def logout_session(self) -> Session:
        """A live session of the throwaway account, opened after the other one was logged out.

        From ``refresh`` (not rate limited tightly); a login only when the SUT
        refuses it (e.g. a logout that revoked the whole session family).
        """
        if self._logout_session is None:
            revoked = self.logged_out()
            refreshed = self.api.call("refresh", json={"refresh_token": revoked.refresh_token})
            body = refreshed.response.json if refreshed.response.status == 200 else None
            if isinstance(body, dict) and body.get("access_token") and body.get("refresh_token"):
                live = Session(body["access_token"], body["refresh_token"], revoked.access_token)
                for token, label in ((live.access_token, "access token"), (live.refresh_token, "refresh token")):
                    redaction.register(token, label)
            else:
                account = self.accounts.login(self._throwaway)
                live = Session(account.access_token, account.refresh_token, revoked.access_token)
            self._logout_session = live
        return self._logout_session

    def bad_token(self, variant: str, column: str = "user") -> BadToken:
        if column == "logout":
            return self.forge.make(variant, self.logout_session())
        if variant == "revoked":
            return self.forge.make(variant, self.logged_out())
        return self.forge.make(variant, Session(self.user.access_token, self.user.refresh_token))

    def operation(self, column: str) -> Operation:
        return self.profile.operation("logout") if column == "logout" else self.profile.guard_operation(column)

    def answers(self, variant: str) -> dict[str, Exchange]:
        """Column -> answer; logout is sent last, so that whatever it wrongly revokes cannot affect the others."""
        if variant not in self._answers:
            self._answers[variant] = {
                column: send_bad_token(self.api, self.operation(column), self.bad_token(variant, column))
                for column in MATRIX_COLUMNS
            }
        return self._answers[variant]


@pytest.fixture(scope="module")
def forge(profile: Profile, target) -> TokenForge:
    role = profile.guard_operation("role").role or profile.accounts.privileged_role
    elevated = {"plan": profile.accounts.privileged_plan, "role": role}
    return TokenForge(target.jwt_secret, algorithm=profile.tokens.algorithm, elevated_claims=elevated)


@pytest.fixture(scope="module")
def shared(api, profile, target, accounts) -> Provocations:
    """The run-wide provocations (:mod:`conformance.actors.provoked`)."""
    return registry(api, profile, target, accounts)


@pytest.fixture(scope="module")
def rejections(api, accounts, profile, forge, user, shared) -> RejectionMatrix:
    return RejectionMatrix(api, accounts, profile, forge, user, shared)


# -- AUTH-2 and the code table ----------------------------------------------------------


@pytest.mark.requirement("AUTH-2", "ENV-7")
@pytest.mark.clause("ENV-7/bad-tokens")  # a bad token answered 2xx "success" (logout) is ENV-7's failure too
@pytest.mark.parametrize("variant", variant_params(lambda v: tuple(f"AUTH-2/{k}/{FAMILY[v]}" for k in GUARD_CLASSES)))
def test_bad_token_is_refused_alike_by_every_guard_class(rejections, variant):
    auth.rejections_agree(rejections.answers(variant), variant=variant, summary=VARIANT_BY_ID[variant].summary)


@pytest.mark.requirement("ENV-3")
@pytest.mark.parametrize("variant", variant_params(lambda v: (code_clause(v),)))
def test_bad_token_refusal_has_the_code_of_its_kind(rejections, variant):
    """Judged on the user class only: whether the other classes agree with it is AUTH-2."""
    auth.refusal_has_code(rejections.answers(variant)["user"], VARIANT_BY_ID[variant].expected_code)


# -- AUTH-1 ------------------------------------------------------------------------------


@pytest.mark.requirement("AUTH-1")
@pytest.mark.clause("AUTH-1/user-failure", "AUTH-1/pro-failure", "AUTH-1/role-failure")
@pytest.mark.parametrize("variant", VARIANTS)
def test_refused_token_is_decoded_once_on_every_guard_class(rejections, profile, variant):
    for exchange in rejections.answers(variant).values():
        auth.bearer_decoded_once(exchange, profile.headers.debug_decodes)


@pytest.mark.requirement("AUTH-1")
@pytest.mark.clause("AUTH-1/{klass}-success")
@pytest.mark.parametrize("klass", GUARD_CLASSES)
def test_token_with_access_is_decoded_once(api, profile, klass, privileged_for_class):
    """The success path (whether the guard really admits it is AUTH-3's question)."""
    account = privileged_for_class(klass)
    exchange = call_guarded(api, profile.guard_operation(klass), account.access_token)
    auth.bearer_decoded_once(exchange, profile.headers.debug_decodes)


@pytest.mark.requirement("AUTH-1")
@pytest.mark.clause("AUTH-1/{klass}-failure")
@pytest.mark.parametrize("klass", ("pro", "role"))
def test_wrong_plan_or_role_is_decoded_once(api, profile, user, klass):
    exchange = call_guarded(api, profile.guard_operation(klass), user.access_token)
    auth.bearer_decoded_once(exchange, profile.headers.debug_decodes)


@pytest.mark.requirement("AUTH-1")
@pytest.mark.clause("AUTH-1/no-bearer")
def test_requests_without_a_bearer_token_are_not_decoded(api, profile, rejections, shared):
    """Unguarded operations, and a token sent in the body, which is not the bearer token (§5).

    The ``register`` is the run's shared 422 (an unguarded operation, whatever its answer). The body token is
    the revoked access token (refused by ``refresh`` either way): a refresh token of the throwaway family would
    be a reuse that may revoke the live session the logout column is forged from.
    """
    exchanges = [
        api.call("health"),
        shared("invalid-body-422"),
        api.call("refresh", json={"refresh_token": rejections.logged_out().access_token}),
    ]
    for exchange in exchanges:
        auth.bearer_decoded_once(exchange, profile.headers.debug_decodes)


# -- AUTH-3 ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def privileged_for_class(profile, user, accounts) -> Callable[[str], object]:
    """The account that should pass each guard class: ``user``, else a privileged one (NotRun without).

    The factory keeps each privileged session for the run (a login is rate limited) and checks it is still live
    before handing it out: no cache here, which would hand out a session the factory has replaced.
    """

    def account(klass: str):
        if klass == "user":
            return user
        if klass == "pro":
            return accounts.privileged(plan=profile.accounts.privileged_plan)
        return accounts.privileged(role=profile.guard_operation("role").role)

    return account


@pytest.mark.requirement("AUTH-3")
@pytest.mark.clause("AUTH-3/wrong-plan")
def test_wrong_plan_gets_pro_required(api, profile, user):
    plan = profile.accounts.privileged_plan
    if user.user.get("plan") == plan:
        raise Inconclusive(f"the ordinary throwaway account already has plan {plan!r}")
    exchange = call_guarded(api, profile.guard_operation("pro"), user.access_token)
    auth.status_and_code(exchange, profile.codes["PRO_REQUIRED"], "PRO_REQUIRED", "AUTH-3")


@pytest.mark.requirement("AUTH-3")
@pytest.mark.clause("AUTH-3/wrong-role")
def test_wrong_role_gets_forbidden(api, profile, user):
    role = profile.guard_operation("role").role
    if user.user.get("role") == role:
        raise Inconclusive(f"the ordinary throwaway account already has role {role!r}")
    exchange = call_guarded(api, profile.guard_operation("role"), user.access_token)
    auth.status_and_code(exchange, profile.codes["FORBIDDEN"], "FORBIDDEN", "AUTH-3")


@pytest.mark.requirement("AUTH-3")
@pytest.mark.parametrize(
    "klass",
    [
        pytest.param("pro", marks=pytest.mark.clause("AUTH-3/right-plan")),
        pytest.param("role", marks=pytest.mark.clause("AUTH-3/right-role")),
    ],
)
def test_right_plan_or_role_passes(api, profile, klass, privileged_for_class):
    account = privileged_for_class(klass)
    auth.guard_admits(call_guarded(api, profile.guard_operation(klass), account.access_token))


def role_routes(profile: Profile) -> list[Operation]:
    """Every role-guarded operation the target has (error_trigger is absent from production targets)."""
    return [
        op
        for op in profile.operations.values()
        if op.role and not (op.name == "error_trigger" and profile.is_production)
    ]


def accounts_by_role(profile: Profile, user, accounts, kind: str) -> dict[str, object]:
    """``default``: the ordinary account; ``privileged``: one account per other role the run can reach.

    The privileged role of the profile is required (NotRun without it); the
    other roles that routes name are tried and left out when no account has them.
    """
    if kind == "default":
        return {user.user.get("role") or profile.accounts.default_role: user}
    wanted = {profile.accounts.privileged_role, *(op.role for op in role_routes(profile))}
    wanted -= {profile.accounts.default_role, user.user.get("role")}
    found = {}
    for role in sorted(wanted):
        try:
            found[role] = accounts.privileged(role=role)
        except NotRun:
            if role == profile.accounts.privileged_role:
                raise
    return found


@pytest.mark.requirement("AUTH-3")
@pytest.mark.clause("AUTH-3/every-role")
@pytest.mark.parametrize("kind", ["default", "privileged"])
def test_every_other_role_gets_forbidden_on_every_role_route(api, profile, user, accounts, kind):
    """No hierarchy (§1): each role the run has, on every role route that requires another role, is 403 FORBIDDEN.

    An admin on the doctor routes (create, update, delete a patient) is the case
    the wrong-role probe (a doctor on the admin route) never sends. Harmless
    requests: an empty body and a placeholder id, so a guard that lets the
    account through reaches a 404 or 422, never a write. A 422 is not judged
    (a SUT may validate the body before the role guard).
    """
    judged, unjudged = 0, []
    for role, account in accounts_by_role(profile, user, accounts, kind).items():
        for operation in role_routes(profile):
            if operation.role == role:
                continue
            exchange = call_guarded(api, operation, account.access_token)
            if exchange.response.status == 422:
                unjudged.append(f"role {role!r} on {operation.name}")
                continue
            auth.other_role_forbidden(
                exchange, role=role, required=operation.role, status=profile.codes["FORBIDDEN"], code="FORBIDDEN"
            )
            judged += 1
    if not judged:
        raise Inconclusive(
            "no role route requiring another role could be judged"
            + (f" ({', '.join(unjudged)} answered 422 before the role guard)" if unjudged else "")
        )


# -- AUTH-4 ------------------------------------------------------------------------------


@pytest.mark.requirement("AUTH-4")
@pytest.mark.parametrize(
    "variant", variant_params(lambda v: ("AUTH-4/missing-token",) if FAMILY[v] == "missing" else ("AUTH-4/bad-token",))
)
def test_bad_token_refusal_carries_a_bearer_challenge(rejections, variant):
    """Judged on the 401s only: a bad token answered otherwise is AUTH-2's finding."""
    refusals = [exchange for exchange in rejections.answers(variant).values() if exchange.response.status == 401]
    if not refusals:
        raise NotApplicable("no column answered 401, so there is no challenge to judge", blocked_by="AUTH-2")
    for exchange in refusals:
        auth.unauthenticated_has_challenge(exchange)


@pytest.mark.requirement("AUTH-4")
@pytest.mark.clause("AUTH-4/failed-login")
def test_failed_login_carries_a_bearer_challenge(login_failures):
    for exchange in login_failures:
        if exchange.response.status == 401:
            auth.unauthenticated_has_challenge(exchange)


# -- AUTH-5 ------------------------------------------------------------------------------


@pytest.fixture
def login_failures(shared) -> tuple[Exchange, Exchange]:
    """One wrong password for the spare throwaway account, and the same attempt for an unknown email.

    Sent once per run (the envelope suite judges the unknown email's too), recorded into each test's report.
    """
    return shared("wrong-password-login"), shared("unknown-email-login")


@pytest.mark.requirement("AUTH-5")
@pytest.mark.clause("AUTH-5/status", "AUTH-5/code", "AUTH-5/message")
def test_wrong_password_and_unknown_email_are_indistinguishable(login_failures):
    auth.login_failures_indistinguishable(*login_failures)


# -- AUTH-6 ------------------------------------------------------------------------------


@pytest.mark.requirement("AUTH-6")
@pytest.mark.clause("AUTH-6/unverified-login")
def test_unverified_account_cannot_log_in(profile, shared):
    """The run's unverified account (registered, never verified) logs in with its right password: once per run."""
    auth.unverified_login_refused(shared("unverified-login"), status=profile.codes["EMAIL_NOT_VERIFIED"])


@pytest.mark.requirement("AUTH-6")
@pytest.mark.clause("AUTH-6/wrong-otp")
def test_wrong_otp_is_refused(profile, shared):
    """A well-formed code that is surely not the one sent to the run's unverified account: once per run."""
    auth.wrong_otp_refused(shared("wrong-otp"), status=profile.codes["INVALID_OTP"])


@pytest.mark.requirement("AUTH-6")
@pytest.mark.clause("AUTH-6/no-pending-verification")
def test_otp_without_pending_verification_is_refused(api, profile, accounts):
    length = profile.accounts.otp_length
    exchange = api.call("verify_otp", json={"email": unknown_email(accounts), "otp_code": "1" * length})
    auth.wrong_otp_refused(exchange, status=profile.codes["INVALID_OTP"])


# -- AUTH-7 ------------------------------------------------------------------------------


def retry_after_seconds(exchange: Exchange, default: float = 1.0) -> float:
    try:
        return max(float(exchange.response.headers.get("retry-after") or default), 0.1)
    except ValueError:
        return default


@pytest.mark.requirement("AUTH-7")
@pytest.mark.clause("AUTH-7/published-list", "AUTH-7/named-placeholders")
def test_token_signed_with_a_weak_secret_is_refused(api, profile, user, forge):
    """One token per weak secret, claims of a real user: the SUT must accept none of them.

    Needs no signing secret, so it runs against any target. The positive
    control is the genuine token of the same user, which must be accepted.
    Bounded in count and time; a 429 is waited out within the time bound.
    """
    operation = profile.guard_operation("user")
    auth.genuine_token_admitted(call_guarded(api, operation, user.access_token))
    session = Session(user.access_token, user.refresh_token)
    entries = weak_secrets.load()[:WEAK_SECRETS_MAX]
    deadline = time.monotonic() + WEAK_SECRETS_BUDGET_SECONDS
    answers: list[tuple[str, Exchange]] = []
    for entry in entries:
        exchange = call_guarded(api, operation, forge.signed_with(entry.secret, session))
        while exchange.response.status == 429 and time.monotonic() + retry_after_seconds(exchange) < deadline:
            waiting.sleep(retry_after_seconds(exchange), what="a 429 while trying weak secrets (Retry-After)")
            exchange = call_guarded(api, operation, forge.signed_with(entry.secret, session))
        if exchange.response.status == 429 or time.monotonic() > deadline:
            auth.weak_secrets_refused(answers)  # what was accepted so far still fails
            raise Inconclusive(
                f"only {len(answers)} of {len(entries)} weak secrets were tried within "
                f"{WEAK_SECRETS_BUDGET_SECONDS:.0f} s ({describe(exchange)} on the last)"
            )
        answers.append((entry.label, exchange))
    auth.weak_secrets_refused(answers)
