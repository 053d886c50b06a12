"""DATA-4: search terms are literal in every channel, and query operators are never applied.

A throwaway doctor creates one patient per metacharacter family (its name also
its ``group``); each search must then return exactly the patients whose name
holds the term as written. The same terms go through every other string filter
the published OpenAPI document declares for the patient list (``group`` in the
reference), when it is a field the harness fills. A positive control (a plain
word found in exactly one name, an exact group) shows that a filter filters at
all; without it a wrong answer proves nothing.

Query operators: objects in JSON bodies are 422; bracketed parameters in query
strings and login forms (``search[$regex]=^Gus``, ``password[$ne]=x``), which
frameworks with nested query parsers turn into objects, and a NUL term are
judged by the data that came back. The login probes name only the harness's
own account, so even an injectable SUT logs in as nobody else.

Attribution: a listing probe that gets no listing back is blamed on its
metacharacter or operator only after a positive control, the same listing
without it (the plain part of the value, then no parameter at all), answers
one; when that fails too, the failure is the listing's own and DATA-4 is
inconclusive, naming it (:func:`controlled`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from urllib.parse import quote

import pytest

from conformance import openapi
from conformance.checks import data
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, NotApplicable, Violation

#: Patient names, each holding the metacharacters of one query language.
NAMES = (
    "Ann 100% Lit",
    "Bob under_score",
    "Cy dot.*star",
    "Di [bracket",
    "Ed back\\slash",
    "Fa ^$ anchors",
    "Hal (paren",
    "Gus Plainword",
)
CONTROL_TERM = "Plainword"
#: Search terms that a LIKE pattern, a regex or a glob would not take literally.
TERMS = ("%", "_", ".*", ".", "*", "[", "\\", "^$", "(", "%%", "a%t", "b_b")
#: The terms that are LIKE or glob wildcards (DATA-4/wildcard-metacharacters); the others are regex syntax.
WILDCARDS = ("%", "_", "*", "%%", "a%t", "b_b")
#: The patient the operator probes aim at (its name and group): the operators select it, or all but it.
TARGET = "Gus Plainword"
#: Patient fields the harness fills (with the name): a declared string filter of the list with one of
#: these names is probed like ``search``; a filter on a field it does not fill cannot be judged.
FILLED_FIELDS = ("group",)
SEARCH = "search"


@pytest.fixture(scope="module")
def doctor(accounts):
    return accounts.new()


@pytest.fixture(scope="module")
def patients(api, doctor) -> dict[str, str]:
    """The doctor's patients, id -> name."""
    patients: dict[str, str] = {}
    for name in NAMES:
        exchange = api.call("create_patient", token=doctor.access_token, json={"name": name, "group": name})
        body = exchange.response.json
        if exchange.response.status != 201 or not isinstance(body, dict) or data.ID_FIELD not in body:
            raise Inconclusive(
                f"could not create the patient {name!r}: {exchange.label} answered {exchange.response.status}"
            )
        patients[str(body[data.ID_FIELD])] = name
    return patients


@pytest.fixture(scope="module")
def created(api, doctor, patients) -> dict[str, str]:
    """:func:`patients`, once the positive control showed that the search filters."""
    problems = data.search_problems(search(api, doctor, CONTROL_TERM), term=CONTROL_TERM, created=patients)
    if problems:
        raise Inconclusive(f"positive control failed, the search does not filter as expected: {'; '.join(problems)}")
    return patients


def search(api, account, term: str, parameter: str = SEARCH) -> Exchange:
    return api.call("list_patients", token=account.access_token, params={parameter: term})


def search_terms() -> list:
    """TERMS as parameters, each marked with its DATA-4 clause."""
    return [
        pytest.param(
            term,
            marks=pytest.mark.clause(
                "DATA-4/wildcard-metacharacters" if term in WILDCARDS else "DATA-4/regex-metacharacters"
            ),
        )
        for term in TERMS
    ]


def controlled(api, account, exchange: Exchange, parameter: str, value: str, *, refusable: bool = False) -> Exchange:
    """``exchange``, once a probe that got no listing has passed its positive control (see the module docstring):
    the same listing with the plain part of ``value``, and without any parameter, answers a listing."""
    if data.answered_a_listing(exchange, refusable=refusable):
        return exchange
    plain = data.plain_value(value)
    if plain and plain != value:
        data.listing_control_holds(
            exchange, search(api, account, plain, parameter), without=f"with the plain value {parameter}={plain!r}"
        )
    data.listing_control_holds(
        exchange, api.call("list_patients", token=account.access_token), without="without any parameter"
    )
    return exchange


@pytest.mark.requirement("DATA-4")
@pytest.mark.parametrize("term", search_terms())
def test_search_term_is_literal(api, doctor, created, term):
    data.search_is_literal(controlled(api, doctor, search(api, doctor, term), SEARCH, term), term=term, created=created)


@pytest.fixture(scope="module")
def declared_filters(api, profile) -> list[str]:
    """The other string query parameters of the patient list that the published document declares."""
    exchange = api.call("openapi")
    if exchange.response.status != 200 or not isinstance(exchange.response.json, dict):
        raise NotApplicable(f"no OpenAPI document to read the list's filters from ({exchange.response.status})")
    op = profile.operation("list_patients")
    return [
        p.name
        for p in openapi.parameters(exchange.response.json, op.method, op.path, location="query")
        if p.is_string and p.name != SEARCH
    ]


@pytest.fixture(scope="module")
def filters(api, doctor, created, declared_filters) -> list[str]:
    """The declared filters on fields the harness fills, once a positive control showed that each filters."""
    probed = [name for name in declared_filters if name in FILLED_FIELDS]
    if not probed:
        raise NotApplicable(
            "the published OpenAPI document declares no other string filter of the patient list"
            + (f" on a field the harness fills ({', '.join(declared_filters)} are not)" if declared_filters else "")
        )
    for parameter in probed:
        problems = data.filter_problems(search(api, doctor, TARGET, parameter), term=TARGET, values=created)
        if problems:
            raise Inconclusive(
                f"positive control failed, {parameter}={TARGET!r} does not filter: " + "; ".join(problems)
            )
    return probed


@pytest.mark.requirement("DATA-4")
@pytest.mark.clause("DATA-4/declared-filters")
@pytest.mark.parametrize("term", TERMS)
def test_filter_term_is_literal(api, doctor, created, declared_filters, filters, term, conformance_note):
    unfilled = [name for name in declared_filters if name not in filters]
    if unfilled:
        conformance_note(f"string filters not probed (on fields the harness does not fill): {unfilled}")
    raise_all(
        [
            capture(
                lambda parameter: data.filter_is_literal(
                    controlled(api, doctor, search(api, doctor, term, parameter), parameter, term),
                    parameter=parameter,
                    term=term,
                    values=created,
                ),
                parameter,
            )
            for parameter in filters
        ]
    )


# -- operators in query strings and forms ---------------------------------------------------


def bracketed(api, account, parameter: str, operator: str, value: str) -> Exchange:
    """``list_patients?parameter[operator]=value`` with the brackets as written (as a nested parser wants them)."""
    op = api.profile.operation("list_patients")
    query = f"{parameter}[{operator}]={quote(value, safe='')}"
    return api.request(op.method, f"{op.path}?{query}", token=account.access_token)


def literal_ids(created: dict[str, str], parameter: str, value: str) -> set[str]:
    """What a literal reading of ``value`` returns: a substring for ``search``, the exact value for a filter."""
    if parameter == SEARCH:
        return {pid for pid, name in created.items() if value.lower() in name.lower()}
    return {pid for pid, name in created.items() if value.lower() == name.lower()}


def operator_probes(created: dict[str, str]) -> dict[str, tuple[str, str, set[str]]]:
    """Probe name -> (operator, value, the ids the operator selects as a query): proper subsets, so visible."""
    prefix = "^" + TARGET.split()[0]
    return {
        "$ne": ("$ne", TARGET, {pid for pid, name in created.items() if name != TARGET}),
        "$regex": ("$regex", prefix, {pid for pid, name in created.items() if re.search(prefix, name)}),
    }


@pytest.mark.requirement("DATA-4")
@pytest.mark.clause("DATA-4/operators-in-query")
@pytest.mark.parametrize("probe", ["$ne", "$regex"])
def test_query_operator_in_search_is_not_applied(api, doctor, created, probe):
    operator, value, applied = operator_probes(created)[probe]
    exchange = controlled(api, doctor, bracketed(api, doctor, SEARCH, operator, value), SEARCH, value, refusable=True)
    data.query_operator_not_applied(
        exchange,
        operator=f"{SEARCH}[{operator}]",
        created=created,
        literal=literal_ids(created, SEARCH, value),
        applied=applied,
    )


@pytest.mark.requirement("DATA-4")
@pytest.mark.clause("DATA-4/operators-in-query", "DATA-4/declared-filters")
@pytest.mark.parametrize("probe", ["$ne", "$regex"])
def test_query_operator_in_declared_filters_is_not_applied(api, doctor, created, filters, probe):
    operator, value, applied = operator_probes(created)[probe]
    raise_all(
        [
            capture(
                lambda parameter: data.query_operator_not_applied(
                    controlled(
                        api,
                        doctor,
                        bracketed(api, doctor, parameter, operator, value),
                        parameter,
                        value,
                        refusable=True,
                    ),
                    operator=f"{parameter}[{operator}]",
                    created=created,
                    literal=literal_ids(created, parameter, value),
                    applied=applied,
                ),
                parameter,
            )
            for parameter in filters
        ]
    )


@pytest.mark.requirement("DATA-4")
@pytest.mark.clause("DATA-4/nul-character")
def test_nul_search_term_is_literal_or_refused(api, doctor, created):
    exchange = controlled(api, doctor, search(api, doctor, "\x00"), SEARCH, "\x00", refusable=True)
    data.search_is_literal(exchange, term="\x00", created=created, refusable=True)


@pytest.mark.requirement("DATA-4")
@pytest.mark.clause("DATA-4/nul-character", "DATA-4/declared-filters")
def test_nul_filter_value_is_literal_or_refused(api, doctor, created, filters):
    raise_all(
        [
            capture(
                lambda parameter: data.filter_is_literal(
                    controlled(api, doctor, search(api, doctor, "\x00", parameter), parameter, "\x00", refusable=True),
                    parameter=parameter,
                    term="\x00",
                    values=created,
                    refusable=True,
                ),
                parameter,
            )
            for parameter in filters
        ]
    )


def form_login(api, fields: list[tuple[str, str]]) -> Exchange:
    """A login form with the keys as written (brackets unencoded, as a nested form parser wants them)."""
    op = api.profile.login.operation
    body = "&".join(f"{key}={quote(value, safe='')}" for key, value in fields)
    return api.request(
        op.method, op.path, content=body.encode(), headers={"content-type": "application/x-www-form-urlencoded"}
    )


LOGIN_PROBES = {
    # the harness's own account, the password replaced by "not equal to something random"
    "password-$ne": lambda login, email: [
        (login.username_field, email),
        (f"{login.password_field}[$ne]", f"hlc-{secrets.token_hex(6)}"),
    ],
    # the account chosen by a pattern that matches only the harness's own address
    "username-$regex": lambda login, email: [
        (f"{login.username_field}[$regex]", f"^{re.escape(email)}$"),
        (f"{login.password_field}[$ne]", f"hlc-{secrets.token_hex(6)}"),
    ],
}


@pytest.mark.requirement("DATA-4")
@pytest.mark.clause("DATA-4/operators-in-login-form")
@pytest.mark.parametrize("probe", list(LOGIN_PROBES))
def test_query_operator_in_login_form_does_not_log_in(api, profile, doctor, probe):
    login = profile.login
    if login.operation.body != "form":
        raise NotApplicable("the login takes no form body (its JSON body is probed with the JSON operator cases)")
    data.operator_did_not_log_in(form_login(api, LOGIN_PROBES[probe](login, doctor.email)))


def capture(check: Callable[..., None], *args, **kwargs) -> Violation | Inconclusive | None:
    """Run a check, returning its violation (or failed control) instead of raising it (to judge every parameter)."""
    try:
        check(*args, **kwargs)
    except (Violation, Inconclusive) as outcome:
        return outcome
    return None


def raise_all(outcomes: list[Violation | Inconclusive | None]) -> None:
    """Raise the outcomes found, one as itself, several as a group (a violation outweighs an inconclusive)."""
    __tracebackhide__ = True
    found = [v for v in outcomes if v is not None]
    if len(found) == 1:
        raise found[0]
    if found:
        raise ExceptionGroup(f"DATA-4  {len(found)} filters break it or could not be judged", found)


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
    """Sent as JSON even to a form login: a SUT that also parses JSON there must reject objects too.

    The username is the harness's own account, so an injectable SUT logs in as nobody else.
    """
    login = api.profile.login
    return api.call("login", json={login.username_field: doctor.email, login.password_field: {"$ne": None}})


def create_patient_name(api, accounts, doctor, patient_id):
    return api.call("create_patient", token=doctor.access_token, json={"name": {"$ne": None}})


def update_patient_name(api, accounts, doctor, patient_id):
    return api.call(
        "update_patient", token=doctor.access_token, path_params={"id": patient_id}, json={"name": {"$gt": ""}}
    )


#: Each case's positive control: the same request with a plain value where the operator was (sent only when the
#: probe answered 5xx: then the endpoint's own failure must be told from the operator's).
CONTROLS: dict[str, OperatorCase] = {
    "register-email-$ne": lambda api, accounts, doctor, patient_id: api.call(
        "register", json={"email": accounts.next_email(), "password": accounts.password(), "full_name": "Op Control"}
    ),
    "register-password-$gt": lambda api, accounts, doctor, patient_id: api.call(
        "register", json={"email": accounts.next_email(), "password": accounts.password(), "full_name": "Op Control"}
    ),
    "verify-otp-code-$ne": lambda api, accounts, doctor, patient_id: api.call(
        "verify_otp", json={"email": accounts.next_email(), "otp_code": "123456"}
    ),
    "verify-otp-email-$gt": lambda api, accounts, doctor, patient_id: api.call(
        "verify_otp", json={"email": accounts.next_email(), "otp_code": "123456"}
    ),
    "refresh-token-$ne": lambda api, accounts, doctor, patient_id: api.call(
        "refresh", json={"refresh_token": "hlc-not-a-token"}
    ),
    "login-json-$ne": lambda api, accounts, doctor, patient_id: api.call(
        "login",
        json={
            api.profile.login.username_field: doctor.email,
            api.profile.login.password_field: "Wrong-" + accounts.password(),
        },
    ),
    "create-patient-name-$ne": lambda api, accounts, doctor, patient_id: api.call(
        "create_patient", token=doctor.access_token, json={"name": "Op Control"}
    ),
    "update-patient-name-$gt": lambda api, accounts, doctor, patient_id: api.call(
        "update_patient", token=doctor.access_token, path_params={"id": patient_id}, json={"name": "Op Control"}
    ),
}

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
@pytest.mark.clause("DATA-4/operators-in-json-bodies")
@pytest.mark.parametrize("case", list(OPERATOR_CASES))
def test_query_operator_in_json_body_is_rejected(api, accounts, doctor, patients, case):
    patient_id = next(iter(patients))
    exchange = OPERATOR_CASES[case](api, accounts, doctor, patient_id)
    if exchange.response.status >= 500:
        data.operator_control_holds(exchange, CONTROLS[case](api, accounts, doctor, patient_id))
    data.operator_rejected(exchange)
