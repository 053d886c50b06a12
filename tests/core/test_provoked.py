"""The run-wide provocations: each kind sent once, replayed (recorded, or its failure raised) to every asker."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from conformance import profile as profiles
from conformance.actors import provoked
from conformance.actors.accounts import Account
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, NotRun

OTP = "424242"


class FakeApi:
    """Answers every call with a canned exchange; counts what was sent and what was recorded."""

    def __init__(self, trigger: int = 500) -> None:
        self.trigger = trigger  # what error_trigger answers
        self.pacer = object()
        self.sent: list[tuple[str, dict]] = []
        self.recorded: list[Exchange] = []
        self._lock = threading.Lock()

    def call(self, operation: str, **kwargs) -> Exchange:
        with self._lock:
            self.sent.append((operation, kwargs))
        statuses = {"register": 201 if "email" in (kwargs.get("json") or {}) else 422, "error_trigger": self.trigger}
        status = statuses.get(operation, 401)
        return Exchange.build("POST", f"http://127.0.0.1:1/{operation}", status, response_body={"success": False})

    def login(self, email: str, password: str) -> Exchange:
        return self.call("login", email=email, password=password)

    def record(self, exchange: Exchange) -> Exchange:
        self.recorded.append(exchange)
        return exchange


class FakeAccounts:
    run_id, email_domain = "run1", "example.com"

    def __init__(self, privileged_error: Exception | None = None) -> None:
        self.numbers = iter(range(1, 100))
        self.privileged_calls = 0
        self.new_calls = 0
        self.privileged_error = privileged_error

    def next_email(self) -> str:
        return f"hlc-run1-{next(self.numbers)}@example.com"

    def password(self) -> str:
        return "Aa1!-not-a-real-secret"

    def new(self) -> Account:
        self.new_calls += 1
        return Account(self.next_email(), self.password(), "Spare", "+15550000000", "access", "refresh")

    def privileged(self, *, role: str) -> Account:
        self.privileged_calls += 1
        if self.privileged_error is not None:
            raise self.privileged_error
        return Account("admin@example.com", self.password(), "Admin", "", "admin-access")


@pytest.fixture
def profile():
    return profiles.load()


def registry(profile, accounts=None, *, trigger: int = 500) -> tuple[provoked.Provocations, FakeApi]:
    api = FakeApi(trigger)
    target = SimpleNamespace(otp_code=lambda email: OTP)
    return provoked.registry(api, profile, target, accounts or FakeAccounts()), api


def test_each_kind_is_sent_once_and_recorded_into_every_asking_test(profile):
    shared, api = registry(profile)
    for kind in provoked.KINDS:
        first, again = shared(kind), shared(kind)
        assert first is again
    sent = [operation for operation, _ in api.sent]
    # one 422, one 413 and the unverified account's 201; its login, the two failed logins; one 500; one 401
    assert sent.count("register") == 3 and sent.count("login") == 3
    assert sent.count("error_trigger") == 1 and sent.count("verify_otp") == 1
    # every ask records its exchange; the unverified login and the wrong OTP also record the account's registration
    assert len(api.recorded) == 2 * len(provoked.KINDS) + 2


def test_the_unverified_login_and_the_wrong_otp_are_on_the_one_registered_account(profile):
    shared, api = registry(profile)
    login, wrong_otp = shared("unverified-login"), shared("wrong-otp")
    registered = [kwargs["json"]["email"] for operation, kwargs in api.sent if operation == "register"]
    assert len(registered) == 1
    assert dict(api.sent)["login"]["email"] == registered[0] == dict(api.sent)["verify_otp"]["json"]["email"]
    assert dict(api.sent)["verify_otp"]["json"]["otp_code"] not in (OTP, None)
    assert login.response.status and wrong_otp.response.status


def test_the_failed_logins_differ_only_in_the_email(profile):
    shared, api = registry(profile)
    shared("wrong-password-login"), shared("unknown-email-login")
    logins = [kwargs for operation, kwargs in api.sent if operation == "login"]
    assert logins[0]["password"] == logins[1]["password"] and logins[0]["email"] != logins[1]["email"]
    assert "nobody" in logins[1]["email"] and shared.spare_account().email == logins[0]["email"]


def test_a_failure_to_provoke_is_raised_again_in_every_asking_test_without_trying_again(profile):
    accounts = FakeAccounts(privileged_error=NotRun("no admin account", option="--seed-cmd"))
    shared, api = registry(profile, accounts)
    for _ in range(3):
        with pytest.raises(NotRun, match="no admin account"):
            shared("unhandled-500")
    assert accounts.privileged_calls == 1 and not api.recorded


def test_concurrent_askers_share_one_provocation(profile):
    accounts = FakeAccounts()
    shared, api = registry(profile, accounts)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: shared("unhandled-500"), range(16)))
    assert len({id(a) for a in answers}) == 1 and accounts.privileged_calls == 1


def test_one_registry_per_client(profile):
    shared, api = registry(profile)
    assert provoked.registry(api, profile, None, None) is shared
    assert registry(profile)[0] is not shared


def test_an_error_trigger_that_gives_no_5xx_leaves_the_unhandled_error_unjudged(profile):
    """A refused privileged session (401) is no unhandled error: the ENV, HDR and RID clauses of a 5xx must not
    pass on it."""
    shared, api = registry(profile, trigger=401)
    for _ in range(2):
        with pytest.raises(Inconclusive, match="answered 401"):
            shared("unhandled-500")
    assert [operation for operation, _ in api.sent].count("error_trigger") == 1


def test_the_unverified_login_goes_before_the_wrong_otp_whatever_the_order_asked(profile):
    """A SUT that takes the wrong code verifies the account: the login must have been sent before, or AUTH-6 and
    the envelope would be blamed for the OTP's defect."""
    shared, api = registry(profile)
    shared("wrong-otp")
    sent = [operation for operation, _ in api.sent]
    assert sent.index("login") < sent.index("verify_otp")
