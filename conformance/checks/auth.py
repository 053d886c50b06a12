"""Authentication checks (AUTH-1..7): how a SUT answers tokens and credentials.

Every function is pure: it judges recorded exchanges and returns ``None``,
raises :class:`~conformance.outcomes.Violation`, or raises
:class:`~conformance.outcomes.NotApplicable` when the exchange says nothing
about the property (e.g. a challenge check on a 200).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from conformance.body import describe, error_code, error_message, is_success
from conformance.checks import envelope
from conformance.exchange import Exchange
from conformance.outcomes import RELEVANT_HEADERS, Inconclusive, NotApplicable, Violation

#: A ``Bearer`` challenge among possibly several comma-separated ones (RFC 9110 §11.6.1).
BEARER_CHALLENGE = re.compile(r"(?:^|,)\s*bearer(?:\s|,|$)", re.IGNORECASE)


def carries_bearer(exchange: Exchange) -> bool:
    """Whether the request sent ``Authorization: Bearer <token>`` (a non-empty token)."""
    value = exchange.request.headers.get("authorization") or ""
    scheme, _, credentials = value.strip().partition(" ")
    return scheme.lower() == "bearer" and bool(credentials.strip())


def status_and_code(exchange: Exchange, status: int, code: str, requirement: str, *, hint: str | None = None) -> None:
    """The answer has exactly ``status`` and error ``code``."""
    __tracebackhide__ = True
    if exchange.response.status != status or error_code(exchange) != code:
        raise Violation(
            requirement,
            expected=f"{status} with code {code}",
            actual=describe(exchange),
            exchange=exchange,
            hint=hint,
        )


def bearer_decoded_once(exchange: Exchange, header_name: str) -> None:
    """AUTH-1: the bearer token was decoded exactly once (zero times without one).

    A 413 is not judged: §6 puts the size limit before authentication, so an
    oversized request is refused before its token is read.
    """
    __tracebackhide__ = True
    if exchange.response.status == 413:
        raise NotApplicable("a 413 is answered before authentication (§6)")
    expected = 1 if carries_bearer(exchange) else 0
    shown = () if header_name.lower() in RELEVANT_HEADERS else (header_name,)
    raw = exchange.response.headers.get(header_name)
    if raw is None:
        raise Violation(
            "AUTH-1",
            expected=f"{header_name}: {expected}",
            actual=f"no {header_name} header",
            exchange=exchange,
            hint=f"run the SUT with its debug instrumentation on (reference: DEBUG_JWT_DECODES=1) so that "
            f"every response reports {header_name}",
            extra_headers=shown,
        )
    try:
        decodes = int(raw.strip())
    except ValueError:
        decodes = None
    if decodes != expected:
        with_or_without = "with" if expected else "without"
        raise Violation(
            "AUTH-1",
            expected=f"{header_name}: {expected} (a request {with_or_without} a bearer token)",
            actual=f"{header_name}: {raw}",
            exchange=exchange,
            hint="decode the token once in one authentication layer and let guards, logging and handlers "
            "read the decoded claims from the request context",
            extra_headers=shown,
        )


def describe_refusal(exchange: Exchange) -> str:
    """``describe`` plus the missing Bearer challenge of a 401, so that one line names every problem of the answer."""
    text = describe(exchange)
    if exchange.response.status == 401 and not has_bearer_challenge(exchange):
        text += ", without a WWW-Authenticate: Bearer challenge"
    return text


def has_bearer_challenge(exchange: Exchange) -> bool:
    return any(BEARER_CHALLENGE.search(value) for value in exchange.response.headers.get_all("www-authenticate"))


def rejections_agree(
    exchanges_by_guard_class: Mapping[str, Exchange], *, variant: str = "bad", summary: str | None = None
) -> None:
    """AUTH-2: one bad-token variant is refused by every guard class with 401 and one code.

    ``exchanges_by_guard_class`` maps a guard class (user, pro, role, and
    logout) to the answer its representative operation gave to the same bad
    token; ``summary`` names that token in the message ("the expired token").
    Behaviour comes first: a guard class that *accepted* the token is the
    headline; every other problem (a refusal that is not 401, codes that
    differ) is named after it, all in one message. An acceptance answered
    2xx ``success: true`` (logout's answer) is ENV-7's failure too.
    """
    __tracebackhide__ = True
    if not exchanges_by_guard_class:
        raise NotApplicable("no guard class was exercised")
    subject = summary or f"the {variant} token"
    envelope.judged_with_success_reports(
        lambda: _rejections_agree(exchanges_by_guard_class, subject),
        exchanges_by_guard_class.values(),
        requirement="AUTH-2",
        must_fail=f"every request with {subject}",
    )


def _rejections_agree(exchanges_by_guard_class: Mapping[str, Exchange], subject: str) -> None:
    __tracebackhide__ = True
    answers = list(exchanges_by_guard_class.items())
    accepted = [(klass, exchange) for klass, exchange in answers if is_success(exchange)]
    wrong_status = [(k, e) for k, e in answers if not is_success(e) and e.response.status != 401]
    codes = {klass: error_code(exchange) for klass, exchange in answers if exchange.response.status == 401}
    problems, culprits, hints = [], [], []
    if accepted:
        problems.append(f"{subject} was accepted: " + ", ".join(f"{e.response.status} on {k}" for k, e in accepted))
        culprits.append(accepted[0][1])
        hints.append(
            "verify the signature with the server's own key and algorithm only (never a key, key URL or "
            "algorithm the token names), then expiry, type and revocation, in one authentication layer "
            "that every guarded operation goes through"
        )
    for klass, exchange in wrong_status:
        problems.append(f"{klass}: {describe_refusal(exchange)} instead of 401")
        culprits.append(exchange)
    if wrong_status:
        hints.append("authenticate before any plan or role guard runs, and let every guard read that one verdict")
    if len(set(codes.values())) > 1:
        first_class = next(iter(codes))
        odd_class = next(k for k, c in codes.items() if c != codes[first_class])
        problems.append("the 401s differ in code: " + ", ".join(f"{k}: {c}" for k, c in codes.items()))
        culprits.append(exchanges_by_guard_class[odd_class])
        hints.append("every guard must reuse the authentication layer's verdict instead of deciding on its own")
    if problems:
        raise Violation(
            "AUTH-2",
            expected=f"{subject} refused with 401 and one code on every guard class "
            f"({', '.join(exchanges_by_guard_class)})",
            actual="; ".join(problems),
            exchange=culprits[0],
            hint="; ".join(hints),
        )


def refusal_has_code(exchange: Exchange, code: str, *, status: int = 401) -> None:
    """ENV-3: a bad token is refused with ``status`` and the ``code`` of its kind (§4).

    A token that was accepted has no refusal to judge: that is AUTH-2's
    failure, so this check is blocked by it rather than blaming a code.
    """
    __tracebackhide__ = True
    if is_success(exchange):
        raise NotApplicable(
            f"the token was accepted ({describe(exchange)}), so there is no refusal code to judge", blocked_by="AUTH-2"
        )
    if exchange.response.status != status or error_code(exchange) != code:
        raise Violation(
            "ENV-3", expected=f"{status} with code {code}", actual=describe_refusal(exchange), exchange=exchange
        )


def guard_admits(exchange: Exchange) -> None:
    """AUTH-3: an account with the right plan or role passes the guard (2xx)."""
    __tracebackhide__ = True
    if not 200 <= exchange.response.status < 300:
        raise Violation(
            "AUTH-3",
            expected="2xx for an account with the required plan or role",
            actual=describe(exchange),
            exchange=exchange,
            hint="compare the plan or role of the authenticated user with the one the route requires",
        )


def other_role_forbidden(exchange: Exchange, *, role: str, required: str, status: int, code: str) -> None:
    """AUTH-3: an account of ``role`` on a route that requires another role ``required`` gets 403 FORBIDDEN.

    Roles have no hierarchy (§1): an admin on a doctor route is refused like a
    doctor on an admin route. Any other answer (a 2xx, or the 404 or 422 of a
    handler that ran) says the guard let the account through.
    """
    __tracebackhide__ = True
    if exchange.response.status == status and error_code(exchange) == code:
        return
    through = exchange.response.status < 300 or exchange.response.status in (404, 422)
    raise Violation(
        "AUTH-3",
        expected=f"{status} with code {code}: role {role!r} on a route that requires role {required!r}",
        actual=describe(exchange) + (" (the guard let it through to the handler)" if through else ""),
        exchange=exchange,
        hint="compare the role exactly with the one the route requires: the contract has no role hierarchy, "
        "an admin is not a doctor",
    )


def unauthenticated_has_challenge(exchange: Exchange) -> None:
    """AUTH-4: a 401 carries a ``WWW-Authenticate`` header with a ``Bearer`` challenge."""
    __tracebackhide__ = True
    if exchange.response.status != 401:
        raise NotApplicable(f"status {exchange.response.status} is not 401")
    challenges = exchange.response.headers.get_all("www-authenticate")
    if not has_bearer_challenge(exchange):
        raise Violation(
            "AUTH-4",
            expected="WWW-Authenticate: Bearer",
            actual="WWW-Authenticate: " + " | ".join(challenges) if challenges else "no WWW-Authenticate header",
            exchange=exchange,
            hint='add headers={"WWW-Authenticate": "Bearer"} to every 401 (RFC 6750 §3)',
        )


def login_failures_indistinguishable(wrong_password: Exchange, unknown_email: Exchange) -> None:
    """AUTH-5: wrong password and unknown email get the same status, code and message."""
    __tracebackhide__ = True
    for exchange in (wrong_password, unknown_email):
        if exchange.response.status == 429:
            raise Inconclusive(f"a login was rate limited or locked ({describe(exchange)}), so nothing was compared")
    if wrong_password.response.status < 400:
        raise Violation(
            "AUTH-5",
            expected="a wrong password is refused",
            actual=describe(wrong_password),
            exchange=wrong_password,
        )

    def observable(exchange: Exchange) -> tuple[int, Any, Any]:
        return exchange.response.status, error_code(exchange), error_message(exchange)

    if observable(wrong_password) != observable(unknown_email):
        w_status, w_code, w_message = observable(wrong_password)
        u_status, u_code, u_message = observable(unknown_email)
        raise Violation(
            "AUTH-5",
            expected=f"unknown email answered like the wrong password: {w_status} {w_code} {w_message!r}",
            actual=f"unknown email: {u_status} {u_code} {u_message!r}",
            exchange=unknown_email,
            hint="answer both with one INVALID_CREDENTIALS error, so that login does not reveal which emails exist",
        )


def unverified_login_refused(exchange: Exchange, *, status: int = 403) -> None:
    """AUTH-6: login before email verification is 403 EMAIL_NOT_VERIFIED."""
    __tracebackhide__ = True
    status_and_code(
        exchange, status, "EMAIL_NOT_VERIFIED", "AUTH-6", hint="check the account's verification before issuing tokens"
    )


def wrong_otp_refused(exchange: Exchange, *, status: int = 400) -> None:
    """AUTH-6: a wrong one-time code is 400 INVALID_OTP (never a 2xx with ``success: false``)."""
    __tracebackhide__ = True
    status_and_code(
        exchange, status, "INVALID_OTP", "AUTH-6", hint="raise the INVALID_OTP error instead of returning a result"
    )


def genuine_token_admitted(exchange: Exchange) -> None:
    """AUTH-7's positive control: the genuine token of the user the forged ones copy is accepted (2xx)."""
    __tracebackhide__ = True
    if not is_success(exchange):
        raise Inconclusive(
            f"the genuine token of the user whose claims the forged tokens copy was refused "
            f"({describe(exchange)}, {exchange.label}), so a refused forged token proves nothing"
        )


def weak_secrets_refused(answers: Sequence[tuple[str, Exchange]]) -> None:
    """AUTH-7: every token signed with a weak secret is refused (not 2xx), like any other bad signature.

    ``answers`` pairs each dictionary entry's label (never the secret: the
    report must not hand out a key the SUT accepts) with the user guard's
    answer to the token signed with it. Which code a refusal carries is
    AUTH-2's and ENV-3's business; here only acceptance counts.
    """
    __tracebackhide__ = True
    if not answers:
        raise NotApplicable("no weak-secret token was sent")
    accepted = [(label, exchange) for label, exchange in answers if is_success(exchange)]
    if accepted:
        listed = "; ".join(f"{label}: {exchange.response.status}" for label, exchange in accepted)
        raise Violation(
            "AUTH-7",
            expected="every token signed with a common, default or placeholder secret refused like a bad signature",
            actual=f"{len(accepted)} of {len(answers)} accepted on the user guard class: {listed}",
            exchange=accepted[0][1],
            hint="sign with a random key of at least 32 bytes from the environment (e.g. secrets.token_urlsafe(32)), "
            "in every environment, and keep no default or fallback key beside it; the entries are listed "
            "in conformance/actors/data/weak_secrets.txt",
        )
