"""Isolation of users' patients under concurrency (DATA-1 .. DATA-3).

Each example makes its own users, all of whose patients carry one name
fragment, so that a search not scoped to the caller would find the others'.
The plan's creates, listings, searches and cross-user reads run concurrently;
every listing is then judged against the ids each user was given.
"""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given, note

from conformance.checks import isolation
from conformance.outcomes import Inconclusive, NotApplicable
from scenarios.burst import operation_request, send_concurrently
from scenarios.strategies import isolation_plans

#: Concurrent creates of one user (DATA-3).
CREATE_BURST = 24


def _created_id(exchange) -> str | None:
    body = exchange.response.json
    if 200 <= exchange.response.status < 300 and isinstance(body, dict) and body.get("id") is not None:
        return str(body["id"])
    return None


def _create(api, account, name: str) -> str:
    exchange = api.call("create_patient", token=account.access_token, json={"name": name})
    patient_id = _created_id(exchange)
    if patient_id is None:
        raise Inconclusive(f"cannot create a patient: {exchange.label} answered {exchange.response.status}")
    return patient_id


def _listing(api, account, **params):
    return api.call("list_patients", token=account.access_token, params=params or None)


@pytest.mark.requirement("DATA-1")
def test_users_only_ever_see_their_own_patients(target, api, profile, sides):
    health = profile.operation("health").path
    judged: list[int] = []

    @given(plan=isolation_plans())
    def run(plan):
        note(f"plan: {plan!r}")  # this Hypothesis prints drawn arguments empty in "Failing test case"
        side = sides.new()
        users = [side.accounts.new() for _ in range(plan.users)]
        fragment = f"Iso{secrets.token_hex(3)}"
        own = {i: {_create(side.api, user, f"{fragment} seed {i}")} for i, user in enumerate(users)}
        seeds = {i: next(iter(ids)) for i, ids in own.items()}
        planned = []
        for n, (i, action) in enumerate(plan.steps):
            token = users[i].access_token
            if action == "create":
                planned.append(operation_request(profile, "create_patient", token=token,
                                                 json={"name": f"{fragment} user {i} no {n}"}))  # fmt: skip
            elif action == "list":
                planned.append(operation_request(profile, "list_patients", token=token))
            elif action == "search":
                planned.append(operation_request(profile, "list_patients", token=token, params={"search": fragment}))
            else:
                other = seeds[(i + 1) % plan.users]
                planned.append(operation_request(profile, "get_patient", token=token, path_params={"id": other}))
        exchanges = send_concurrently(target.base_url, planned, concurrency=plan.concurrency, warm_path=health,
                                      local_address=side.address)  # fmt: skip
        for exchange in exchanges:
            api.record(exchange)
        for (i, action), exchange in zip(plan.steps, exchanges):
            if action == "create" and _created_id(exchange):
                own[i].add(_created_id(exchange))

        listings = [(i, e) for (i, action), e in zip(plan.steps, exchanges) if action in ("list", "search")]
        listings += [(i, _listing(side.api, user)) for i, user in enumerate(users)]  # right after the writes
        listings += [(i, _listing(side.api, user, search=fragment)) for i, user in enumerate(users)]
        for i, listing in listings:
            foreign = set().union(*(ids for j, ids in own.items() if j != i))
            try:
                isolation.only_own_patients(listing, own_ids=own[i], foreign_ids=foreign, owner_id=users[i].id)
            except NotApplicable:
                continue
            judged.append(i)
        for (i, action), exchange in zip(plan.steps, exchanges):
            if action == "get_foreign":
                isolation.foreign_patient_not_found(exchange)

    run()
    if not judged:
        raise Inconclusive("no listing answered with a list of patients")


@pytest.mark.requirement("DATA-2")
def test_listing_reflects_the_users_own_writes(api, sides):
    side = sides.new()
    user = side.accounts.new()
    _listing(side.api, user)  # a first listing, which a cache may keep
    _listing(side.api, user, search="Ryw")

    first = _create(side.api, user, "Ryw First")
    isolation.reflects_own_writes(_listing(side.api, user), present={first})
    isolation.reflects_own_writes(_listing(side.api, user, search="Ryw"), present={first})

    updated = side.api.call("update_patient", token=user.access_token, path_params={"id": first},
                            json={"name": "Ryw Renamed"})  # fmt: skip
    if not 200 <= updated.response.status < 300:
        raise Inconclusive(f"cannot update a patient: {updated.label} answered {updated.response.status}")
    isolation.reflects_own_writes(_listing(side.api, user), fields={first: {"name": "Ryw Renamed"}})

    second = _create(side.api, user, "Ryw Second")
    deleted = side.api.call("delete_patient", token=user.access_token, path_params={"id": first})
    if not 200 <= deleted.response.status < 300:
        raise Inconclusive(f"cannot delete a patient: {deleted.label} answered {deleted.response.status}")
    isolation.reflects_own_writes(_listing(side.api, user), present={second}, absent={first})
    isolation.reflects_own_writes(_listing(side.api, user, search="Ryw"), present={second}, absent={first})


@pytest.mark.requirement("DATA-3")
def test_concurrent_creates_get_distinct_patient_ids(target, api, profile, sides):
    side = sides.new()
    user = side.accounts.new()
    planned = [operation_request(profile, "create_patient", token=user.access_token, json={"name": f"Burst {n}"})
               for n in range(CREATE_BURST)]  # fmt: skip

    exchanges = send_concurrently(target.base_url, planned, concurrency=CREATE_BURST,
                                  warm_path=profile.operation("health").path, local_address=side.address)  # fmt: skip
    for exchange in exchanges:
        api.record(exchange)

    isolation.patient_ids_distinct(exchanges)
