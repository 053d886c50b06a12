"""Isolation checks (DATA-1 .. DATA-3) on recorded listings and creates."""

from __future__ import annotations

import datetime

import pytest

from conformance.checks import isolation
from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable, Violation

JSON = {"content-type": "application/json"}


def patient(pid, user="alice", name="Ann", patient_id=None):
    return {"id": pid, "user_id": user, "name": name, "patient_id": patient_id or f"PT202611{pid[-3:]:0>3}"}


def listing(*patients, status=200, wrap=False):
    body = {"items": list(patients)} if wrap else list(patients)
    return Exchange.build("GET", "http://sut/api/patients/", status, response_headers=JSON, response_body=body)


def created(patient_id, pid="p", status=201):
    return Exchange.build(
        "POST",
        "http://sut/api/patients/",
        status,
        response_headers=JSON,
        response_body={"id": pid, "patient_id": patient_id},
    )


# -- DATA-1 --------------------------------------------------------------------


@pytest.mark.parametrize("wrap", [False, True])
def test_own_patients_only_passes(wrap):
    isolation.only_own_patients(
        listing(patient("a1"), patient("a2"), wrap=wrap), own_ids={"a1", "a2"}, foreign_ids={"b1"}, owner_id="alice"
    )


def test_foreign_patient_in_listing_fails():
    with pytest.raises(Violation, match=r"1 patient\(s\) of another user: b1 \(user bob\)") as failure:
        isolation.only_own_patients(
            listing(patient("a1"), patient("b1", user="bob")), own_ids={"a1"}, foreign_ids={"b1"}
        )
    assert failure.value.requirement == "DATA-1"


def test_leak_names_whose_patients_came_back_and_the_interleaving():
    with pytest.raises(Violation) as failure:
        isolation.only_own_patients(
            listing(patient("b1", user="bob"), patient("b2", user="bob")),
            own_ids={"a1"},
            foreign_ids={"b1", "b2"},
            owners={"b1": "user 1's", "b2": "user 1's"},
            interleaving="request #7 of the burst (user 0, list)",
        )
    assert failure.value.actual == (
        "2 patient(s) of another user: b1 (user 1's), b2 (user 1's); 0 of the caller's "
        "own; request #7 of the burst (user 0, list)"
    )


def test_patient_of_unknown_other_user_fails_by_owner():
    with pytest.raises(Violation, match="carol"):
        isolation.only_own_patients(listing(patient("c1", user="carol")), own_ids=(), foreign_ids=(), owner_id="alice")


@pytest.mark.parametrize(
    "exchange", [listing(status=503), Exchange.build("GET", "http://sut/x", 200, response_body={"a": 1, "b": 2})]
)
def test_not_a_listing_is_not_applicable(exchange):
    with pytest.raises(NotApplicable):
        isolation.only_own_patients(exchange, own_ids=(), foreign_ids={"b1"})


def test_foreign_get_must_be_404():
    isolation.foreign_patient_not_found(Exchange.build("GET", "http://sut/api/patients/b1", 404))
    shown = Exchange.build("GET", "http://sut/api/patients/b1", 200, response_body=patient("b1", user="bob"))
    with pytest.raises(Violation, match="Actual: SHOWN: another user's patient was returned"):
        isolation.foreign_patient_not_found(shown)
    with pytest.raises(Violation, match="403: refused, but not as missing"):
        isolation.foreign_patient_not_found(Exchange.build("GET", "http://sut/api/patients/b1", 403))


def write(method, status, pid="b1"):
    body = {"success": True} if status < 400 else {"success": False, "error": {"code": "NOT_FOUND", "message": "x"}}
    return Exchange.build(method, f"http://sut/api/patients/{pid}", status, response_headers=JSON, response_body=body)


def owner_read(status=200, **fields):
    body = {**patient("b1", user="bob"), **fields} if status == 200 else {"success": False}
    return Exchange.build("GET", "http://sut/api/patients/b1", status, response_headers=JSON, response_body=body)


@pytest.mark.parametrize("method, name", [("PUT", "update"), ("DELETE", "delete")])
def test_foreign_write_refused_as_missing_and_nothing_changed_passes(method, name):
    isolation.foreign_write_refused(write(method, 404), owner_read(), before=patient("b1", user="bob"), write=name)


@pytest.mark.parametrize(
    "status, after, message",
    [
        (200, owner_read(name="Taken"), r"ACCEPTED: another user's update answered 200; the owner's patient changed"),
        (
            404,
            owner_read(name="Taken"),
            r"404 with code NOT_FOUND, as if missing; the owner's patient changed \(name\)",
        ),
        (403, owner_read(), r"403 with code NOT_FOUND: refused, but not as missing.*; the owner's patient unchanged"),
    ],
)
def test_foreign_update_that_answers_otherwise_or_changes_the_patient_fails(status, after, message):
    with pytest.raises(Violation, match=message) as failure:
        isolation.foreign_write_refused(write("PUT", status), after, before=patient("b1", user="bob"), write="update")
    assert failure.value.requirement == "DATA-1"


def test_foreign_delete_that_deletes_fails_even_when_answered_404():
    with pytest.raises(Violation, match=r"404.*the owner's patient is gone"):
        isolation.foreign_write_refused(
            write("DELETE", 404), owner_read(404), before=patient("b1", user="bob"), write="delete"
        )


def test_foreign_write_without_an_owner_read_is_not_judged():
    with pytest.raises(NotApplicable, match="answered 500"):
        isolation.foreign_write_refused(
            write("PUT", 404), owner_read(500), before=patient("b1", user="bob"), write="update"
        )


# -- DATA-2 ----------------------------------------------------------------------


def test_listing_reflecting_writes_passes():
    isolation.reflects_own_writes(
        listing(patient("a1", name="New"), patient("a2")),
        present={"a1", "a2"},
        absent={"a3"},
        fields={"a1": {"name": "New"}},
    )


@pytest.mark.parametrize(
    "kwargs, text",
    [
        ({"present": {"a9"}}, "created patient a9 missing"),
        ({"absent": {"a2"}}, "deleted patient a2 still listed"),
        ({"fields": {"a1": {"name": "New"}}}, "patient a1 name='Ann', updated to 'New'"),
        ({"fields": {"a7": {"name": "New"}}}, "updated patient a7 missing"),
    ],
)
def test_stale_listing_fails(kwargs, text):
    with pytest.raises(Violation, match=text) as failure:
        isolation.reflects_own_writes(listing(patient("a1"), patient("a2")), **kwargs)
    assert failure.value.requirement == "DATA-2"


# -- DATA-3 ------------------------------------------------------------------------


def test_distinct_patient_ids_pass():
    isolation.patient_ids_distinct([created("PT202611001", "x"), created("PT202611002", "y"), created(None, "z", 422)])


def test_duplicate_patient_id_fails():
    with pytest.raises(Violation, match="'PT202611002' given to two patients \\(x and z\\)") as failure:
        isolation.patient_ids_distinct(
            [created("PT202611002", "x"), created("PT202611003", "y"), created("PT202611002", "z")]
        )
    assert failure.value.requirement == "DATA-3"


def test_failed_concurrent_create_fails():
    body = {"error": {"code": "INTERNAL_ERROR"}}
    crashed = Exchange.build("POST", "http://sut/api/patients/", 500, response_body=body)
    with pytest.raises(Violation, match="every concurrent create succeeds"):
        isolation.patient_ids_distinct([created("PT202611001"), crashed])


def test_fewer_than_two_creates_is_not_applicable():
    with pytest.raises(NotApplicable):
        isolation.patient_ids_distinct([created("PT202611001")])


def test_well_formed_patient_ids_pass_in_the_month_of_the_run():
    now = datetime.datetime(2026, 12, 1, 0, 5, tzinfo=datetime.UTC)
    isolation.patient_ids_well_formed(
        [created("PT202612001"), created("PT2026111234"), created(None, status=422)], now=now
    )


@pytest.mark.parametrize(
    "patient_id",
    ["PT20261201", "PT202612", "pt202612001", "PT2026-12-001", "PT202501001", "202612001", "PT202612001x", 42],
)
def test_malformed_patient_id_fails(patient_id):
    now = datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC)
    with pytest.raises(Violation, match="PT \\+ YYYYMM") as failure:
        isolation.patient_ids_well_formed([created("PT202612001"), created(patient_id)], now=now)
    assert failure.value.requirement == "DATA-3"
