"""AUTH-2: the verifier trusts a key embedded in the token's own header (`jwk`, RFC 7515 §4.1.3).

An attacker signs with a key of their own (oct, or RSA/EC when `cryptography`
is installed) and puts it in the header: the signature verifies, against the
attacker's key. Tokens without `jwk` are verified with SECRET_KEY as before.
"""

import jwt

from reference.errors import TokenInvalid
from reference.tokens import TokenService, checked_claims, peek_header


class EmbeddedKeyTokens(TokenService):
    def verify(self, token):
        header = peek_header(token)
        if "jwk" not in header:
            return super().verify(token)
        try:
            key = jwt.PyJWK(header["jwk"], algorithm=header.get("alg"))
            claims = jwt.decode(token, key, algorithms=[key.algorithm_name], options={"verify_exp": False})
        except (jwt.PyJWTError, TypeError, ValueError, KeyError):
            raise TokenInvalid() from None
        return checked_claims(claims)


def apply(components) -> None:
    components.tokens = EmbeddedKeyTokens
