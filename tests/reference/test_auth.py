"""Accounts, tokens and guards of the clean reference (AUTH-*, REV-1/2/6)."""

from __future__ import annotations

import json
import secrets
import time
import warnings

import jwt

from tests.reference.helpers import (
    PASSWORD,
    assert_envelope,
    bearer,
    fresh_session,
    login,
    mint,
    new_account,
    register,
    unique_email,
)
from tests.reference.server import FIXED_OTP

GUARDED = {"user": "/api/users/me", "pro": "/api/patients/pro-feature/", "role": "/api/users/"}


def test_register_verify_login_me(client):
    email = unique_email("flow")
    response = register(client, email, phone="+44 20 7946 0958")
    assert response.status_code == 201
    assert response.json() == {"success": True, "requires_verification": True, "email": email}
    assert_envelope(login(client, email), 403, "EMAIL_NOT_VERIFIED")
    assert_envelope(
        client.post("/api/auth/verify-otp", json={"email": email, "otp_code": "000001"}), 400, "INVALID_OTP"
    )
    verified = client.post("/api/auth/verify-otp", json={"email": email, "otp_code": FIXED_OTP})
    assert verified.status_code == 200 and verified.json()["token_type"] == "bearer"
    assert_envelope(
        client.post("/api/auth/verify-otp", json={"email": email, "otp_code": FIXED_OTP}), 400, "BAD_REQUEST"
    )
    session = login(client, email.upper())  # emails are case-insensitive
    assert session.status_code == 200
    me = client.get("/api/users/me", headers=bearer(session.json()["access_token"]))
    assert me.status_code == 200
    assert {"id", "email", "full_name", "phone", "plan", "role", "is_verified"} <= set(me.json())
    assert (me.json()["plan"], me.json()["role"]) == ("basic", "doctor")
    assert me.headers["x-debug-jwt-decodes"] == "1"


def test_duplicate_registration_is_409(client, account):
    assert_envelope(register(client, account.email), 409, "DUPLICATE_EMAIL")


def test_otp_of_wrong_shape_is_422(client):
    response = client.post("/api/auth/verify-otp", json={"email": unique_email(), "otp_code": "12ab"})
    assert assert_envelope(response, 422, "VALIDATION_ERROR")["error"]["field"] == "otp_code"


def test_unknown_email_and_wrong_password_are_indistinguishable(client, account):
    wrong = login(client, account.email, "Wrong-Passw0rd!")
    unknown = login(client, unique_email("ghost"), "Wrong-Passw0rd!")
    assert_envelope(wrong, 401, "INVALID_CREDENTIALS")
    assert_envelope(unknown, 401, "INVALID_CREDENTIALS")
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]


def token_variants(client, account) -> dict[str, tuple[str, str]]:
    """Bad-token variants and the code every guard must answer with."""
    sub = account.user["id"]
    revoked = fresh_session(client, account)
    assert client.post("/api/auth/logout", headers=revoked.auth).status_code == 200
    header, payload, signature = account.access_token.split(".")
    tampered_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"plan":"basic"', b'"plan":"pro"')
    ).decode()
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    own_key = secrets.token_bytes(32)
    with warnings.catch_warnings():  # a short key, on purpose
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        placeholder_signed = mint({"sub": sub}, secret="your-secret-key")
    nested = jwt.utils.base64url_encode(b"[" * 5000 + b"]" * 5000).decode()  # deeper than json's recursion limit

    def unsecured(alg: str, signature: str = "") -> str:
        return ".".join((b64url_json({"alg": alg, "typ": "JWT"}), b64url_json(claims), signature))

    return {
        "malformed": ("not.a.jwt", "TOKEN_INVALID"),
        "alg None": (unsecured("None"), "TOKEN_INVALID"),
        "alg NONE with signature": (unsecured("NONE", signature), "TOKEN_INVALID"),
        "embedded jwk": (
            jwt.encode(
                claims,
                own_key,
                algorithm="HS256",
                headers={"jwk": {"kty": "oct", "k": jwt.utils.base64url_encode(own_key).decode()}},
            ),
            "TOKEN_INVALID",
        ),
        "placeholder secret": (placeholder_signed, "TOKEN_INVALID"),
        "deeply nested payload": (f"{header}.{nested}.{signature}", "TOKEN_INVALID"),
        "bad signature": (mint({"sub": sub}, secret="x" * 40), "TOKEN_INVALID"),
        "alg none": (
            jwt.encode({"sub": sub, "iat": time.time(), "exp": time.time() + 600, "jti": "n"}, None, algorithm="none"),
            "TOKEN_INVALID",
        ),
        "expired": (mint({"sub": sub, "plan": "pro", "role": "admin"}, exp=time.time() - 10), "TOKEN_EXPIRED"),
        "revoked": (revoked.access_token, "TOKEN_REVOKED"),
        "refresh as access": (account.refresh_token, "TOKEN_INVALID"),
        "tampered claims": (f"{header}.{tampered_payload}.{signature}", "TOKEN_INVALID"),
        "unknown user": (mint({"sub": "0" * 32, "plan": "pro", "role": "admin"}), "TOKEN_INVALID"),
    }


def b64url_json(value: dict) -> str:
    return jwt.utils.base64url_encode(json.dumps(value).encode()).decode()


def test_every_guard_rejects_every_bad_token_alike(client):
    account = new_account(client, "guards")
    for variant, (token, code) in token_variants(client, account).items():
        for guard, path in GUARDED.items():
            response = client.get(path, headers=bearer(token))
            assert_envelope(response, 401, code)
            assert response.headers["www-authenticate"] == "Bearer", (variant, guard)
            assert response.headers["x-debug-jwt-decodes"] == "1", (variant, guard)
    for path in GUARDED.values():
        response = client.get(path)
        assert_envelope(response, 401, "UNAUTHORIZED")
        assert response.headers["x-debug-jwt-decodes"] == "0"


def test_plan_and_role_guards(client, account, admin):
    assert_envelope(client.get(GUARDED["pro"], headers=account.auth), 403, "PRO_REQUIRED")
    assert_envelope(client.get(GUARDED["role"], headers=account.auth), 403, "FORBIDDEN")
    for path in GUARDED.values():
        response = client.get(path, headers=admin.auth)
        assert response.status_code == 200 and response.headers["x-debug-jwt-decodes"] == "1"


def test_minted_elevated_claims_pass_plan_and_role_guards(client, account):
    token = mint({"sub": account.user["id"], "plan": "pro", "role": "admin"})
    assert client.get(GUARDED["pro"], headers=bearer(token)).status_code == 200
    assert client.get(GUARDED["role"], headers=bearer(token)).status_code == 200


def test_logout_revokes_only_that_session(client):
    first = new_account(client, "logout")
    second = fresh_session(client, first)
    assert (
        client.post("/api/auth/logout", headers=first.auth, json={"refresh_token": first.refresh_token}).status_code
        == 200
    )
    for path in GUARDED.values():
        assert_envelope(client.get(path, headers=first.auth), 401, "TOKEN_REVOKED")
    assert_envelope(client.post("/api/auth/refresh", json={"refresh_token": first.refresh_token}), 401, "TOKEN_REVOKED")
    assert client.get("/api/users/me", headers=second.auth).status_code == 200


def test_logout_refuses_the_tokens_every_user_guard_refuses(client):
    account = new_account(client, "logoutguard")
    for _variant, (token, code) in token_variants(client, account).items():
        assert_envelope(client.post("/api/auth/logout", headers=bearer(token)), 401, code)
    assert_envelope(client.post("/api/auth/logout"), 401, "UNAUTHORIZED")


def test_revoked_token_is_refused_on_writes_too(client):
    account = new_account(client, "revokedwrites")
    assert client.post("/api/auth/logout", headers=account.auth).status_code == 200
    writes = [
        client.post("/api/patients/", headers=account.auth, json={"name": "Never Written"}),
        client.put("/api/users/me", headers=account.auth, json={"full_name": "Never Renamed"}),
        client.delete("/api/patients/any-id", headers=account.auth),
        client.post("/api/auth/logout", headers=account.auth),
    ]
    for response in writes:
        assert_envelope(response, 401, "TOKEN_REVOKED")


def test_refresh_rotates_and_refuses_access_tokens(client):
    account = new_account(client, "refresh")
    rotated = client.post("/api/auth/refresh", json={"refresh_token": account.refresh_token})
    assert rotated.status_code == 200
    assert set(rotated.json()) == {"access_token", "refresh_token", "token_type"}
    assert client.get("/api/users/me", headers=bearer(rotated.json()["access_token"])).status_code == 200
    assert_envelope(
        client.post("/api/auth/refresh", json={"refresh_token": account.refresh_token}), 401, "TOKEN_REVOKED"
    )
    assert_envelope(
        client.post("/api/auth/refresh", json={"refresh_token": account.access_token}), 401, "TOKEN_INVALID"
    )
    response = client.post("/api/auth/refresh", json={"refresh_token": account.access_token}, headers=account.auth)
    assert response.headers["x-debug-jwt-decodes"] == "1"  # the body's token is not counted


def test_password_change_revokes_earlier_tokens_only(client):
    account = new_account(client, "pwchange")
    other = fresh_session(client, account)
    new_password = "N3w-" + PASSWORD
    wrong = client.post(
        "/api/users/me/password",
        headers=account.auth,
        json={"current_password": "Wrong-Passw0rd!", "new_password": new_password},
    )
    assert_envelope(wrong, 400, "BAD_REQUEST")
    changed = client.post(
        "/api/users/me/password",
        headers=account.auth,
        json={"current_password": PASSWORD, "new_password": new_password},
    )
    assert changed.status_code == 200
    assert_envelope(client.get("/api/users/me", headers=account.auth), 401, "TOKEN_REVOKED")
    assert_envelope(client.get("/api/users/me", headers=other.auth), 401, "TOKEN_REVOKED")
    fresh = login(client, account.email, new_password)  # within the same second: still valid
    assert client.get("/api/users/me", headers=bearer(fresh.json()["access_token"])).status_code == 200


def test_update_me(client):
    account = new_account(client, "update")
    response = client.put(
        "/api/users/me", headers=account.auth, json={"full_name": "New Name", "phone": "+1 555 123 4567"}
    )
    assert response.status_code == 200 and response.json()["full_name"] == "New Name"
