"""AUTH-2: unsecured tokens are refused only when `alg` is exactly "none".

A hand-rolled check in front of the library blocks the classic `alg: none`
token, but the algorithm is then matched case-insensitively, so `None`, `NONE`
or `nOnE` select "no signature": the payload is taken as is, with or without
a signature segment.
"""

from reference.errors import TokenInvalid
from reference.tokens import TokenService, checked_claims, peek_header, peek_payload


class CaseSensitiveNoneCheck(TokenService):
    def verify(self, token):
        alg = str(peek_header(token).get("alg", ""))
        if alg == "none":
            raise TokenInvalid()
        if alg.lower() == "none":
            return checked_claims(peek_payload(token))
        return super().verify(token)


def apply(components) -> None:
    components.tokens = CaseSensitiveNoneCheck
