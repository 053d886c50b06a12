"""DATA-4: search terms are literal, and query operators in JSON bodies are rejected.

A throwaway doctor creates one patient per metacharacter family; each search
must then return exactly the patients whose name holds the term as written.
A positive control (a plain word found in exactly one name) shows that the
SUT's search filters at all; without it a wrong answer proves nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.checks import data
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive

#: Patient names, each holding the metacharacters of one query language.
NAMES = ("Ann 100% Lit", "Bob under_score", "Cy dot.*star", "Di [bracket", "Ed back\\slash", "Fa ^$ anchors",
         "Hal (paren", "Gus Plainword")  # fmt: skip
CONTROL_TERM = "Plainword"
#: Search terms that a LIKE pattern, a regex or a glob would not take literally.
TERMS = ("%", "_", ".*", ".", "*", "[", "\\", "^$", "(", "%%", "a%t", "b_b")


@pytest.fixture(scope="module")
def doctor(accounts):
    return accounts.new()


@pytest.fixture(scope="module")
def patients(api, doctor) -> dict[str, str]:
    """The doctor's patients, id -> name."""
    patients: dict[str, str] = {}
    for name in NAMES:
        exchange = api.call("create_patient", token=doctor.access_token, json={"name": name})
        body = exchange.response.json
        if exchange.response.status != 201 or not isinstance(body, dict) or data.ID_FIELD not in body:
            raise Inconclusive(f"could not create the patient {name!r}: {exchange.label} answered "
                               f"{exchange.response.status}")  # fmt: skip
        patients[str(body[data.ID_FIELD])] = name
    return patients


@pytest.fixture(scope="module")
def created(api, doctor, patients) -> dict[str, str]:
    """:func:`patients`, once the positive control showed that the search filters."""
    problems = data.search_problems(search(api, doctor, CONTROL_TERM), term=CONTROL_TERM, created=patients)
    if problems:
        raise Inconclusive(f"positive control failed, the search does not filter as expected: {'; '.join(problems)}")
    return patients


def search(api, account, term: str) -> Exchange:
    return api.call("list_patients", token=account.access_token, params={"search": term})


@pytest.mark.requirement("DATA-4")
@pytest.mark.parametrize("term", TERMS)
def test_search_term_is_literal(api, doctor, created, term):
    data.search_is_literal(search(api, doctor, term), term=term, created=created)


# -- operators in JSON bodies ----------------------------------------------------------

OperatorCase = Callable[..., Exchange]


def register_email(api, accounts, doctor, patient_id):
    return api.call("register", json={"email": {"$ne": None}, "password": accounts.password(), "full_name": "Op Probe"})


def register_password(api, accounts, doctor, patient_id):
    return api.call("register", json={"email": accounts.next_email(), "password": {"$gt": ""}, "full_name": "Op Probe"})


def verify_code(api, accounts, doctor, patient_id):
    return api.call("verify_otp", json={"email": accounts.next_email(), "otp_code": {"$ne": None}})


def verify_email(api, accounts, doctor, patient_id):
    return api.call("verify_otp", json={"email": {"$gt": ""}, "otp_code": "123456"})


def refresh_token(api, accounts, doctor, patient_id):
    return api.call("refresh", json={"refresh_token": {"$ne": None}})


def login_json(api, accounts, doctor, patient_id):
    """Sent as JSON even to a form login: a SUT that also parses JSON there must reject objects too."""
    login = api.profile.login
    return api.call("login", json={login.username_field: {"$ne": None}, login.password_field: {"$ne": None}})


def create_patient_name(api, accounts, doctor, patient_id):
    return api.call("create_patient", token=doctor.access_token, json={"name": {"$ne": None}})


def update_patient_name(api, accounts, doctor, patient_id):
    return api.call("update_patient", token=doctor.access_token, path_params={"id": patient_id},
                    json={"name": {"$gt": ""}})  # fmt: skip


OPERATOR_CASES: dict[str, OperatorCase] = {
    "register-email-$ne": register_email,
    "register-password-$gt": register_password,
    "verify-otp-code-$ne": verify_code,
    "verify-otp-email-$gt": verify_email,
    "refresh-token-$ne": refresh_token,
    "login-json-$ne": login_json,
    "create-patient-name-$ne": create_patient_name,
    "update-patient-name-$gt": update_patient_name,
}


@pytest.mark.requirement("DATA-4")
@pytest.mark.parametrize("case", list(OPERATOR_CASES))
def test_query_operator_in_json_body_is_rejected(api, accounts, doctor, patients, case):
    exchange = OPERATOR_CASES[case](api, accounts, doctor, next(iter(patients)))
    data.operator_rejected(exchange)
