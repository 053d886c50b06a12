"""The defect catalogue: switchable anti-patterns, each violating exactly the requirements listed.

`REFERENCE_DEFECTS=a,b` builds the application from `Components()` with each
named defect's `apply(components)` run on it. Every defect lives in its own
module here and replaces one or two components with a sibling implementation;
the clean code has no `if defect:` branches. A defect of the start-up
configuration instead defines `production_checks(checks) -> checks`: those run
before the (slow) application imports, so a refused start is quick.

`DEFECTS` is data, imported by the harness's kill matrix.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reference.config import PRODUCTION_CHECKS, ProductionCheck

if TYPE_CHECKING:
    from reference.components import Components


@dataclass(frozen=True)
class Defect:
    """One anti-pattern.

    `requirements` are the ones it exists to break (the harness must catch it
    there). `also` are requirements it legitimately breaks as a consequence,
    observed with the full suite: e.g. API-1 includes ENV-1, RID-1 and HDR-1 by
    definition, and a guard that skips the revocation check breaks REV-1 on
    that guard class. Nothing outside `requirements + also` may fail.
    """

    name: str
    requirements: tuple[str, ...]
    description: str
    also: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        return "reference.defects." + self.name.replace("-", "_")

    @property
    def violates(self) -> tuple[str, ...]:
        return self.requirements + self.also


CODES_NAMED_BY_REQUIREMENTS = ("AUTH-3", "AUTH-6", "LOCK-1", "LOCK-2", "SIZE-1", "RATE-1")

DEFECTS: dict[str, Defect] = {
    defect.name: defect
    for defect in (
        Defect(
            "http-exception-envelope",
            ("ENV-1", "ENV-2"),
            "users and patients handlers raise bare {'detail': ...} errors; request-validation errors are not wrapped",
            also=("API-1",),
        ),
        Defect(
            "generic-codes",
            ("ENV-3",),
            "every error carries the code UNKNOWN_ERROR",
            # Those requirements' texts name the code that tells their outcomes apart (PRO_REQUIRED,
            # ACCOUNT_LOCKED, INVALID_CREDENTIALS...); revocation is judged by the refusal, codes by ENV-3.
            also=CODES_NAMED_BY_REQUIREMENTS,
        ),
        Defect("tuple-returns-otp", ("ENV-7", "AUTH-6"), "a wrong OTP is answered 200 {'success': false, ...}"),
        Defect("traceback-500", ("ENV-6",), "unhandled errors return the traceback as the error message"),
        Defect(
            "request-id-mismatch",
            ("RID-1",),
            "the body's request_id differs from the X-Request-ID header",
            also=("API-1",),
        ),
        Defect(
            "multi-decode",
            ("AUTH-1",),
            "the JWT is decoded again by the logging middleware and by the plan and role guards",
        ),
        Defect(
            "lax-guards",
            ("AUTH-2",),
            "plan and role guards accept expired and revoked tokens",
            # Revoked tokens pass on the pro and role guard classes, which REV-1/4 try too. (Not REV-3: they pass
            # there already before the restart, and REV-3 judges only what was refused right before it.)
            also=("REV-1", "REV-4"),
        ),
        Defect(
            "unverified-claims",
            ("AUTH-2",),
            "the plan guard reads `plan` without verifying the signature",
            # pro_feature answers 200 {"success": true} to the forged plan: a failure reported as success.
            also=("ENV-7",),
        ),
        Defect(
            "refresh-as-access",
            ("AUTH-2", "REV-2"),
            "the token type is not checked (refresh accepted as access and vice versa)",
            # logout with a refresh token and refresh with an access token answer 200 {"success": true}.
            also=("ENV-7",),
        ),
        Defect("user-enumeration", ("AUTH-5",), "unknown email and wrong password get different messages at login"),
        Defect(
            "memory-revocation",
            ("REV-3", "REV-4"),
            "revocations kept in a process dict",
            # The Redis outage takes nothing from a process dict: guarded routes keep serving unrevoked tokens
            # (and logout answers 200 {"success": true}) while the shared store is down.
            also=("REV-5", "ENV-7"),
        ),
        Defect("fail-open-revocation", ("REV-5",), "when Redis errors, tokens are treated as not revoked"),
        Defect("racy-lockout", ("LOCK-2",), "the failure counter is read, then written back after an await"),
        Defect("memory-lockout", ("LOCK-4",), "lockout counters kept in process memory"),
        Defect(
            "unmasked-logs", ("LOG-1",), "logs keep full emails and phones, and a 401 logs the Authorization header"
        ),
        Defect("plain-logs", ("LOG-2",), "text log lines built with f-strings instead of JSON"),
        Defect(
            "headers-success-only",
            ("HDR-1",),
            "security headers only on responses below 400 (missing on 404, 405, 500...)",
            also=("API-1",),
        ),
        Defect(
            "cors-wildcard", ("HDR-3",), "Access-Control-Allow-Origin: * together with credentials, for every origin"
        ),
        Defect(
            "content-length-only-limit", ("SIZE-1",), "the size limit trusts Content-Length, so chunked bodies pass"
        ),
        Defect("no-retry-after", ("RATE-1", "LOCK-1"), "429 responses lack Retry-After"),
        Defect("shared-cache", ("DATA-1",), "the patient list cache key ignores the user"),
        Defect("stale-cache", ("DATA-2",), "writes do not invalidate the patient list cache"),
        Defect("count-patient-id", ("DATA-3",), "patient_id from count()+1, racing under concurrent creates"),
        Defect("wildcard-search", ("DATA-4",), "search terms go into LIKE unescaped"),
        Defect("weak-secret-accepted", ("CONF-1",), "production starts with a placeholder or short SECRET_KEY"),
        Defect(
            "guard-crash",
            ("AUTH-2", "ENV-2"),
            "plan and role guards crash on a refused token (None.get) and no error layer catches it: the server's "
            "plain-text 500, then the connection is closed without Connection: close",
            # The server's own 500 (error_trigger's too) has no envelope, X-Request-ID, security headers or
            # X-Debug-JWT-Decodes; a revoked token on the pro and role classes gets it instead of a 401 (REV-3
            # judges only what was refused right before the restart, so not there).
            also=("ENV-1", "RID-1", "HDR-1", "AUTH-1", "REV-1", "REV-4", "REV-5"),
        ),
        Defect(
            "bare-429",
            ("RATE-1", "LOCK-1"),
            "rate limit and lockout answer a rate-limit library's 429 {'error': 'Rate limit exceeded'}: "
            "no envelope, no code, no Retry-After",
            # The rate limit's answer is a framework-level error (ENV-2's list), and API-1 is ENV-1 on every
            # fuzzed answer: the fuzzer meets those 429s too.
            also=("ENV-1", "ENV-2", "API-1"),
        ),
        Defect(
            "generic-lock-code",
            ("LOCK-1", "ENV-3"),
            "the lockout locks (429 with Retry-After, the right password refused too) but says UNKNOWN_ERROR",
        ),
        # Its 200 {"success": true} to a forged token is a failure reported as success wherever it is seen (ENV-7).
        Defect(
            "logout-any-token",
            ("AUTH-2", "ENV-7"),
            "logout answers 200 to any bearer token, garbage included, and revokes only what verifies",
        ),
        Defect(
            "revocation-reads-only",
            ("REV-1",),
            "revoked tokens are refused on reads (GET) but accepted on writes",
            # logout is a write: the guard matrix's logout column accepts the revoked variant (AUTH-2); logout and
            # delete answer it 200 {"success": true} (ENV-7).
            also=("AUTH-2", "ENV-7"),
        ),
        Defect(
            "query-string-logging",
            ("LOG-1",),
            "the access log writes the raw query string: percent-encoded emails and phones pass the masking",
        ),
        Defect(
            "short-revocation-ttl", ("REV-1",), "revocations expire after 5 s instead of the token's remaining lifetime"
        ),
        Defect(
            "current-user-cache",
            ("DATA-1",),
            "the list cache key uses a per-process 'current user' read after an await: concurrent users swap lists",
        ),
        Defect(
            "out-of-range-crash",
            ("API-1",),
            "list_patients' documented skip maximum is not enforced: skip >= 2**63 overflows SQLite, a 500",
        ),
        Defect(
            "alg-none-case",
            ("AUTH-2",),
            "alg 'none' is refused only in lower case: None, NONE, nOnE tokens are accepted unverified",
            # the forged tokens log out and open pro_feature with 200 {"success": true} (ENV-7)
            also=("ENV-7",),
        ),
        Defect(
            "embedded-jwk", ("AUTH-2",), "the verifier trusts a key embedded in the token header (jwk)", also=("ENV-7",)
        ),
        Defect(
            "weak-dev-secret",
            ("AUTH-7",),
            "in development, tokens signed with placeholder secrets (your-secret-key, changeme, secret) are accepted",
        ),
        Defect(
            "fail-open-on-pro-route",
            ("REV-5",),
            "while the revocation store is down, the plan guard serves its routes on the verified signature alone",
        ),
        Defect(
            "fail-open-after-a-while",
            ("REV-5",),
            "a circuit breaker: the revocation check fails closed for the first 4 s of a store outage, then "
            "counts every token as not revoked",
        ),
        Defect(
            "fail-open-logout",
            ("REV-5",),
            "while the revocation store is down, logout takes the verified signature, swallows the store's error "
            "and answers 200 {'success': true}",
            # a logout that must fail (503) reported as a success
            also=("ENV-7",),
        ),
        Defect(
            "local-revocation-fallback",
            ("REV-5",),
            "when Redis errors, the revocations this process has seen are refused and every other token is taken "
            "unchecked",
        ),
        Defect(
            "update-any-patient",
            ("DATA-1",),
            "update and delete find the patient by id alone (reads stay scoped): another user's patient is changed",
        ),
        Defect(
            "admin-passes-every-role",
            ("AUTH-3",),
            "a role hierarchy: an admin passes every role guard (create, update, delete a patient as a doctor would)",
        ),
        Defect(
            "lockout-registered-only",
            ("LOCK-1",),
            "failed logins count only for registered accounts: an email without an account is never locked",
            # LOCK-2's concurrent burst goes to an email without an account: all of it answered as failures.
            also=("LOCK-2",),
        ),
        Defect(
            "cors-prefix-match",
            ("HDR-3",),
            "the origin is compared by prefix: http://localhost:3000.evil.test and :30001 get the credentialed grant",
        ),
        Defect(
            "expiry-leeway",
            ("AUTH-2",),
            "expiry is checked with a 120 s leeway: a token just past its exp is accepted",
            # the logout it accepts answers 200 {'success': true}: a request that must fail reported as a success
            also=("ENV-7",),
        ),
        Defect(
            "long-request-id-echoed",
            ("RID-2",),
            "incoming request ids up to 1000 characters are kept and echoed (the limit is 128; 1024 is still replaced)",
        ),
    )
}


#: Combinations that can be switched on together, every member still observable (no two replace the
#: same component, and none hides another's behaviour): `REFERENCE_DEFECTS=<members, comma-separated>`.
#: Observable is not separable: members may fail the same requirement (in legacy-service, AUTH-2 by
#: guard-crash and logout-any-token, REV-1 by guard-crash and short-revocation-ttl, ENV-1/ENV-2 by
#: guard-crash and bare-429), so a bundle run shows a legacy service, and each member's own run what catches it.
BUNDLES: dict[str, tuple[str, ...]] = {
    # A service grown from a tutorial: slowapi's 429s, no error middleware of its own, hand-rolled
    # guards and logout, uvicorn-style access lines, a revocation TTL in the wrong unit, a global
    # "current user", an unbounded paging override, the tutorial's secret still in the key ring,
    # raw LIKE search and count()+1 patient numbers.
    "legacy-service": (
        "guard-crash",
        "bare-429",
        "logout-any-token",
        "query-string-logging",
        "short-revocation-ttl",
        "current-user-cache",
        "out-of-range-crash",
        "weak-dev-secret",
        "wildcard-search",
        "count-patient-id",
    ),
}


class DefectError(ValueError):
    """An unknown defect name (a start-up error)."""


def check_names(names: tuple[str, ...] | list[str]) -> None:
    unknown = [name for name in names if name not in DEFECTS]
    if unknown:
        raise DefectError(
            f"REFERENCE_DEFECTS: unknown defect(s) {', '.join(unknown)}; known: {', '.join(sorted(DEFECTS))}"
        )


def production_checks(names: tuple[str, ...] | list[str]) -> tuple[ProductionCheck, ...]:
    """The start-up checks of production, as the named defects leave them."""
    check_names(names)
    checks = PRODUCTION_CHECKS
    for name in names:
        module = importlib.import_module(DEFECTS[name].module)
        checks = getattr(module, "production_checks", lambda kept: kept)(checks)
    return checks


def build_components(names: tuple[str, ...] | list[str]) -> Components:
    """The clean components with the named defects applied, in order."""
    from reference.components import Components

    check_names(names)
    components = Components()
    for name in names:
        module = importlib.import_module(DEFECTS[name].module)
        getattr(module, "apply", lambda _components: None)(components)
    return components
