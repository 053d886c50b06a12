"""SIZE-1 and RATE-1: oversized bodies and the per-IP login rate limit.

RATE-1 has to exhaust the login limit, which is per client IP and shared by
the whole run: sent from the run's own address it would make every later
login of the run answer 429. So the burst comes from another loopback source
address (the whole of 127.0.0.0/8 reaches a SUT listening on 127.0.0.1), and
RATE-1 is *not run* against a SUT that is not on an IPv4 loopback address.
"""

from __future__ import annotations

import re
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conformance.body import error_code
from conformance.checks import limits
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, NotApplicable, Violation
from conformance.wire import sources
from conformance.wire.client import TransportFailure
from conformance.wire.transport import exchange_of

BURST_WORKERS = 8
#: Seconds to wait for the SUT's answer to one login of the burst.
BURST_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
CHUNK = 64 * 1024

# -- SIZE-1 ------------------------------------------------------------------------------

#: (case id, operation or None for an unknown path, method override, bad token): every method
#: that carries a body, unguarded and guarded routes; guarded ones get a bad token, as the 413
#: must come before authentication.
SIZE_CASES = [
    ("unknown-path-post", None, "POST", False),
    ("unknown-path-patch", None, "PATCH", False),
    ("login", "login", None, False),
    ("guarded-put-bad-token", "update_me", None, True),
    ("guarded-delete-bad-token", "delete_patient", None, True),
]


def size_params() -> list:
    """SIZE_CASES as parameters, each marked with the clause its path and token exercise."""
    clause = {False: "SIZE-1/any-path", True: "SIZE-1/before-authentication"}  # by its bad-token flag
    return [pytest.param(case, id=case[0], marks=pytest.mark.clause(clause[case[3]])) for case in SIZE_CASES]


def oversized_body(style: str, size: int) -> bytes:
    """Exactly ``size`` bytes of a well-formed body of the operation's style (JSON or form)."""
    if style == "form":
        head, tail = b"pad=", b""
    else:
        head, tail = b'{"pad":"', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def chunks_of(body: bytes, size: int = CHUNK) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def size_request(profile, case: tuple) -> tuple[str, str, str, str | None]:
    """Method, path, body style and token of a SIZE-1 case."""
    case_id, operation_name, method, bad_token = case
    token = "not-a-jwt" if bad_token else None
    if operation_name is None:
        return method, f"/hlc-no-such-route-{uuid.uuid4().hex[:8]}", "json", token
    operation = profile.operation(operation_name)
    path = re.sub(r"\{[^}]*\}", "hlc-no-such-resource", operation.path)
    return method or operation.method, path, operation.body, token


def answered(send) -> Exchange:
    """The exchange, or a SIZE-1 violation when the SUT dropped the connection instead of answering."""
    __tracebackhide__ = True
    try:
        return send()
    except TransportFailure as failure:
        raise Violation(
            "SIZE-1",
            expected="413 with code PAYLOAD_TOO_LARGE",
            actual=f"no response: {type(failure.cause).__name__}: {failure.cause}",
            hint="read or discard the rest of the body before answering, so that the client sees the 413 "
            "instead of a connection reset",
        ) from None


@pytest.mark.requirement("SIZE-1")
@pytest.mark.clause("SIZE-1/content-length")
@pytest.mark.parametrize("case", size_params())
def test_body_over_limit_with_content_length_gets_413(api, profile, case):
    method, path, style, token = size_request(profile, case)
    body = oversized_body(style, profile.limits.max_body_bytes + 1)
    headers = {"Content-Type": "application/x-www-form-urlencoded" if style == "form" else "application/json"}
    exchange = answered(lambda: api.request(method, path, content=body, headers=headers, token=token))
    limits.payload_too_large(exchange, status=profile.codes["PAYLOAD_TOO_LARGE"])


@pytest.mark.requirement("SIZE-1")
@pytest.mark.clause("SIZE-1/chunked")
@pytest.mark.parametrize("case", size_params())
def test_chunked_body_over_limit_gets_413(api, profile, case):
    method, path, style, token = size_request(profile, case)
    body = oversized_body(style, profile.limits.max_body_bytes + 1)
    headers = {"Content-Type": "application/x-www-form-urlencoded" if style == "form" else "application/json"}
    exchange = answered(lambda: api.stream(method, path, chunks_of(body), headers=headers, token=token))
    if "content-length" in exchange.request.headers:
        raise Inconclusive("the client sent a Content-Length, so this was not a chunked body")
    limits.payload_too_large(exchange, status=profile.codes["PAYLOAD_TOO_LARGE"])


# -- RATE-1 ------------------------------------------------------------------------------


def burst_client(profile, base_url: str) -> httpx.Client:
    """A client sending from the profile's rate-limit burst address; ``NotRun`` when the SUT is not on loopback."""
    address = sources.require_source(
        base_url, profile.sources.rate_limit_burst, purpose="the RATE-1 login burst", own=True
    )  # single-source: from the run's address, after every other login
    return sources.client_from(base_url, address, timeout=BURST_TIMEOUT)


def declared_login_limit(profile):
    """The login limit RATE-1 exceeds; a profile that declares none has nothing to judge here."""
    if profile.rate_limits.login is None:
        raise NotApplicable('the profile declares no login rate limit ([rate_limits] login = "none")')
    return profile.rate_limits.login


class Burst:
    """What a login burst met: the answers in order, its duration, and a dropped connection if any."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.seconds = 0.0
        self.dropped: str | None = None

    @property
    def first_limited(self) -> Exchange | None:
        return next((e for e in self.exchanges if e.response.status == 429), None)


@pytest.fixture(scope="module")
def login_burst(profile, target, accounts) -> Burst:
    """Failed logins of unknown emails from the profile's burst address until the first 429 (bounded).

    ``count + 1`` logins within one window must meet the limit; a burst may
    straddle two fixed windows, so up to ``2 * count + 2`` are sent, which
    settles it as long as the burst lasts less than one window. Every email
    is new, so no per-account lockout can answer instead.
    """
    rate = declared_login_limit(profile)
    count, window = rate.count, rate.seconds
    budget = 2 * count + 2
    password = accounts.password()
    burst = Burst()
    started = time.monotonic()
    login = profile.login
    with burst_client(profile, target.base_url) as client, ThreadPoolExecutor(BURST_WORKERS) as pool:

        def attempt(_: int) -> Exchange:
            email = f"hlc-{accounts.run_id}-burst-{uuid.uuid4().hex[:10]}@{accounts.email_domain}"
            sent = client.request(login.operation.method, login.operation.path, **login.body(email, password))
            return exchange_of(sent)

        while len(burst.exchanges) < budget and burst.first_limited is None:
            if time.monotonic() - started > window + 30:
                break
            try:
                burst.exchanges += pool.map(attempt, range(min(BURST_WORKERS, budget - len(burst.exchanges))))
            except httpx.TransportError as exc:
                burst.dropped = f"{type(exc).__name__}: {exc}"
                break
    burst.seconds = time.monotonic() - started
    return burst


@pytest.mark.requirement("RATE-1")
@pytest.mark.exhausts_limit("login")
@pytest.mark.clause("RATE-1/status-and-code", "RATE-1/retry-after")
def test_login_rate_limit_answers_429_with_retry_after(api, profile, accounts, login_burst):
    rate = declared_login_limit(profile)
    count, window = rate.count, rate.seconds
    burst = login_burst
    if burst.dropped:
        raise Violation(
            "RATE-1", expected="an answer to every login of the burst", actual=f"no response: {burst.dropped}"
        )
    limited = burst.first_limited
    if limited is None:
        if burst.seconds > window:
            raise Inconclusive(
                f"{len(burst.exchanges)} logins took {burst.seconds:.0f} s, longer than the {window:.0f} s window"
            )
        statuses = Counter(e.response.status for e in burst.exchanges)
        raise Violation(
            "RATE-1",
            expected=f"429 within {len(burst.exchanges)} logins from one address in {burst.seconds:.0f} s "
            f"(limit {count} per {window:.0f} s)",
            actual="no 429: " + ", ".join(f"{n}× {status}" for status, n in sorted(statuses.items())),
            exchange=burst.exchanges[-1],
            hint="count login attempts per client IP in a shared store (e.g. a Redis key with the window as TTL)",
        )
    api.record(limited)
    limits.rate_limited(limited, "RATE-1", status=profile.codes["RATE_LIMIT_EXCEEDED"])
    if not sources.single_source(api.base_url):  # from one address the burst spends the run's own budget by design
        warn_if_own_address_is_limited(api, accounts)


def warn_if_own_address_is_limited(api, accounts) -> None:
    """The burst's premise: the run's own address is not limited by it (else later logins fail: say why)."""
    email = f"hlc-{accounts.run_id}-control-{uuid.uuid4().hex[:10]}@{accounts.email_domain}"
    if error_code(api.login(email, accounts.password())) == "RATE_LIMIT_EXCEEDED":
        warnings.warn(
            "the RATE-1 burst from its own address also rate-limited the run's own address: the SUT does not "
            "count per client address, so later logins of this run may be refused",
            stacklevel=2,
        )
