"""LOG-1: the access log writes the raw query string.

Percent-encoded, so the masking (which recognises `alice@example.com`, not
`alice%40example.com`) lets a search for an email or a phone number through.
"""

from reference.middleware.access_log import AccessLogMiddleware


class QueryStringAccessLog(AccessLogMiddleware):
    def extra_fields(self, scope, status):
        query = scope.get("query_string", b"")
        return {"query": query.decode("latin-1")} if query else {}


def apply(components) -> None:
    components.access_log = QueryStringAccessLog
