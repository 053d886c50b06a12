"""Small HTTP helpers for the reference tests: accounts, tokens, envelopes."""

from __future__ import annotations

import itertools
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from tests.reference.server import FIXED_OTP, SECRET

PASSWORD = "Corr3ct-Horse-Battery"
_counter = itertools.count()
_run = uuid.uuid4().hex[:8]


def unique_email(tag: str = "ref") -> str:
    return f"user-{tag}-{_run}-{os.getpid()}-{next(_counter)}@example.com"


@dataclass
class Account:
    email: str
    password: str
    access_token: str
    refresh_token: str
    user: dict[str, Any]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def register(client: httpx.Client, email: str, password: str = PASSWORD, **extra: Any) -> httpx.Response:
    body = {"email": email, "password": password, "full_name": "Test User", **extra}
    return client.post("/api/auth/register", json=body)


def login(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/api/auth/login", data={"username": email, "password": password})


def new_account(client: httpx.Client, tag: str = "ref", phone: str | None = None) -> Account:
    email = unique_email(tag)
    extra = {"phone": phone} if phone else {}
    assert register(client, email, **extra).status_code == 201
    verified = client.post("/api/auth/verify-otp", json={"email": email, "otp_code": FIXED_OTP})
    assert verified.status_code == 200, verified.text
    body = verified.json()
    return Account(email, PASSWORD, body["access_token"], body["refresh_token"], body["user"])


def fresh_session(client: httpx.Client, account: Account) -> Account:
    response = login(client, account.email, account.password)
    assert response.status_code == 200, response.text
    body = response.json()
    return Account(account.email, account.password, body["access_token"], body["refresh_token"], body["user"])


def mint(claims: dict[str, Any], *, secret: str = SECRET, algorithm: str = "HS256", **overrides: Any) -> str:
    """A token signed with the test servers' secret (or another one)."""
    now = time.time()
    payload = {"iat": now, "exp": now + 600, "jti": uuid.uuid4().hex, "type": "access", **claims, **overrides}
    return jwt.encode(payload, secret, algorithm=algorithm)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_code(response: httpx.Response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    __tracebackhide__ = True
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"success", "error", "request_id"}, body
    assert body["success"] is False
    assert body["error"]["code"] == code, body
    assert set(body["error"]) <= {"message", "code", "field", "context"}
    assert body["request_id"] == response.headers["x-request-id"]
    return body
