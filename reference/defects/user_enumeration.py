"""AUTH-5: login says whether the email exists."""

from reference.credentials import CredentialErrors
from reference.errors import InvalidCredentials


class RevealingCredentialErrors(CredentialErrors):
    def unknown_email(self):
        return InvalidCredentials("No account is registered with this email")

    def wrong_password(self):
        return InvalidCredentials("Incorrect password")


def apply(components) -> None:
    components.credential_errors = RevealingCredentialErrors()
