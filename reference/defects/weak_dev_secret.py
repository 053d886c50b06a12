"""AUTH-7: in development the verifier also accepts tokens signed with placeholder secrets.

The key ring kept the framework's defaults beside SECRET_KEY (tokens from the
tutorial setup and old seed scripts keep working locally); tokens are still
issued with the configured secret, and production has only SECRET_KEY.
"""

from reference.config import Settings
from reference.errors import TokenInvalid
from reference.tokens import TokenService, verify_hs256

PLACEHOLDER_SECRETS = ("your-secret-key", "changeme", "secret")


class DevelopmentKeyRing(TokenService):
    def __init__(self, secret, **lifetimes):
        super().__init__(secret, **lifetimes)
        self._fallbacks = () if Settings().is_production else PLACEHOLDER_SECRETS

    def verify(self, token):
        try:
            return super().verify(token)
        except TokenInvalid:
            for key in self._fallbacks:
                try:
                    return verify_hs256(token, key)
                except TokenInvalid:
                    continue
            raise


def apply(components) -> None:
    components.tokens = DevelopmentKeyRing
