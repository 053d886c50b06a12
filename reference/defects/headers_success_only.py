"""HDR-1: security headers only on successful responses, so 404, 405, 500 (and every other error) lack them."""

from reference.middleware.security_headers import SecurityHeadersMiddleware


class SuccessOnlySecurityHeaders(SecurityHeadersMiddleware):
    def applies_to(self, status: int) -> bool:
        return status < 400


def apply(components) -> None:
    components.security_headers = SuccessOnlySecurityHeaders
