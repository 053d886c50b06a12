"""Isolation of users' patients under concurrency (DATA-1 .. DATA-3).

Each example takes its users (``accounts.ordinary``: new ones, or from one
address at a scarce registration limit the run's pool of ordinary accounts,
which may own patients of earlier tests) and gives each a seed patient; all of
this example's patients carry one name fragment, so that a search not scoped
to the caller would find the others'. Every check compares against the ids
this example made, and the caller's ``user_id``, so what a pool user owns from
before is still the caller's and misjudges nothing.
The plan's creates, listings, searches and cross-user reads run concurrently
(``crossings.py``); every listing is then judged against the ids each user was
given, and a failure names the interleaving. Besides Hypothesis' random plans,
pinned dense plans run every time: three users listing, searching and reading
with 30 requests in flight on warm caches, and the same right after writes --
the shape in which a per-process "current user" in a cache key swaps lists,
which requests one at a time never show.
"""

from __future__ import annotations

import secrets

import pytest
from hypothesis import example, given, note

from conformance.checks import isolation
from conformance.outcomes import Inconclusive
from scenarios.kit.burst import operation_request, send_concurrently
from scenarios.kit.crossings import carry_out, create_patient, dense_plan, judge
from scenarios.kit.strategies import isolation_plans, pinned_in_budget, scarce

#: Concurrent creates of one user (DATA-3).
CREATE_BURST = 24
#: The pinned dense plans (see the module docstring).
DENSE_WARM = dense_plan(users=3, requests=30, warm=True)
DENSE_AFTER_WRITES = dense_plan(users=3, requests=30, warm=True, creates_per_user=2)


def _listing(api, account, **params):
    return api.call("list_patients", token=account.access_token, params=params or None)


@pytest.mark.requirement("DATA-1", "DATA-2", "DATA-3")
@pytest.mark.clause(
    "DATA-1/list",
    "DATA-1/get",
    "DATA-1/search",
    "DATA-1/under-concurrency",
    "DATA-1/right-after-writes",
    "DATA-2/create",
    "DATA-3/concurrent-creates",
)
def test_users_only_ever_see_their_own_patients(target, profile, sides, conformance_note):
    judged: list[int] = []
    # One address at the declared registration limit: every generated plan costs up to three new users, so only
    # the two pinned dense plans run there (6 registrations, not dozens).
    pinned_only = not sides.sources.enabled and scarce(profile.rate_limits.register)
    if pinned_only:
        conformance_note("single source address: the two pinned dense plans only, no generated plans")

    @given(plan=isolation_plans())
    @pinned_in_budget(2, pinned_only=pinned_only)
    @example(plan=DENSE_WARM)
    @example(plan=DENSE_AFTER_WRITES)
    def run(plan):
        note(f"plan: {plan!r}")  # this Hypothesis prints drawn arguments empty in "Failing test case"
        judged.append(judge(carry_out(plan, sides.new(), profile, target.base_url)))

    run()
    if not any(judged):
        raise Inconclusive("no listing answered with a list of patients")


@pytest.mark.requirement("DATA-1")
@pytest.mark.parametrize("write", ["update", "delete"])
@pytest.mark.clause("DATA-1/{write}")
def test_another_users_patient_cannot_be_updated_or_deleted(sides, write):
    """The write clauses of DATA-1: the reads of another's patient being 404 says nothing of the writes.

    The owner reads the patient before and after the other user's attempt, so a
    write answered 404 that changed the patient all the same is caught too.
    """
    side = sides.new()
    owner, other = side.accounts.ordinary(2)  # neither is logged out or changed; the owner's patient is its own
    patient = create_patient(side.api, owner, "Wri Owned")
    before = side.api.call("get_patient", token=owner.access_token, path_params={"id": patient})
    if before.response.status != 200 or not isinstance(before.response.json, dict):
        raise Inconclusive(f"the owner cannot read their own patient: {before.label} answered {before.response.status}")
    if write == "update":
        attempt = side.api.call(
            "update_patient", token=other.access_token, path_params={"id": patient}, json={"name": "Wri Taken"}
        )
    else:
        attempt = side.api.call("delete_patient", token=other.access_token, path_params={"id": patient})
    after = side.api.call("get_patient", token=owner.access_token, path_params={"id": patient})
    isolation.foreign_write_refused(attempt, after, before=before.response.json, write=write)


@pytest.mark.requirement("DATA-2")
@pytest.mark.clause("DATA-2/create", "DATA-2/update", "DATA-2/delete")
def test_listing_reflects_the_users_own_writes(api, sides):
    """A pool user may list patients of earlier tests too: only this test's own ids and names are judged."""
    side = sides.new()
    (user,) = side.accounts.ordinary(1)
    word = f"Ryw{secrets.token_hex(2)}"  # this test's own search term, whatever the user owns from before
    _listing(side.api, user)  # a first listing, which a cache may keep
    _listing(side.api, user, search=word)

    first = create_patient(side.api, user, f"{word} First")
    isolation.reflects_own_writes(_listing(side.api, user), present={first})
    isolation.reflects_own_writes(_listing(side.api, user, search=word), present={first})

    renamed = f"{word} Renamed"
    updated = side.api.call(
        "update_patient", token=user.access_token, path_params={"id": first}, json={"name": renamed}
    )
    if not 200 <= updated.response.status < 300:
        raise Inconclusive(f"cannot update a patient: {updated.label} answered {updated.response.status}")
    isolation.reflects_own_writes(_listing(side.api, user), fields={first: {"name": renamed}})

    second = create_patient(side.api, user, f"{word} Second")
    deleted = side.api.call("delete_patient", token=user.access_token, path_params={"id": first})
    if not 200 <= deleted.response.status < 300:
        raise Inconclusive(f"cannot delete a patient: {deleted.label} answered {deleted.response.status}")
    isolation.reflects_own_writes(_listing(side.api, user), present={second}, absent={first})
    isolation.reflects_own_writes(_listing(side.api, user, search=word), present={second}, absent={first})


@pytest.mark.requirement("DATA-3")
@pytest.mark.clause("DATA-3/concurrent-creates", "DATA-3/format")
def test_concurrent_creates_get_distinct_patient_ids(target, api, profile, sides):
    side = sides.new()
    user = side.accounts.new()  # not the pool's: its 24 patients would lengthen every later listing of a pool user
    planned = [
        operation_request(profile, "create_patient", token=user.access_token, json={"name": f"Burst {n}"})
        for n in range(CREATE_BURST)
    ]

    exchanges = send_concurrently(
        target.base_url,
        planned,
        concurrency=CREATE_BURST,
        warm_path=profile.operation("health").path,
        local_address=side.address,
    )
    for exchange in exchanges:
        api.record(exchange)

    isolation.patient_ids_distinct(exchanges)
    isolation.patient_ids_well_formed(exchanges)
