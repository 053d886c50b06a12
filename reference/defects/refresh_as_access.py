"""AUTH-2, REV-2: token types are not checked: refresh tokens open guarded routes and access tokens refresh."""

from reference.middleware.auth import TokenTypes


class AnyTokenType(TokenTypes):
    def usable_as_access(self, claims):
        return True

    def usable_as_refresh(self, claims):
        return True


def apply(components) -> None:
    components.token_types = AnyTokenType()
