"""Security headers and CORS (HDR-1, HDR-2, HDR-3; contract §6).

HSTS is a MUST only for production targets and https base URLs; elsewhere it
is a SHOULD clause of HDR-1. So :func:`security_headers_present` checks it
only when told ``hsts_required``, and :func:`hsts_present` is the same
property on its own: the suite runs it as a SHOULD clause
(:func:`conformance.outcomes.should_clause`), which gives HDR-1 the verdict
``warn`` — a failure under ``--conformance-strict`` — and leaves the MUSTs'
verdict alone. Filing it under HDR-2 would be wrong: HDR-2 is about headers
that must be absent.

:func:`observatory_score` is information only, never a verdict.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from conformance.checks.envelope import answer_envelope_problems
from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable, Violation

HSTS_MIN_MAX_AGE = 31_536_000
REFERRER_POLICIES = frozenset({"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"})
#: Headers that fingerprint the stack or are deprecated (HDR-2); ``Server`` is judged by its value.
FORBIDDEN_HEADERS = (
    "x-powered-by",
    "x-xss-protection",
    "expect-ct",
    "feature-policy",
    "public-key-pins",
    "public-key-pins-report-only",
    "x-aspnet-version",
    "x-aspnetmvc-version",
)
SERVER_VERSION = re.compile(r"/\s*v?\d|\bv?\d+\.\d+")
SECURITY_HEADERS = (
    "x-content-type-options",
    "x-frame-options",
    "content-security-policy",
    "referrer-policy",
    "strict-transport-security",
    "cache-control",
)


def security_headers_present(exchange: Exchange, *, hsts_required: bool, api_prefix: str) -> None:
    """HDR-1: every §6 header on this response, whatever its status (``Cache-Control`` under ``api_prefix``)."""
    __tracebackhide__ = True
    problems = header_problems(exchange, hsts_required=hsts_required, api_prefix=api_prefix)
    if problems:
        raise Violation(
            "HDR-1",
            expected="the security headers of §6 on every response, errors and preflights included",
            actual="; ".join(problems),
            exchange=exchange,
            hint="add the headers in an outermost pure-ASGI middleware so error responses get them too",
            extra_headers=SECURITY_HEADERS,
        )


def header_problems(exchange: Exchange, *, hsts_required: bool, api_prefix: str) -> list[str]:
    """What is wrong with the §6 headers of ``exchange``, one phrase per problem."""
    headers = exchange.response.headers
    problems: list[str] = []
    if (headers.get("x-content-type-options") or "").strip().lower() != "nosniff":
        problems.append(f"X-Content-Type-Options is {_shown(headers.get('x-content-type-options'))}, not nosniff")
    csp = csp_directives(exchange)
    if not csp:
        problems.append("Content-Security-Policy is missing")
    else:
        problems += [
            f"Content-Security-Policy lacks {name}" for name in ("default-src", "frame-ancestors") if name not in csp
        ]
    frame_options = (headers.get("x-frame-options") or "").strip().upper()
    if frame_options != "DENY" and csp.get("frame-ancestors") != ["'none'"]:
        problems.append(
            f"framing is not denied (X-Frame-Options {_shown(headers.get('x-frame-options'))}, "
            f"no CSP frame-ancestors 'none')"
        )
    referrer = referrer_policy(exchange)
    if referrer not in REFERRER_POLICIES:
        problems.append(f"Referrer-Policy is {_shown(referrer)}, not one of {', '.join(sorted(REFERRER_POLICIES))}")
    if hsts_required:
        problems += hsts_problems(exchange)
    if is_api_path(exchange, api_prefix) and "no-store" not in cache_directives(exchange):
        problems.append(
            f"Cache-Control is {_shown(headers.get('cache-control'))}, not no-store (path under {api_prefix})"
        )
    return problems


def hsts_present(exchange: Exchange) -> None:
    """``Strict-Transport-Security`` with ``max-age>=31536000; includeSubDomains`` (§6)."""
    __tracebackhide__ = True
    problems = hsts_problems(exchange)
    if problems:
        raise Violation(
            "HDR-1",
            expected=f"Strict-Transport-Security: max-age>={HSTS_MIN_MAX_AGE}; includeSubDomains",
            actual="; ".join(problems),
            exchange=exchange,
            extra_headers=("strict-transport-security",),
        )


def hsts_problems(exchange: Exchange) -> list[str]:
    value = exchange.response.headers.get("strict-transport-security")
    if value is None:
        return ["Strict-Transport-Security is missing"]
    directives = {}
    for part in value.split(";"):
        name, _, arg = part.strip().partition("=")
        directives[name.strip().lower()] = arg.strip().strip('"')
    problems = []
    max_age = directives.get("max-age", "")
    if not max_age.isdigit() or int(max_age) < HSTS_MIN_MAX_AGE:
        problems.append(f"HSTS max-age is {_shown(max_age or None)}, below {HSTS_MIN_MAX_AGE}")
    if "includesubdomains" not in directives:
        problems.append("HSTS lacks includeSubDomains")
    return problems


def cache_control_no_store(exchange: Exchange, *, prefix: str) -> None:
    """HDR-1: ``Cache-Control: no-store`` on every response under ``prefix``."""
    __tracebackhide__ = True
    if not is_api_path(exchange, prefix):
        raise NotApplicable(f"{path_of(exchange)} is not under {prefix}")
    if "no-store" not in cache_directives(exchange):
        raise Violation(
            "HDR-1",
            expected=f"Cache-Control: no-store on every response under {prefix}",
            actual=f"Cache-Control: {_shown(exchange.response.headers.get('cache-control'))}",
            exchange=exchange,
            extra_headers=("cache-control",),
        )


def no_fingerprinting_headers(exchange: Exchange) -> None:
    """HDR-2: no header that names the stack or that browsers deprecated."""
    __tracebackhide__ = True
    headers = exchange.response.headers
    found = [f"{name}: {headers.get(name)}" for name in FORBIDDEN_HEADERS if name in headers]
    found += [f"server: {value}" for value in headers.get_all("server") if SERVER_VERSION.search(value)]
    if found:
        raise Violation(
            "HDR-2",
            expected=f"none of {', '.join(FORBIDDEN_HEADERS)}, and no version in Server",
            actual="; ".join(found),
            exchange=exchange,
            hint="drop these headers; uvicorn's Server header can be disabled with --no-server-header",
        )


def cors_allows_only(exchange: Exchange, *, origin: str, allowed: bool) -> None:
    """HDR-3: ``origin`` is echoed with credentials when allowed, gets no CORS grant otherwise.

    A preflight refused with a status >= 400 is an error like any other, so its
    body must be the envelope (§4); a preflight of an allowed origin must succeed.
    """
    __tracebackhide__ = True
    headers = exchange.response.headers
    allow_origin = headers.get_all("access-control-allow-origin")
    credentials = (headers.get("access-control-allow-credentials") or "").strip().lower()
    problems: list[str] = []
    if allowed:
        if allow_origin != [origin]:
            problems.append(
                f"Access-Control-Allow-Origin is {_shown(', '.join(allow_origin) or None)}, "
                f"not the echoed origin {origin}"
            )
        if credentials != "true":
            problems.append(f"Access-Control-Allow-Credentials is {_shown(credentials or None)}, not true")
        if is_preflight(exchange) and exchange.response.status >= 400:
            problems.append(f"the preflight of an allowed origin was refused with {exchange.response.status}")
    else:
        if allow_origin:
            problems.append(f"a disallowed origin got Access-Control-Allow-Origin: {', '.join(allow_origin)}")
        if is_preflight(exchange) and exchange.response.status >= 400:
            problems += _envelope_problems(exchange)
    if problems:
        verb = "allowed, echoed (never *), with credentials" if allowed else "refused: no Access-Control-Allow-Origin"
        raise Violation(
            "HDR-3",
            expected=f"origin {origin} {verb}",
            actual="; ".join(problems),
            exchange=exchange,
            hint="list the allowed origins explicitly; never combine * with credentials",
            extra_headers=("vary", "access-control-allow-methods", "access-control-allow-headers"),
        )


#: The kinds of look-alike origin :func:`look_alike_origins` derives, in order (stable names for the probes' ids).
LOOK_ALIKE_KINDS = (
    "string-extended",
    "host-extended",
    "host-prefixed",
    "subdomain",
    "other-scheme",
    "other-port",
    "port-extended",
    "null",
)


def look_alike_origins(origin: str) -> dict[str, str]:
    """Origins that a sloppy comparison merges with the allowed ``origin`` (HDR-3 equivalence classes).

    Each defeats one shortcut: ``startswith`` (string-extended, port-extended),
    a host match on a prefix or suffix (host-extended, host-prefixed,
    subdomain), ignoring the scheme or the port (other-scheme, other-port), and
    the opaque ``null`` origin that some allow lists take for "no origin". None
    of them is the allowed origin, so none may get a CORS grant.
    """
    parts = urlsplit(origin)
    scheme, host = parts.scheme or "http", parts.hostname or origin
    default_port = 443 if scheme == "https" else 80
    port = parts.port or default_port
    shown = "" if port == default_port else f":{port}"
    other_scheme = "http" if scheme == "https" else "https"
    other_port = port + 1 if port < 65535 else port - 1
    derived = {
        "string-extended": f"{origin}.evil.test",
        "host-extended": f"{scheme}://{host}.evil.test{shown}",
        "host-prefixed": f"{scheme}://evil{host}{shown}",
        "subdomain": f"{scheme}://evil.{host}{shown}",
        "other-scheme": f"{other_scheme}://{host}{shown}",
        "other-port": f"{scheme}://{host}:{other_port}",
        "port-extended": f"{scheme}://{host}:{port}1" if port * 10 + 1 <= 65535 else None,
        "null": "null",
    }
    return {kind: value for kind in LOOK_ALIKE_KINDS if (value := derived[kind]) is not None and value != origin}


def observatory_score(exchange: Exchange) -> int:
    """A Mozilla Observatory-style score (0-135ish) of this response's headers, for information.

    Modifiers follow the Observatory's for the header tests a single response can
    show; bonuses count only from a score of 90 up, as there.
    """
    headers = exchange.response.headers
    csp = csp_directives(exchange)
    score, bonus = 100, 0
    if not csp:
        score -= 25
    elif any("'unsafe-inline'" in values or "'unsafe-eval'" in values for values in csp.values()):
        score -= 20
    elif csp.get("default-src") == ["'none'"]:
        bonus += 10
    if hsts_problems(exchange):
        score -= 20
    elif "preload" in (headers.get("strict-transport-security") or "").lower():
        bonus += 5
    if (headers.get("x-content-type-options") or "").strip().lower() != "nosniff":
        score -= 5
    if csp.get("frame-ancestors") == ["'none'"]:
        bonus += 5
    elif (headers.get("x-frame-options") or "").strip().upper() not in {"DENY", "SAMEORIGIN"}:
        score -= 20
    if referrer_policy(exchange) in REFERRER_POLICIES:
        bonus += 5
    if headers.get("access-control-allow-origin") == "*":
        score -= 50 if (headers.get("access-control-allow-credentials") or "").lower() == "true" else 0
    if score >= 90:
        score += bonus
    return max(score, 0)


# -- header parsing ---------------------------------------------------------------


def csp_directives(exchange: Exchange) -> dict[str, list[str]]:
    """The directives of every ``Content-Security-Policy`` header, names lower-cased."""
    directives: dict[str, list[str]] = {}
    for policy in exchange.response.headers.get_all("content-security-policy"):
        for directive in policy.split(";"):
            words = directive.split()
            if words:
                directives.setdefault(words[0].lower(), [v.lower() for v in words[1:]])
    return directives


def cache_directives(exchange: Exchange) -> set[str]:
    values = ",".join(exchange.response.headers.get_all("cache-control"))
    return {part.split("=", 1)[0].strip().lower() for part in values.split(",") if part.strip()}


def referrer_policy(exchange: Exchange) -> str | None:
    """The effective policy: browsers use the last token they understand, so the last one."""
    tokens = [t.strip().lower() for t in ",".join(exchange.response.headers.get_all("referrer-policy")).split(",")]
    tokens = [t for t in tokens if t]
    return tokens[-1] if tokens else None


def path_of(exchange: Exchange) -> str:
    return urlsplit(exchange.request.url).path or "/"


def is_api_path(exchange: Exchange, prefix: str) -> bool:
    return path_of(exchange).startswith(prefix)


def is_preflight(exchange: Exchange) -> bool:
    return exchange.request.method == "OPTIONS" and "access-control-request-method" in exchange.request.headers


def _envelope_problems(exchange: Exchange) -> list[str]:
    problems = answer_envelope_problems(exchange)
    if problems:
        return [f"the refused preflight ({exchange.response.status}) is not the error envelope: {'; '.join(problems)}"]
    return []


def _shown(value: str | None) -> str:
    return "missing" if value is None else repr(value)
