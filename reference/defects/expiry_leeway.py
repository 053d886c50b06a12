"""AUTH-2: expiry is checked with a 120 s leeway, so a token stays valid for two minutes after its `exp`.

A leeway for clock skew is a common setting of JWT libraries; the contract gives
none. A token that expired an hour ago is still refused, so the classic expired
variant passes; only a token just past its `exp` shows the defect.
"""

import time

from reference.errors import TokenExpired
from reference.tokens import TokenService

LEEWAY_SECONDS = 120


class LenientExpiry(TokenService):
    def raise_if_expired(self, claims):
        if claims["exp"] + LEEWAY_SECONDS <= time.time():
            raise TokenExpired()


def apply(components) -> None:
    components.tokens = LenientExpiry
