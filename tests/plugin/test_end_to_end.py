"""The plugin in a real managed run: the embedded reference, its Redis and SMTP sink, the real fixtures."""

from __future__ import annotations

import json

import pytest

SUITE = """
import pytest
from conformance.outcomes import Violation

@pytest.mark.requirement("AUTH-3")
def test_fixtures_give_working_accounts(api, accounts, user, target):
    me = api.call("me", token=user.access_token)
    assert me.response.status == 200 and me.response.json["email"] == user.email
    assert target.mode == "managed" and target.jwt_secret
    fresh = accounts.login(user)
    assert fresh.access_token != user.access_token
    assert api.call("me", token=fresh.access_token).response.status == 200
    pro = accounts.privileged(plan="pro")
    assert api.call("pro_feature", token=pro.access_token).response.status == 200
    admin = accounts.privileged(role="admin")
    assert api.call("list_users", token=admin.access_token).response.status == 200

@pytest.mark.requirement("ENV-7")
def test_a_violation_is_reported_with_the_real_exchange(api):
    exchange = api.call("health")
    raise Violation("ENV-7", expected="a deliberate failure", actual=str(exchange.response.status), exchange=exchange)

@pytest.mark.requirement("LOG-2")
def test_unverified_account_cannot_log_in(api, accounts):
    account = accounts.new(verified=False, login=False)
    assert api.login(account.email, account.password).response.status == 403
"""


@pytest.mark.timeout(180)
def test_managed_run_against_the_reference(pytester: pytest.Pytester):
    pytester.makepyfile(test_suite=SUITE)
    report_path = pytester.path / "report.json"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--conformance-report", str(report_path), "--startup-timeout", "60", timeout=170
    )
    result.assert_outcomes(passed=2, failed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*ENV-7  No failure reported as 2xx  (GET http://127.0.0.1:*/health, request *)",
            "  Expected: a deliberate failure",
            "  Response: 200",
            "  Reproduce: curl -i -X GET * http://127.0.0.1:*/health",
        ]
    )
    report = json.loads(report_path.read_text())
    assert report["mode"] == "managed" and report["target"]["base_url"].startswith("http://127.0.0.1:")
    verdicts = {rid: r["verdict"] for rid, r in report["requirements"].items()}
    assert (verdicts["AUTH-3"], verdicts["ENV-7"], verdicts["LOG-2"]) == ("pass", "fail", "pass")
    assert "Expected: a deliberate failure" in report["requirements"]["ENV-7"]["first_failure"]
