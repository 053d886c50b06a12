"""What a failed login or a rejected one-time code looks like to the client (AUTH-5, AUTH-6, ENV-7)."""

from __future__ import annotations

from starlette.responses import Response

from reference.errors import APIException, InvalidCredentials


class CredentialErrors:
    """Unknown email and wrong password must be indistinguishable (same status, code, message)."""

    def unknown_email(self) -> APIException:
        return InvalidCredentials()

    def wrong_password(self) -> APIException:
        return InvalidCredentials()


class OTPOutcomes:
    def rejected(self, error: APIException) -> Response:
        """A refused code is an error response: raise it (the envelope handler renders it)."""
        raise error
