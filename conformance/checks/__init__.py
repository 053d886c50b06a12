"""Pure check functions, one module per contract area, in catalogue order.

Every check takes recorded data (exchanges, log lines) and plain values, and
has three outcomes: it returns ``None`` (the property holds), raises
:class:`~conformance.outcomes.Violation` (it does not) or raises
:class:`~conformance.outcomes.NotApplicable` (it has nothing to say).

:func:`every_response` bundles the properties that hold for any response at
all; the fuzzer (API-1) and the load profiles (PERF-1) run it on each one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from conformance.checks import auth, envelope, headers, request_id
from conformance.checks.auth import carries_bearer
from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable, Violation

if TYPE_CHECKING:
    from conformance.profile import Profile

__all__ = ["carries_bearer", "every_response"]


def every_response(exchange: Exchange, profile: Profile) -> list[Violation]:
    """The violations of ENV-1, ENV-7, RID-1, HDR-1 and (bearer requests) AUTH-1 by one exchange.

    HSTS is judged as the profile says for the URL the request went to (a MUST on https and production).
    """
    checks: list[Callable[[], None]] = [
        lambda: envelope.error_body_is_envelope(exchange),
        lambda: envelope.failure_not_reported_as_success(exchange),
        lambda: request_id.request_id_matches_header(exchange, header_name=profile.headers.request_id),
        lambda: headers.security_headers_present(
            exchange, hsts_required=profile.hsts_required(exchange.request.url), api_prefix=profile.api_prefix
        ),
    ]
    if carries_bearer(exchange):
        checks.append(lambda: auth.bearer_decoded_once(exchange, profile.headers.debug_decodes))
    violations = []
    for check in checks:
        try:
            check()
        except Violation as violation:
            violations.append(violation)
        except NotApplicable:
            pass
    return violations
