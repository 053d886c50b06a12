"""The structlog processor that keeps secrets and personal data out of the logs (LOG-1).

Known keys are handled by name (passwords, codes and tokens dropped; emails and
phones masked); every other string value is scanned for emails, JWTs, bearer
credentials and international phone numbers, so a careless `log.info(f"... {email}")`
is still masked, and so is a path that holds a phone (`/api/patients/+4915...`).
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"
SECRET_KEYS = frozenset(
    {
        "password",
        "current_password",
        "new_password",
        "otp",
        "otp_code",
        "token",
        "access_token",
        "refresh_token",
        "authorization",
        "secret",
        "secret_key",
    }
)
EMAIL_KEYS = frozenset({"email", "username"})
PHONE_KEYS = frozenset({"phone"})

_EMAIL = re.compile(r"([A-Za-z0-9._%+\-]{1,64})@([A-Za-z0-9\-]+\.)+([A-Za-z]{2,})")
_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")
_BEARER = re.compile(r"(?i)bearer\s+\S+")
# "+" and 7 to 15 digits (E.164), spaces, hyphens or parentheses between them: in free text only
# numbers written with their country code are told apart from ids and counters.
_PHONE = re.compile(r"\+[0-9](?:[ ()\-]{0,2}[0-9]){6,14}")


def mask_email(value: str) -> str:
    """`alice@example.com` -> `ali***@***.com`."""
    local, _, domain = value.partition("@")
    tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
    return f"{local[:3]}***@***.{tld}" if tld else f"{local[:3]}***@***"


def mask_phone(value: str) -> str:
    digits = [c for c in value if c.isdigit()]
    return "***" + "".join(digits[-4:])


def scrub_text(value: str) -> str:
    value = _BEARER.sub("Bearer " + REDACTED, value)
    value = _JWT.sub(REDACTED, value)
    value = _PHONE.sub(lambda m: mask_phone(m.group(0)), value)
    return _EMAIL.sub(lambda m: mask_email(m.group(0)), value)


def _scrub(key: str, value: Any) -> Any:
    lowered = key.lower()
    if lowered in SECRET_KEYS:
        return REDACTED
    if isinstance(value, str):
        if lowered in EMAIL_KEYS and "@" in value:
            return mask_email(value)
        if lowered in PHONE_KEYS:
            return mask_phone(value)
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: _scrub(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(key, v) for v in value]
    return value


def mask_sensitive(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: run last before rendering, after exception formatting."""
    return {key: _scrub(key, value) for key, value in event_dict.items()}
