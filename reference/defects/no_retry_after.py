"""RATE-1, LOCK-1: 429 responses (rate limit and lockout) come without Retry-After."""

from reference.envelope import EnvelopeRenderer


class NoRetryAfterRenderer(EnvelopeRenderer):
    def headers(self, error):
        return {name: value for name, value in super().headers(error).items() if name.lower() != "retry-after"}


def apply(components) -> None:
    components.renderer = NoRetryAfterRenderer()
