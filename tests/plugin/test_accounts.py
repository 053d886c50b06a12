"""AccountFactory against an in-memory fake of the HealLog auth flow (httpx.MockTransport)."""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import httpx
import jwt
import pytest

from conformance import profile as profiles
from conformance.actors.accounts import AccountFactory, ProvisioningFailed, strong_password
from conformance.outcomes import Inconclusive, NotRun
from conformance.sut.base import PrivilegedAccount, Target
from conformance.wire.client import ApiClient

OTP = "424242"
SECRET = "k" * 64


@dataclass
class FakeSut:
    """Just enough of the contract's register -> verify -> login flow."""

    users: dict[str, dict] = field(default_factory=dict)
    rate_limited_once: set[str] = field(default_factory=set)  # paths answering one 429 first
    requests: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)  # access tokens the fake has ended

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append(path)
        if path in self.rate_limited_once:
            self.rate_limited_once.discard(path)
            return error(429, "RATE_LIMIT_EXCEEDED", headers={"Retry-After": "1"})
        if path == "/api/auth/register":
            body = json.loads(request.read())
            if body["email"] in self.users:
                return error(409, "DUPLICATE_EMAIL")
            self.users[body["email"]] = {**body, "id": f"u{len(self.users) + 1}", "verified": False}
            return httpx.Response(201, json={"success": True, "requires_verification": True, "email": body["email"]})
        if path == "/api/auth/verify-otp":
            body = json.loads(request.read())
            user = self.users.get(body["email"])
            if user is None or body["otp_code"] != OTP:
                return error(400, "INVALID_OTP")
            user["verified"] = True
            return self.session(user, "verify")
        if path == "/api/auth/login":
            form = {k: v[0] for k, v in parse_qs(request.read().decode()).items()}
            user = self.users.get(form["username"])
            if user is None or user["password"] != form["password"]:
                return error(401, "INVALID_CREDENTIALS")
            if not user["verified"]:
                return error(403, "EMAIL_NOT_VERIFIED")
            return self.session(user, "login")
        if path == "/api/users/me":
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            return error(401, "TOKEN_REVOKED") if token in self.revoked else httpx.Response(200, json={"ok": True})
        return error(404, "NOT_FOUND")

    def session(self, user: dict, how: str) -> httpx.Response:
        count = self.requests.count("/api/auth/login")
        public = {
            "id": user["id"],
            "email": user["email"],
            "plan": user.get("plan", "basic"),
            "role": user.get("role", "doctor"),
        }
        return httpx.Response(
            200,
            json={
                "success": True,
                "access_token": f"{how}-access-{count}",
                "refresh_token": f"{how}-refresh-{count}",
                "token_type": "bearer",
                "user": public,
            },
        )


def error(status: int, code: str, headers: dict | None = None) -> httpx.Response:
    body = {"success": False, "error": {"message": code, "code": code}, "request_id": "r"}
    return httpx.Response(status, headers=headers, json=body)


class FakeTarget(Target):
    def otp_code(self, email: str, *, timeout: float = 10.0) -> str:
        return OTP


@pytest.fixture
def sut() -> FakeSut:
    return FakeSut()


@pytest.fixture
def factory(sut):
    profile = profiles.load()
    api = ApiClient("http://sut.test", profile, transport=httpx.MockTransport(sut))
    target = FakeTarget(base_url="http://sut.test", profile=profile, jwt_secret=SECRET)
    yield AccountFactory(api, target, profile, run_id="run1", sleep=lambda seconds: None)
    api.close()


def test_strong_password_satisfies_the_rule():
    for _ in range(200):
        password = strong_password(12, "!@#$%^&*")
        assert len(password) == 12
        assert re.search("[A-Z]", password) and re.search("[a-z]", password) and re.search("[0-9]", password)
        assert any(c not in string.ascii_letters + string.digits for c in password)
        assert set(password) <= set(string.ascii_letters + string.digits + "!@#$%^&*"), "only the profile's specials"


def test_new_account_is_registered_verified_and_logged_in_when_asked(factory, sut):
    account = factory.new(login=True)
    assert account.email == "hlc-run1-1@example.com"
    assert account.access_token == "login-access-1" and account.refresh_token == "login-refresh-1"
    assert account.id == "u1" and account.user["email"] == account.email
    assert sut.users[account.email]["password"] == account.password
    assert sut.users[account.email]["phone"] == account.phone and account.full_name
    assert sut.requests == ["/api/auth/register", "/api/auth/verify-otp", "/api/auth/login"]


def test_addresses_are_unique_per_run_and_use_the_domain(sut):
    profile = profiles.load()
    api = ApiClient("http://sut.test", profile, transport=httpx.MockTransport(sut))
    target = FakeTarget(base_url="http://sut.test", profile=profile)
    one = AccountFactory(api, target, profile, email_domain="qa.example.org")
    two = AccountFactory(api, target, profile, email_domain="qa.example.org")
    emails = [one.new(login=False).email, one.new(login=False).email, two.new(login=False).email]
    assert len(set(emails)) == 3 and all(e.endswith("@qa.example.org") for e in emails)
    assert one.run_id != two.run_id


def test_a_new_account_keeps_the_verification_session_without_spending_a_login(factory, sut):
    account = factory.new()
    assert account.access_token == "verify-access-0"
    assert "/api/auth/login" not in sut.requests


def test_unverified_account_has_no_session(factory, sut):
    account = factory.new(verified=False, login=False)
    assert account.access_token is None and account.id is None
    assert sut.users[account.email]["verified"] is False
    with pytest.raises(ValueError):
        factory.new(verified=False, login=True)


def test_login_gives_a_fresh_session_for_the_same_account(factory):
    account = factory.new()
    again = factory.login(account)
    assert again.email == account.email and again.access_token != account.access_token


def test_rate_limited_provisioning_waits_and_retries(factory, sut):
    sut.rate_limited_once.add("/api/auth/register")
    account = factory.new()
    assert sut.requests.count("/api/auth/register") == 2 and account.access_token


def test_a_refused_step_is_inconclusive_naming_it(factory, sut):
    account = factory.new()
    wrong = type(account)(email=account.email, password="Wrong-passw0rd!", full_name="", phone="")
    with pytest.raises(ProvisioningFailed, match="login answered 401") as failure:
        factory.login(wrong)
    assert isinstance(failure.value, Inconclusive)


def test_no_otp_source_means_not_run(sut):
    profile = profiles.load()
    api = ApiClient("http://sut.test", profile, transport=httpx.MockTransport(sut))
    factory = AccountFactory(api, Target(base_url="http://sut.test", profile=profile), profile)
    with pytest.raises(NotRun, match="--otp-cmd"):
        factory.new()


def test_otp_that_never_arrives_is_inconclusive_naming_the_step(factory):
    from conformance.sut.errors import TargetError

    def no_mail(email, *, timeout=10.0):
        raise TargetError(f"no 6-digit verification code mailed to {email} within 10 s")

    factory.target.otp_code = no_mail
    with pytest.raises(ProvisioningFailed, match="otp_code failed: no 6-digit verification code mailed"):
        factory.new()


def test_privileged_account_comes_from_the_target_when_it_has_one(factory, sut):
    sut.users["admin@corp.test"] = {
        "email": "admin@corp.test",
        "password": "Adm1n-passw0rd!",
        "id": "a1",
        "verified": True,
        "role": "admin",
    }

    class SeededTarget(FakeTarget):
        def privileged_account(self, *, plan=None, role=None):
            return PrivilegedAccount("admin@corp.test", "Adm1n-passw0rd!", plan or "basic", role or "doctor")

    factory.target = SeededTarget(base_url="http://sut.test", profile=factory.profile)
    admin = factory.privileged(role="admin")
    assert admin.email == "admin@corp.test" and admin.user["role"] == "admin" and admin.access_token


def test_privileged_token_is_minted_for_a_claims_sut_when_the_secret_is_known(factory):
    pro = factory.privileged(plan="pro")
    claims = jwt.decode(pro.access_token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == pro.id and claims["plan"] == "pro" and claims["role"] == "doctor"
    assert claims["type"] == "access" and claims["exp"] - claims["iat"] == 1800 and claims["jti"]
    admin = factory.privileged(role="admin")
    assert admin.id == pro.id, "one registered account serves every minted token"
    assert jwt.decode(admin.access_token, SECRET, algorithms=["HS256"])["jti"] != claims["jti"]


def test_no_minting_for_a_database_sut_or_without_the_secret(factory, tmp_path):
    factory.target.jwt_secret = None
    with pytest.raises(NotRun):
        factory.privileged(plan="pro")
    override = tmp_path / "db.toml"
    override.write_text('[profile]\nauthorization = "database"\n')
    factory.profile = profiles.load(override)
    factory.target.jwt_secret = SECRET
    with pytest.raises(NotRun):
        factory.privileged(plan="pro")
