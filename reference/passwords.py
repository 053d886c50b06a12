"""Password hashing (PBKDF2-SHA256 from the standard library) and the strength rule of CONTRACT §4."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os

ITERATIONS = 60_000
MIN_LENGTH, MAX_LENGTH = 12, 128
# Verified against unknown emails, so that they cost the same time as wrong passwords.
_DUMMY = None


def _derive(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8", "surrogatepass"), salt, iterations)


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = _derive(password, salt, ITERATIONS)
    return f"pbkdf2_sha256${ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, iterations, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = _derive(password, base64.b64decode(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password: str, stored: str | None) -> bool:
    """Verify off the event loop; with no stored hash, burn the same time and fail."""
    global _DUMMY
    if stored is None:
        if _DUMMY is None:
            _DUMMY = hash_password("dummy-password-for-timing")
        await asyncio.to_thread(verify_password, password, _DUMMY)
        return False
    return await asyncio.to_thread(verify_password, password, stored)


def strength_problem(password: str) -> str | None:
    """Why the password breaks the rule, or None."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return f"Password must be {MIN_LENGTH} to {MAX_LENGTH} characters long"
    if not any(c.isupper() for c in password):
        return "Password needs an upper-case letter"
    if not any(c.islower() for c in password):
        return "Password needs a lower-case letter"
    if not any(c.isdigit() for c in password):
        return "Password needs a digit"
    if all(c.isalnum() for c in password):
        return "Password needs a character that is not a letter or digit"
    return None
