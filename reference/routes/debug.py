"""error_trigger: an admin-only route that fails on purpose, to exercise the unhandled-error path.

Not mounted in production.
"""

from fastapi import APIRouter, Depends

from reference.guards import require_role

router = APIRouter(prefix="/api/debug")


class DeliberateError(RuntimeError):
    """Raised by the error trigger; its text must never reach a client."""


@router.get("/sentry-test", dependencies=[Depends(require_role("admin"))])
async def sentry_test() -> None:
    raise DeliberateError("deliberate failure from /api/debug/sentry-test (SELECT * FROM users)")
