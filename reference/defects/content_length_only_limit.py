"""SIZE-1: the limit looks only at Content-Length, so a chunked body of any size goes through."""

from reference.middleware.body_limit import BodyLimitMiddleware, declared_length


class ContentLengthOnlyLimit(BodyLimitMiddleware):
    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            length = declared_length(scope)
            if length is not None and length > self.max_body_bytes:
                await self.reject(scope, receive, send)
                return
        await self.app(scope, receive, send)


def apply(components) -> None:
    components.body_limit = ContentLengthOnlyLimit
