"""LOG-1: no masking processor (full emails and phones in the logs), and 401s log the Authorization header."""

from reference.middleware.access_log import AccessLogMiddleware


class AuthorizationLoggingAccessLog(AccessLogMiddleware):
    def extra_fields(self, scope, status):
        if status != 401:
            return {}
        headers = dict(scope.get("headers", ()))
        return {"authorization": headers.get(b"authorization", b"").decode("latin-1")}


def apply(components) -> None:
    components.log_format.scrubbers = []
    components.access_log = AuthorizationLoggingAccessLog
