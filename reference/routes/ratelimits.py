"""The per-client-IP rate limit as a route dependency."""

from collections.abc import Callable

from fastapi import Request

from reference.errors import RateLimitExceeded


def rate_limited(name: str) -> Callable:
    async def rate_limit(request: Request) -> None:
        services = request.app.state.services
        count, seconds = services.rates[name]
        client = request.client.host if request.client else "-"
        retry_after = await services.rate_limiter.retry_after(name, client, count=count, seconds=seconds)
        if retry_after:
            raise RateLimitExceeded(retry_after)

    return rate_limit
