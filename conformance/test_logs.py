"""LOG-1..3: no secrets in the SUT's log, JSON lines, request ids on request lines.

One module-scoped session submits unique canaries through every channel a
client uses, and reads the log lines written meanwhile:

- JSON bodies: register, a wrong and the real OTP, refresh, logout, a profile
  update, a patient's email and phone, a password change refused (400) and
  one that breaks the strength rule (a validation error whose input is a secret);
- form bodies: a wrong and a right login, and a form posted to a JSON operation;
- query strings: the patient list searched for an email and for a phone, a
  token in ``?access_token=``;
- path segments: an email and a phone as a patient id, a token in an unknown route;
- headers: an ``Authorization`` refused with 401 (Bearer and Basic), an
  ``X-Api-Key`` and a session cookie.

Canary values are drawn absent from the log beforehand (and unrelated to each
other), so a match afterwards is a leak, not a coincidence; the real OTP cannot
be chosen, so when it already occurs in the earlier log it is left out (and
said so). The session's requests go through a client of its own whose
exchanges are never attached to a failure report: they hold the canaries in
URLs, headers and bodies, and a canary never reaches the harness's output
(LOG-1's finding masks them). Without log access every test here is *not run*.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pytest

from conformance import redaction
from conformance.actors import canaries
from conformance.checks import logs
from conformance.checks.logs import Carrier
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, NotApplicable
from conformance.wire.client import ApiClient, ClientTimeout, Recorder, TransportFailure

#: The channel of a token the SUT issued: the answer that carried it first.
ISSUED = "answer"


@dataclass
class CanaryRun:
    """What the canary session submitted, through which channels, and what the SUT logged meanwhile."""

    earlier: list[str]
    secrets: dict[str, str] = field(default_factory=dict)
    carried: dict[str, list[Carrier]] = field(default_factory=dict)
    exchanges: list[Exchange] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def draw(self, label: str, make: Callable[[], str]) -> str:
        """A new canary: absent from the earlier log in every form, unrelated to the other canaries."""
        return self.keep(label, canaries.absent_from(self.earlier, make, taken=self.secrets.values()))

    def keep(self, label: str, value: str) -> str:
        """Remember a canary, also for the run-wide redaction of every output (a second safety net)."""
        self.secrets[label] = value
        redaction.register(value, f"canary {label}")
        return value

    def send(
        self,
        send: Callable[[], Exchange],
        carries: Mapping[str, str] = {},
        *,
        expect: tuple[int, ...] | None = None,
        step: str = "",
    ) -> Exchange:
        """Send one request carrying the canaries ``carries`` names (label -> channel)."""
        try:
            exchange = send()
        except (TransportFailure, ClientTimeout) as failure:
            what = f"{failure.request.method} {failure.request.url} got no answer"
            raise Inconclusive(self.mask(f"the canary session could not {step or 'send'}: {what}")) from None
        self.exchanges.append(exchange)
        for label, channel in carries.items():
            self.carried.setdefault(label, []).append(Carrier(channel, exchange))
        if expect is not None and exchange.response.status not in expect:
            wanted = " or ".join(map(str, expect))
            answer = f"{exchange.label} answered {exchange.response.status}, expected {wanted}"
            raise Inconclusive(self.mask(f"the canary session could not {step}: {answer}"))
        return exchange

    def keep_tokens(self, exchange: Exchange, session: str) -> tuple[str, str]:
        body = exchange.response.json if isinstance(exchange.response.json, dict) else {}
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not access or not refresh:
            raise Inconclusive(self.mask(f"{exchange.label} returned no tokens for the {session} session"))
        for label, value in ((f"access token ({session})", access), (f"refresh token ({session})", refresh)):
            self.keep(label, value)
            self.carried.setdefault(label, []).append(Carrier(ISSUED, exchange))
        return access, refresh

    def mask(self, text: str) -> str:
        return canaries.mask(text, self.secrets)

    def __repr__(self) -> str:
        """Counts only: pytest shows a failing test's arguments, and the values are canaries."""
        return f"CanaryRun({len(self.secrets)} canaries, {len(self.exchanges)} requests, {len(self.lines)} log lines)"


@pytest.fixture(scope="module")
def quiet_api(api):
    """A client like ``api`` (same source address and pacer) whose exchanges stay out of failure reports:
    they carry the canaries."""
    client = api.with_source(api.local_address)
    client.recorder = Recorder()
    yield client
    client.close()


@pytest.fixture(scope="module")
def canary_run(quiet_api, accounts, target, profile) -> CanaryRun:
    mark = target.log_mark()
    run = CanaryRun(earlier=target.log_lines(since=0))
    session = Session(run, quiet_api, accounts.email_domain)
    access, refresh = session.account_secrets(accounts.next_email(), target, profile)
    session.headers()
    session.query_strings(access)
    session.path_segments(access, profile.api_prefix)
    session.more_bodies(access)
    session.log_out(access, refresh)
    run.lines = target.log_lines(since=mark)
    if not run.lines:
        raise Inconclusive(f"no log line was captured during {len(run.exchanges)} requests (is the log read?)")
    return run


@dataclass
class Session:
    """The canary session's requests, one method per group of channels."""

    run: CanaryRun
    api: ApiClient
    domain: str

    def account_secrets(self, email: str, target, profile) -> tuple[str, str]:
        """JSON and form bodies: register, a wrong and a right login and OTP, refresh; the tokens of the last."""
        run, api = self.run, self.api
        run.keep("email", email)
        password, phone = run.draw("password", canaries.password), run.draw("phone", canaries.phone)
        login = profile.login
        body = "form body" if login.operation.body == "form" else "JSON body"
        user_field, password_field = login.username_field, login.password_field
        register = {"email": email, "password": password, "full_name": f"Canary {canaries.token()}", "phone": phone}
        run.send(
            lambda: api.call("register", json=register),
            {"email": "JSON body (email)", "password": "JSON body (password)", "phone": "JSON body (phone)"},
            expect=(200, 201),
            step="register",
        )
        wrong_password = run.draw("wrong password", canaries.password)
        run.send(
            lambda: api.login(email.upper(), wrong_password),
            {"email": f"{body} ({user_field}, upper-cased)", "wrong password": f"{body} ({password_field})"},
        )
        wrong_otp = run.draw("wrong OTP", canaries.digits)
        run.send(
            lambda: api.call("verify_otp", json={"email": email, "otp_code": wrong_otp}),
            {"email": "JSON body (email)", "wrong OTP": "JSON body (otp_code)"},
        )
        otp = target.otp_code(email)
        redaction.register(otp, "one-time code")  # masked in every output, also when it is not searched for
        if not logs.lines_contain(run.earlier, otp):
            run.keep("OTP", otp)
        else:
            run.notes.append("the real OTP already occurred in the log before it was sent, so it was not searched for")
        verified = run.send(
            lambda: api.call("verify_otp", json={"email": email, "otp_code": otp}),
            {"email": "JSON body (email)", "OTP": "JSON body (otp_code)"},
            expect=(200,),
            step="verify",
        )
        run.keep_tokens(verified, "verification")
        logged_in = run.send(
            lambda: api.login(email, password),
            {"email": f"{body} ({user_field})", "password": f"{body} ({password_field})"},
            expect=(200,),
            step="log in",
        )
        _, refresh = run.keep_tokens(logged_in, "login")
        refreshed = run.send(
            lambda: api.call("refresh", json={"refresh_token": refresh}),
            {"refresh token (login)": "JSON body (refresh_token)"},
            expect=(200,),
            step="refresh",
        )
        access, refresh = run.keep_tokens(refreshed, "refresh")
        run.send(lambda: api.call("me", token=access), self.bearer)
        return access, refresh

    @property
    def bearer(self) -> dict[str, str]:
        return {"access token (refresh)": "Authorization header"}

    def headers(self) -> None:
        """A refused Bearer value with an API key and a cookie beside it; Basic credentials."""
        run, api = self.run, self.api
        refused = run.draw("refused Authorization value", canaries.bearer_lookalike)
        key, cookie = run.draw("API key", canaries.api_key), run.draw("session cookie", canaries.api_key)
        headers = {"Authorization": f"Bearer {refused}", "X-Api-Key": key, "Cookie": f"session={cookie}"}
        run.send(
            lambda: api.call("me", headers=headers),
            {
                "refused Authorization value": "Authorization header (Bearer, refused)",
                "API key": "X-Api-Key header",
                "session cookie": "Cookie header",
            },
        )
        user, password = run.draw("Basic user", self.email), run.draw("Basic password", canaries.password)
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        channel = "Authorization header (Basic, base64)"
        run.send(
            lambda: api.call("me", headers={"Authorization": f"Basic {basic}"}),
            {"Basic user": channel, "Basic password": channel},
        )

    def query_strings(self, access: str) -> None:
        """A token in ``?access_token=``; the patient list searched for an email and for a phone."""
        run, api = self.run, self.api
        token = run.draw("token in the query string", canaries.bearer_lookalike)
        run.send(
            lambda: api.call("me", params={"access_token": token}),
            {"token in the query string": "query string (access_token)"},
        )
        for label, make in (("searched email", self.email), ("searched phone", canaries.phone)):
            term = run.draw(label, make)
            run.send(
                lambda term=term: api.call("list_patients", token=access, params={"search": term}),
                {label: "query string (search)", **self.bearer},
            )

    def path_segments(self, access: str, api_prefix: str) -> None:
        """An email and a phone as a patient id; a token in an unknown route."""
        run, api = self.run, self.api
        for label, make in (("email in the path", self.email), ("phone in the path", canaries.phone)):
            identifier = run.draw(label, make)
            run.send(
                lambda identifier=identifier: api.call("get_patient", token=access, path_params={"id": identifier}),
                {label: "path segment (patient id)", **self.bearer},
            )
        token = run.draw("token in the path", canaries.bearer_lookalike)
        path = f"{api_prefix}hlc-no-such-route-{canaries.token()}/{token}"
        run.send(
            lambda: api.request("GET", path, token=access),
            {"token in the path": "path segment (unknown route)", **self.bearer},
        )

    def more_bodies(self, access: str) -> None:
        """A patient's and the profile's personal data; passwords refused (400, 422) and posted as a form."""
        run, api = self.run, self.api
        patient = {
            "name": f"Canary Patient {canaries.token()}",
            "email": run.draw("patient email", self.email),
            "phone": run.draw("patient phone", canaries.phone),
        }
        run.send(
            lambda: api.call("create_patient", token=access, json=patient),
            {"patient email": "JSON body (email)", "patient phone": "JSON body (phone)", **self.bearer},
        )
        phone = run.draw("updated phone", canaries.phone)
        run.send(
            lambda: api.call("update_me", token=access, json={"phone": phone}),
            {"updated phone": "JSON body (phone)", **self.bearer},
        )
        current = run.draw("wrong current password", canaries.password)
        refused = {"current_password": current, "new_password": run.draw("new password", canaries.password)}
        run.send(
            lambda: api.call("change_password", token=access, json=refused),
            {
                "wrong current password": "JSON body (current_password)",
                "new password": "JSON body (new_password)",
                **self.bearer,
            },
        )
        invalid = {"current_password": current, "new_password": run.draw("weak new password", canaries.weak_password)}
        run.send(
            lambda: api.call("change_password", token=access, json=invalid),
            {
                "wrong current password": "JSON body (current_password)",
                "weak new password": "JSON body (new_password, refused by validation)",
                **self.bearer,
            },
        )
        form = {
            "current_password": run.draw("form-posted password", canaries.password),
            "new_password": run.draw("form-posted new password", canaries.password),
        }
        run.send(
            lambda: api.call("change_password", token=access, data=form),
            {
                "form-posted password": "form body sent to a JSON operation (current_password)",
                "form-posted new password": "form body sent to a JSON operation (new_password)",
                **self.bearer,
            },
        )

    def log_out(self, access: str, refresh: str) -> None:
        run, api = self.run, self.api
        run.send(
            lambda: api.call("logout", token=access, json={"refresh_token": refresh}),
            {"refresh token (refresh)": "JSON body (refresh_token)", **self.bearer},
        )
        run.send(
            lambda: api.call("refresh", json={"refresh_token": refresh}),
            {"refresh token (refresh)": "JSON body (refresh_token)"},
        )

    def email(self) -> str:
        return canaries.email(self.domain)


@pytest.mark.requirement("LOG-1")
@pytest.mark.clause("LOG-1/password", "LOG-1/otp", "LOG-1/token", "LOG-1/email", "LOG-1/phone", "LOG-1/encodings")
def test_no_submitted_secret_appears_in_the_log(canary_run, profile, conformance_note):
    for note in canary_run.notes:
        conformance_note(note)
    logs.no_canary_in_logs(
        canary_run.lines, canary_run.secrets, canary_run.carried, request_id_header=profile.headers.request_id
    )


@pytest.mark.requirement("LOG-2")
@pytest.mark.clause("LOG-2/json-object", "LOG-2/event", "LOG-2/level")
def test_every_log_line_of_the_run_is_structured(canary_run, target):
    try:
        logs.lines_are_structured(target.log_lines(since=0))
    except NotApplicable as reason:
        raise Inconclusive(f"LOG-2 cannot be judged: {reason}") from None


@pytest.mark.requirement("LOG-3")
@pytest.mark.clause("LOG-3/request-lines", "LOG-3/matches-client")
def test_request_lines_carry_the_request_id_the_client_received(canary_run, profile):
    header = profile.headers.request_id
    received = [e.response.headers.get(header) for e in canary_run.exchanges]
    if not any(received):
        raise Inconclusive(f"no response carried {header} (RID-1 fails), so LOG-3 cannot be judged")
    logs.request_lines_carry_request_id(canary_run.lines, [rid for rid in received if rid])
