"""LOG-1..3: no secrets in the SUT's log, JSON lines, request ids on request lines.

One module-scoped session submits unique canaries through every route that
receives a secret (register, a wrong and a right login, a wrong and the real
OTP, refresh, logout, an ``Authorization`` header refused with 401) and reads
the log lines written meanwhile. Canary values are drawn absent from the log
beforehand, so a match afterwards is a leak, not a coincidence; the real OTP
cannot be chosen, so when it already occurs in the earlier log it is left out
(and said so). Without log access every test here is *not run*.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from conformance import canaries
from conformance.checks import logs
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, NotApplicable


@dataclass
class CanaryRun:
    """What the canary session submitted and what the SUT logged meanwhile."""

    secrets: dict[str, str] = field(default_factory=dict)
    exchanges: list[Exchange] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def send(self, exchange: Exchange, *, expect: tuple[int, ...] | None = None, step: str = "") -> Exchange:
        self.exchanges.append(exchange)
        if expect is not None and exchange.response.status not in expect:
            raise Inconclusive(f"the canary session could not {step}: {exchange.label} answered "
                               f"{exchange.response.status}, expected {' or '.join(map(str, expect))}")  # fmt: skip
        return exchange

    def keep_tokens(self, exchange: Exchange, session: str) -> tuple[str, str]:
        body = exchange.response.json if isinstance(exchange.response.json, dict) else {}
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not access or not refresh:
            raise Inconclusive(f"{exchange.label} returned no tokens for the {session} session")
        self.secrets[f"access token ({session})"] = access
        self.secrets[f"refresh token ({session})"] = refresh
        return access, refresh


@pytest.fixture(scope="module")
def canary_run(api, accounts, target) -> CanaryRun:
    mark = target.log_mark()
    earlier = target.log_lines(since=0)
    run = CanaryRun()
    email, password = accounts.next_email(), canaries.absent_from(earlier, canaries.password)
    phone = canaries.absent_from(earlier, canaries.phone)
    wrong_password = canaries.absent_from(earlier, canaries.password)
    wrong_otp = canaries.absent_from(earlier, canaries.digits)
    refused_bearer = canaries.absent_from(earlier, canaries.bearer_lookalike)
    run.secrets.update({"email": email, "password": password, "phone": phone, "wrong password": wrong_password,
                        "wrong OTP": wrong_otp, "Authorization value": refused_bearer})  # fmt: skip

    register = {"email": email, "password": password, "full_name": f"Canary {canaries.token()}", "phone": phone}
    run.send(api.call("register", json=register), expect=(200, 201), step="register")
    run.send(api.login(email.upper(), wrong_password))
    run.send(api.call("verify_otp", json={"email": email, "otp_code": wrong_otp}))
    otp = target.otp_code(email)
    if not logs.lines_contain(earlier, otp):
        run.secrets["OTP"] = otp
    else:
        run.notes.append("the real OTP already occurred in the log before it was sent, so it was not searched for")
    verified = run.send(api.call("verify_otp", json={"email": email, "otp_code": otp}), expect=(200,), step="verify")
    run.keep_tokens(verified, "verification")
    logged_in = run.send(api.login(email, password), expect=(200,), step="log in")
    run.keep_tokens(logged_in, "login")
    refreshed = run.send(api.call("refresh", json={"refresh_token": run.secrets["refresh token (login)"]}),
                         expect=(200,), step="refresh")  # fmt: skip
    access, refresh = run.keep_tokens(refreshed, "refresh")
    run.send(api.call("me", token=access))
    run.send(api.call("me", headers={"Authorization": f"Bearer {refused_bearer}"}))
    run.send(api.call("logout", token=access, json={"refresh_token": refresh}))
    run.send(api.call("refresh", json={"refresh_token": refresh}))
    run.lines = target.log_lines(since=mark)
    if not run.lines:
        raise Inconclusive(f"no log line was captured during {len(run.exchanges)} requests (is the log read?)")
    return run


@pytest.mark.requirement("LOG-1")
def test_no_submitted_secret_appears_in_the_log(canary_run, conformance_note):
    for note in canary_run.notes:
        conformance_note(note)
    logs.no_canary_in_logs(canary_run.lines, canary_run.secrets)


@pytest.mark.requirement("LOG-2")
def test_every_log_line_of_the_run_is_structured(canary_run, target):
    try:
        logs.lines_are_structured(target.log_lines(since=0))
    except NotApplicable as reason:
        raise Inconclusive(f"LOG-2 cannot be judged: {reason}") from None


@pytest.mark.requirement("LOG-3")
def test_request_lines_carry_the_request_id_the_client_received(canary_run, profile):
    header = profile.headers.request_id
    received = [e.response.headers.get(header) for e in canary_run.exchanges]
    if not any(received):
        raise Inconclusive(f"no response carried {header} (RID-1 fails), so LOG-3 cannot be judged")
    logs.request_lines_carry_request_id(canary_run.lines, [rid for rid in received if rid])
