"""What AccountFactory keeps for the run: privileged sessions per (plan, role), and the pool of ordinary accounts.

Against the in-memory fake of the auth flow of ``test_accounts.py``; ``http://sut.test`` is off 127.0.0.0/8, so
every factory here sends from one address, and a profile declaring 5 registrations a minute makes the pool.
"""

from __future__ import annotations

import threading

import httpx
import pytest

from conformance import profile as profiles
from conformance.actors import accounts as accounts_module
from conformance.actors.accounts import POOL_SIZE, AccountFactory
from conformance.sut.base import PrivilegedAccount
from conformance.wire.client import ApiClient
from conformance.wire.pacing import scarce
from tests.plugin.test_accounts import SECRET, FakeSut, FakeTarget

ADMIN = {"email": "admin@corp.test", "password": "Adm1n-passw0rd!", "id": "a1", "verified": True, "role": "admin"}


class SeededTarget(FakeTarget):
    def privileged_account(self, *, plan=None, role=None):
        return PrivilegedAccount(ADMIN["email"], ADMIN["password"], plan or "basic", role or "doctor")


def make_factory(sut: FakeSut, tmp_path, *, register: str, target_class=SeededTarget) -> AccountFactory:
    override = tmp_path / f"rates-{register.replace('/', '-')}.toml"
    override.write_text(f'[rate_limits]\nregister = "{register}"\n')
    profile = profiles.load(override)
    api = ApiClient("http://sut.test", profile, transport=httpx.MockTransport(sut))
    target = target_class(base_url="http://sut.test", profile=profile, jwt_secret=SECRET)
    return AccountFactory(api, target, profile, run_id="run1", sleep=lambda seconds: None)


@pytest.fixture
def sut() -> FakeSut:
    made = FakeSut()
    made.users[ADMIN["email"]] = dict(ADMIN)
    return made


@pytest.fixture
def scarce_factory(sut, tmp_path):
    return make_factory(sut, tmp_path, register="5/60")


@pytest.fixture
def ample_factory(sut, tmp_path):
    return make_factory(sut, tmp_path, register="60/60")


def logins(sut: FakeSut) -> int:
    return sut.requests.count("/api/auth/login")


def registrations(sut: FakeSut) -> int:
    return sut.requests.count("/api/auth/register")


# -- privileged ------------------------------------------------------------------------------------------------------
def test_privileged_session_is_kept_per_plan_and_role(scarce_factory, sut):
    first = scarce_factory.privileged(role="admin")
    again = scarce_factory.privileged(role="admin")
    assert again is first and logins(sut) == 1, "one login for every caller of the same (plan, role)"
    pro = scarce_factory.privileged(plan="pro")
    assert pro is not first and logins(sut) == 2, "another (plan, role) is another session"
    assert scarce_factory.privileged(plan="pro") is pro and logins(sut) == 2


def test_fresh_privileged_session_is_neither_kept_nor_taken_from_the_kept(scarce_factory, sut):
    kept = scarce_factory.privileged(role="admin")
    fresh = scarce_factory.privileged(role="admin", fresh=True)
    assert fresh.access_token != kept.access_token and logins(sut) == 2
    assert scarce_factory.privileged(role="admin") is kept, "the caller's fresh session replaced nothing"


def test_kept_privileged_session_is_renewed_near_the_end_of_its_token(scarce_factory, sut):
    now = [1000.0]
    scarce_factory._clock = lambda: now[0]
    kept = scarce_factory.privileged(role="admin")
    lifetime = scarce_factory.profile.tokens.access_lifetime_seconds
    now[0] += lifetime - accounts_module.RENEW_MARGIN - 1
    assert scarce_factory.privileged(role="admin") is kept
    now[0] += 2
    renewed = scarce_factory.privileged(role="admin")
    assert renewed is not kept and renewed.access_token != kept.access_token and logins(sut) == 2


def test_concurrent_callers_share_one_privileged_login(scarce_factory, sut):
    got = []
    threads = [threading.Thread(target=lambda: got.append(scarce_factory.privileged(role="admin"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 8 and all(account is got[0] for account in got) and logins(sut) == 1


def test_minted_privileged_tokens_are_kept_too(sut, tmp_path):
    factory = make_factory(sut, tmp_path, register="5/60", target_class=FakeTarget)  # no seeded account: minted
    assert factory.privileged(plan="pro") is factory.privileged(plan="pro")
    assert registrations(sut) == 1 and logins(sut) == 0


# -- the pool of ordinary accounts -------------------------------------------------------------------------------------
def test_pool_only_from_one_address_at_a_scarce_registration_limit(scarce_factory, ample_factory):
    assert scarce(scarce_factory.profile.rate_limits.register) and scarce_factory.pooled
    assert not ample_factory.pooled, "60 registrations a minute: every call makes new accounts"


def test_without_the_pool_each_call_makes_new_accounts(ample_factory, sut):
    first = ample_factory.ordinary(2)
    second = ample_factory.ordinary(2)
    emails = {a.email for a in first + second}
    assert len(emails) == 4 and registrations(sut) == 4 and logins(sut) == 0


def test_pool_is_made_lazily_and_never_beyond_its_size(scarce_factory, sut):
    (one,) = scarce_factory.ordinary(1)
    assert registrations(sut) == 1 and one.access_token, "a verified account with the verification's session"
    trio = scarce_factory.ordinary(3)
    assert len({a.email for a in trio}) == 3 and one in trio and registrations(sut) == POOL_SIZE == 3
    for n in (1, 2, 3, 2, 1, 3):
        handed = scarce_factory.ordinary(n)
        assert len({a.email for a in handed}) == n, "distinct accounts in one call"
    assert registrations(sut) == POOL_SIZE and logins(sut) == 0


def test_pool_hands_its_members_out_in_turn(scarce_factory):
    pool = {a.email for a in scarce_factory.ordinary(3)}
    handed = [scarce_factory.ordinary(1)[0].email for _ in range(6)]
    assert set(handed) == pool and all(handed.count(email) == 2 for email in pool), "no member takes every test"


def test_a_call_for_more_than_the_pool_gets_new_accounts_for_the_rest(scarce_factory, sut):
    handed = scarce_factory.ordinary(POOL_SIZE + 2)
    assert len({a.email for a in handed}) == POOL_SIZE + 2 and registrations(sut) == POOL_SIZE + 2
    assert {a.email for a in scarce_factory.ordinary(POOL_SIZE)} == {a.email for a in handed[:POOL_SIZE]}
    assert registrations(sut) == POOL_SIZE + 2, "the extra accounts were not pooled"


def test_concurrent_callers_share_the_pool(scarce_factory, sut):
    got = []
    threads = [threading.Thread(target=lambda: got.extend(scarce_factory.ordinary(2))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 12 and len({a.email for a in got}) == 2 and registrations(sut) == 2


def test_spent_or_old_pool_sessions_are_renewed_by_a_login(scarce_factory, sut):
    now = [1000.0]
    scarce_factory._clock = lambda: now[0]
    (member,) = scarce_factory.ordinary(1)
    scarce_factory.session_spent(member)
    (renewed,) = scarce_factory.ordinary(1)
    assert renewed.email == member.email and renewed.access_token != member.access_token and logins(sut) == 1
    assert scarce_factory.ordinary(1)[0] is renewed and logins(sut) == 1
    now[0] += scarce_factory.profile.tokens.access_lifetime_seconds
    assert scarce_factory.ordinary(1)[0].access_token != renewed.access_token and logins(sut) == 2


def test_a_kept_session_another_test_ended_is_replaced_before_it_is_handed_out(scarce_factory, sut):
    """A SUT may end every session of a user at one logout (or a defect ends them): the pool and the privileged
    sessions check theirs with one unthrottled request and log in again, never handing out a dead token."""
    (member,) = scarce_factory.ordinary(1)
    admin = scarce_factory.privileged(role="admin")
    sut.revoked.update({member.access_token, admin.access_token})
    before = logins(sut)
    for _ in range(POOL_SIZE):  # the pool hands its members out in turn: the ended one comes round again
        handed = scarce_factory.ordinary(1)[0]
        assert handed.access_token not in sut.revoked
    assert scarce_factory.privileged(role="admin").access_token not in sut.revoked
    assert logins(sut) == before + 2, "one new login for each ended session, none for the live ones"
