"""LOCK-1, ENV-3: the lockout locks (every attempt refused with 429 and Retry-After) but says UNKNOWN_ERROR."""

from reference.envelope import EnvelopeRenderer
from reference.errors import AccountLocked


class GenericLockCodeRenderer(EnvelopeRenderer):
    def body(self, error):
        body = super().body(error)
        if isinstance(error, AccountLocked):
            body["error"]["code"] = "UNKNOWN_ERROR"
        return body


def apply(components) -> None:
    components.renderer = GenericLockCodeRenderer()
