"""RATE-1, LOCK-1: every 429 is a rate-limit library's own answer (slowapi's handler).

`{"error": "Rate limit exceeded"}`: no envelope, no code, no Retry-After. The
lockout was wired to the same handler, so a locked account gets the same body;
it still locks (every attempt refused, the right password included).
"""

from starlette.responses import JSONResponse

from reference.envelope import EnvelopeRenderer


class RateLimitLibraryRenderer(EnvelopeRenderer):
    def response(self, error):
        if error.status == 429:
            return JSONResponse({"error": "Rate limit exceeded"}, status_code=429)
        return super().response(error)


def apply(components) -> None:
    components.renderer = RateLimitLibraryRenderer()
