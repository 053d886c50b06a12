"""Several users' creates, listings, searches and reads in one concurrent burst, judged for DATA-1 .. DATA-3.

Shared by ``test_isolation.py`` and by ``python -m scenarios.measure.isolation_race``,
which measures how often a plan catches a SUT. :func:`carry_out` makes the
plan's users (ordinary accounts, each with a seed patient; every name carries one fragment, so a
search not scoped to the caller would find the others'), warms their listings
when the plan says so, sends the burst, and lists each user's patients once
more, one at a time, right after it. :func:`judge` then checks every listing
against the ids each user was given, and names the interleaving: which request
of the burst, by whom, in which send order, got whose patients.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from conformance.checks import isolation
from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, NotApplicable
from conformance.profile import Profile
from scenarios.kit.burst import operation_request, send_concurrently
from scenarios.kit.helpers import created_id
from scenarios.kit.strategies import IsolationPlan

LETTER = {"create": "C", "list": "L", "search": "S", "get_foreign": "G"}


@dataclass
class Carried:
    """What a plan did: its users, whose patient is whose, the burst's answers and the listings after it."""

    plan: IsolationPlan
    users: list[Any]
    fragment: str
    own: dict[int, set[str]]
    seeds: dict[int, str]
    burst: list[Exchange] = field(default_factory=list)
    after: list[tuple[int, str, Exchange]] = field(default_factory=list)  # (user, "list" or "search", listing)

    @property
    def owners(self) -> dict[str, str]:
        return {pid: f"user {i}'s" for i, ids in self.own.items() for pid in ids}

    def interleaving(self, position: int | None = None) -> str:
        """How the burst was sent; ``position`` (1-based) marks the request the failure is about."""
        plan = self.plan
        sent = " ".join(f"{n}:u{i}{LETTER[a]}" for n, (i, a) in enumerate(plan.steps, start=1))
        head = (
            f"{len(plan.steps)} requests of {plan.users} users, {plan.concurrency} in flight, caches "
            f"{'warmed' if plan.warm else 'cold'}"
        )
        if position is None:
            where = "a listing made one at a time right after the burst"
        else:
            user, action = plan.steps[position - 1]
            where = f"request #{position} of the burst (user {user}, {action})"
        return (
            f"{where}; burst: {head}, sent in this order (u<user><C create, L list, S search, G get another's>): {sent}"
        )


def create_patient(api: Any, account: Any, name: str) -> str:
    exchange = api.call("create_patient", token=account.access_token, json={"name": name})
    patient_id = created_id(exchange)
    if patient_id is None:
        raise Inconclusive(f"cannot create a patient: {exchange.label} answered {exchange.response.status}")
    return patient_id


def carry_out(plan: IsolationPlan, side: Any, profile: Profile, base_url: str) -> Carried:
    """Take the users and make the seeds, warm the caches if asked, send the burst, list once more; record every
    exchange.

    The users are ordinary accounts (``accounts.ordinary``): from one address at a scarce registration limit,
    the run's pool, whose users may own patients of earlier examples and tests. Those are still theirs (the
    ``user_id`` check passes them), and no other user's ids count as foreign but this plan's own, so they
    misjudge nothing; the listings only grow by a few patients.
    """
    users = side.accounts.ordinary(plan.users)
    fragment = f"Iso{secrets.token_hex(3)}"
    own = {i: {create_patient(side.api, user, f"{fragment} seed {i}")} for i, user in enumerate(users)}
    carried = Carried(plan, users, fragment, own, {i: next(iter(ids)) for i, ids in own.items()})
    if plan.warm:
        for user in users:
            side.api.call("list_patients", token=user.access_token)
            side.api.call("list_patients", token=user.access_token, params={"search": fragment})
    planned = []
    for n, (i, action) in enumerate(plan.steps):
        token = users[i].access_token
        if action == "create":
            planned.append(
                operation_request(profile, "create_patient", token=token, json={"name": f"{fragment} user {i} no {n}"})
            )
        elif action == "list":
            planned.append(operation_request(profile, "list_patients", token=token))
        elif action == "search":
            planned.append(operation_request(profile, "list_patients", token=token, params={"search": fragment}))
        else:
            other = carried.seeds[(i + 1) % plan.users]
            planned.append(operation_request(profile, "get_patient", token=token, path_params={"id": other}))
    health = profile.operation("health").path
    carried.burst = send_concurrently(
        base_url, planned, concurrency=plan.concurrency, warm_path=health, local_address=side.address
    )
    for exchange in carried.burst:
        side.api.record(exchange)
    for (i, action), exchange in zip(plan.steps, carried.burst):
        if action == "create" and created_id(exchange):
            own[i].add(created_id(exchange))
    for i, user in enumerate(users):  # right after the writes
        carried.after.append((i, "list", side.api.call("list_patients", token=user.access_token)))
        carried.after.append(
            (i, "search", side.api.call("list_patients", token=user.access_token, params={"search": fragment}))
        )
    return carried


def judge(carried: Carried) -> int:
    """DATA-1 (no other user's patient, in any listing or read), DATA-3 (distinct patient_ids per user), then
    DATA-2 (the listings after the burst show every own create); the number of listings judged."""
    __tracebackhide__ = True
    plan, own, users = carried.plan, carried.own, carried.users
    listings = [
        (i, e, n)
        for n, ((i, action), e) in enumerate(zip(plan.steps, carried.burst), start=1)
        if action in ("list", "search")
    ]
    listings += [(i, e, None) for i, _, e in carried.after]
    judged = 0
    for i, listing, position in listings:
        foreign = set().union(*(ids for j, ids in own.items() if j != i))
        try:
            isolation.only_own_patients(
                listing,
                own_ids=own[i],
                foreign_ids=foreign,
                owner_id=users[i].id,
                owners=carried.owners,
                interleaving=carried.interleaving(position),
            )
        except NotApplicable:
            continue
        judged += 1
    for n, ((_, action), exchange) in enumerate(zip(plan.steps, carried.burst), start=1):
        if action == "get_foreign":
            isolation.foreign_patient_not_found(exchange, interleaving=carried.interleaving(n))
    for i in range(plan.users):
        creates = [e for (j, action), e in zip(plan.steps, carried.burst) if j == i and action == "create"]
        try:
            isolation.patient_ids_distinct(creates, interleaving=carried.interleaving())
        except NotApplicable:
            pass
    for i, _, listing in carried.after:
        try:
            isolation.reflects_own_writes(listing, present=own[i], interleaving=carried.interleaving())
        except NotApplicable:
            pass
    return judged


def dense_plan(
    users: int = 3, requests: int = 30, *, warm: bool = True, creates_per_user: int = 0, concurrency: int | None = None
) -> IsolationPlan:
    """A pinned dense plan: ``creates_per_user`` creates of every user first, then listings, searches and
    reads of another's patient, round-robin over the users, all ``requests`` in flight at once."""
    steps = [(i, "create") for _ in range(creates_per_user) for i in range(users)]
    reads = ("list", "list", "search", "get_foreign")
    steps += [(n % users, reads[(n // users) % len(reads)]) for n in range(requests - len(steps))]
    return IsolationPlan(users, tuple(steps), concurrency or len(steps), warm)
