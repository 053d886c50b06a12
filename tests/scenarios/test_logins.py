"""Lockout logins sized to the declared login limit, and controls that tell a rate limit from a lock."""

from __future__ import annotations

import dataclasses
import itertools

from conformance import profile as profiles
from conformance.exchange import Exchange
from conformance.profile.model import Rate
from scenarios.kit.logins import Logins


def answer(status, code=None):
    body = {"error": {"code": code}} if code else {"error": "Rate limit exceeded"}
    return Exchange.build("POST", "http://127.0.0.1:1/api/auth/login", status, response_body=body)


class FakeApi:
    def __init__(self, address, answers):
        self.address, self.answers, self.sent = address, answers, []

    def login(self, email, password, base_url=None):
        self.sent.append(email)
        return self.answers(self.address, email)


class FakeAccounts:
    numbers = itertools.count()
    email_domain = "example.com"

    def next_email(self):
        return f"hlc-t-{next(self.numbers)}@example.com"


@dataclasses.dataclass
class FakeSide:
    address: str | None
    api: FakeApi
    accounts: FakeAccounts


class FakeSides:
    def __init__(self, answers, enabled=True):
        self.sources = type("S", (), {"enabled": enabled})()
        self.answers, self.made = answers, []

    def new(self):
        address = f"127.77.0.{len(self.made) + 1}" if self.sources.enabled else None
        self.made.append(FakeSide(address, FakeApi(address, self.answers), FakeAccounts()))
        return self.made[-1]


def logins_for(answers, rate="5/60", enabled=True):
    profile = profiles.load(None)
    profile = dataclasses.replace(profile, rate_limits=profile.rate_limits.with_limit("login", Rate.parse(rate)))
    sides = FakeSides(answers, enabled)
    return Logins(sides, profile, wrong_password="Wrong-pw"), sides


def test_logins_never_exceed_the_declared_limit_per_address_and_keep_one_for_a_control():
    logins, sides = logins_for(lambda address, email: answer(401, "INVALID_CREDENTIALS"))
    for _ in range(6):  # five wrong passwords and the probe, under login = "5/60"
        logins.login("victim@example.com", "pw")
    assert [len(side.api.sent) for side in sides.made] == [4, 2]


def test_a_control_is_sent_only_for_an_ambiguous_429_from_its_address():
    def answers(address, email):
        if email == "victim@example.com":
            return answer(429) if address == "127.77.0.2" else answer(429, "ACCOUNT_LOCKED")
        return answer(401, "INVALID_CREDENTIALS")

    logins, sides = logins_for(answers)
    locked = [logins.login("victim@example.com", "pw") for _ in range(4)]  # 127.77.0.1, coded: no doubt
    assert logins.source_limited(locked) is None
    bare = logins.login("victim@example.com", "pw")  # 127.77.0.2: a bare 429
    assert logins.source_limited([bare]) is False  # the control from 127.77.0.2 was answered 401
    assert sides.made[1].api.sent[-1] != "victim@example.com"


def test_a_control_refused_with_429_means_the_address_is_limited():
    logins, _ = logins_for(lambda address, email: answer(429))
    assert logins.source_limited([logins.login("victim@example.com", "pw")]) is True


def test_a_burst_is_spread_over_addresses_within_the_limit():
    logins, _ = logins_for(lambda address, email: answer(401, "INVALID_CREDENTIALS"))
    planned = logins.burst([("victim@example.com", "w", 0.0)] * 12)
    sources = [request.source for request in planned]
    assert [sources.count(address) for address in dict.fromkeys(sources)] == [4, 4, 4]


def test_without_source_addresses_everything_leaves_from_the_run_s_address():
    logins, sides = logins_for(lambda address, email: answer(401, "INVALID_CREDENTIALS"), enabled=False)
    for _ in range(10):
        logins.login("victim@example.com", "pw")
    assert len(sides.made) == 1 and sides.made[0].address is None


def timed(exchange, started):
    from conformance.exchange import Timing

    return dataclasses.replace(exchange, timing=Timing(started, 0.01))


def test_a_control_that_waited_for_the_next_window_says_nothing_and_the_code_decides():
    """At one address's strict limit a control is paced behind the window the 429 was in: answered then, it
    does not show that the 429 was a lock (LOCK-3 failed a conforming SUT this way from one address)."""
    late = [False]

    def answers(address, email):
        return timed(answer(401, "INVALID_CREDENTIALS"), 1000.0 + (30.0 if late[0] else 0.5))

    logins, _ = logins_for(answers, enabled=False)
    limited_429 = timed(answer(429, "RATE_LIMIT_EXCEEDED"), 1000.0)
    assert logins.source_limited([limited_429]) is False, "a control right after: the 429 was not the limit's"
    late[0] = True
    assert logins.source_limited([limited_429]) is None, "a control a window later says nothing"
    from conformance.checks import lockout

    assert lockout.answer_kind(limited_429, source_limited=None) == lockout.LIMITED


def test_only_a_tight_limit_keeps_a_property_to_its_pinned_examples():
    """From one address, 5 logins a minute cannot afford generated lockout examples; 60 a minute can."""
    from scenarios.kit.strategies import scarce

    assert scarce(Rate(5, 60)) and scarce(Rate(3, 3600))
    assert not scarce(Rate(60, 60)) and not scarce(None)
