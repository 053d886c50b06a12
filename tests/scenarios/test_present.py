"""Presenting a ledger entry again: only a lapse (the token or password let in) is a problem; an answer that
neither refuses nor lets in shows nothing and is *not judged*, never a silent "held"."""

from __future__ import annotations

import pytest

from conformance import profile as profiles
from conformance.exchange import Exchange
from scenarios.kit.helpers import present
from scenarios.kit.ledger import Ledger

PROFILE = profiles.load(None)


class Api:
    def __init__(self, statuses):
        self.statuses = statuses  # operation -> status

    def call(self, operation, **_):
        op = PROFILE.operation(operation)
        return Exchange.build(
            op.method, f"http://sut{op.path}", self.statuses.get(operation, 401), response_body={"error": {"code": "X"}}
        )


def entry(kind="access"):
    ledger = Ledger()
    ledger.revoked("tok", kind=kind, how="logout", requirement="REV-1", where="t::x")
    return ledger.entries[-1]


def test_a_token_refused_everywhere_still_holds():
    assert present(entry(), Api({}), PROFILE, logins=None) == (None, None, True)


@pytest.mark.parametrize("status", [500, 429, 400, 404])
def test_a_token_answered_otherwise_than_401_is_no_lapse_and_not_judged(status):
    """A 500 on a guard is another requirement's finding where the token was revoked, not a lapse in time; nor
    does it show that the revocation held."""
    problem, shown, judged = present(entry(), Api({"pro_feature": status}), PROFILE, logins=None)
    assert problem is None and not judged and shown.response.status == status


def test_a_token_let_in_is_a_lapse_led_by_what_it_was_let_do():
    problem, shown, judged = present(entry(), Api({"me": 200, "pro_feature": 403}), PROFILE, logins=None)
    assert judged
    assert problem.startswith("ACCEPTED: the user guard (GET http://sut/api/users/me) answered 200; the pro guard")
    assert "passed authentication" in problem
    assert shown.response.status == 200


def test_a_refresh_token_lapses_only_when_refresh_issues_tokens():
    assert present(entry("refresh"), Api({"refresh": 500}), PROFILE, logins=None)[:3:2] == (None, False)
    assert present(entry("refresh"), Api({"refresh": 401}), PROFILE, logins=None)[:3:2] == (None, True)
    assert present(entry("refresh"), Api({"refresh": 200}), PROFILE, logins=None)[0].startswith("ACCEPTED")


def test_the_end_of_run_recheck_is_inconclusive_when_no_entry_could_be_judged():
    from conformance.outcomes import Inconclusive
    from scenarios.test_time import Presented, judge

    revoked = entry()
    ledger_of = Ledger()
    ledger_of.entries.append(revoked)
    answer = Api({"me": 503}).call("me")
    unjudged = Presented([revoked], {}, {}, {id(revoked): answer}, 0.0, ledger_of)
    with pytest.raises(Inconclusive, match="none of the 1 tokens revoked by logout could be judged"):
        judge(unjudged, "REV-1", "tokens revoked by logout")
    judged = Presented([revoked], {}, {}, {}, 0.0, ledger_of)
    judge(judged, "REV-1", "tokens revoked by logout")  # held: a pass
