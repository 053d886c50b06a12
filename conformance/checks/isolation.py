"""Data isolation between users (DATA-1 .. DATA-3; DATA-4, literal search, is ``data.py``).

The scenarios know which patient ids each of their throwaway users created;
the checks compare what a listing or a read returned against that knowledge.
A listing is a JSON list of patient objects (a JSON object holding exactly one
list, such as ``{"items": [...]}``, is read the same way).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from conformance.body import error_code
from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable, Violation


def listed_patients(listing: Exchange) -> list[dict[str, Any]]:
    """The patient objects of a 2xx listing; NotApplicable when it is not a successful listing."""
    response = listing.response
    if not 200 <= response.status < 300:
        raise NotApplicable(f"the listing answered {response.status}, not a list of patients")
    body = response.json
    if isinstance(body, dict):
        lists = [value for value in body.values() if isinstance(value, list)]
        body = lists[0] if len(lists) == 1 else None
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise NotApplicable("the listing body is not a list of patient objects")
    return body


def only_own_patients(
    listing: Exchange,
    *,
    own_ids: Collection[str],
    foreign_ids: Collection[str],
    owner_id: str | None = None,
    owners: Mapping[str, str] | None = None,
    interleaving: str | None = None,
) -> None:
    """DATA-1: a listing or search shows none of another user's patients.

    ``foreign_ids`` are ids of patients created by other users of the run;
    ``owner_id``, when given, is the caller's user id, and every listed
    patient's ``user_id`` must equal it. ``owners`` (patient id -> who made it)
    and ``interleaving`` (how the concurrent requests were sent) only make the
    failure say whose data came back, and when.
    """
    __tracebackhide__ = True
    patients = listed_patients(listing)
    leaked = [p for p in patients if str(p.get("id")) in set(foreign_ids)]
    if owner_id is not None:
        leaked += [p for p in patients if "user_id" in p and str(p["user_id"]) != str(owner_id) and p not in leaked]
    if leaked:
        owners = owners or {}

        def whose(p: dict[str, Any]) -> str:
            pid = str(p.get("id"))
            return f"{pid} ({owners[pid]})" if pid in owners else f"{pid} (user {p.get('user_id')})"

        sample = ", ".join(whose(p) for p in leaked[:3]) + (f" and {len(leaked) - 3} more" if len(leaked) > 3 else "")
        own_listed = sum(1 for p in patients if str(p.get("id")) in set(own_ids))
        raise Violation(
            "DATA-1",
            expected=f"only the caller's patients ({len(own_ids)} created by this user)",
            actual=f"{len(leaked)} patient(s) of another user: {sample}; {own_listed} of the caller's own"
            + (f"; {interleaving}" if interleaving else ""),
            exchange=listing,
            hint="scope every query and every cache key by the authenticated user's id, taken from this "
            "request's own state, never from anything shared by concurrent requests",
        )


def foreign_patient_not_found(exchange: Exchange, *, interleaving: str | None = None) -> None:
    """DATA-1: reading another user's patient by id is 404, as if it did not exist."""
    __tracebackhide__ = True
    status = exchange.response.status
    if status == 404:
        return
    code = f" with code {error_code(exchange)}" if error_code(exchange) else ""
    if 200 <= status < 300:
        actual = f"SHOWN: another user's patient was returned ({status})"
    elif status < 500:
        actual = f"{status}{code}: refused, but not as missing (the answer tells the patient exists)"
    else:
        actual = f"{status}{code}"
    raise Violation(
        "DATA-1",
        expected="404 NOT_FOUND for another user's patient",
        actual=actual + (f"; {interleaving}" if interleaving else ""),
        exchange=exchange,
        hint="look the patient up by (id, user_id), never by id alone",
    )


def foreign_write_refused(attempt: Exchange, owner_after: Exchange, *, before: Mapping[str, Any], write: str) -> None:
    """DATA-1: another user's update or delete of a patient is 404 and changes nothing.

    ``before`` is the patient as its owner read it before the attempt, and
    ``owner_after`` the owner's read of it right after: the patient must still
    be there with the same fields (``updated_at`` included). A 404 that changed
    the patient all the same is a failure; so is any other answer, a 2xx first.
    """
    __tracebackhide__ = True
    status = attempt.response.status
    after = owner_after.response.json if owner_after.response.status == 200 else None
    if owner_after.response.status == 404:
        damage: str | None = "the owner's patient is gone (the owner's read is now 404)"
    elif not isinstance(after, dict):
        raise NotApplicable(f"the owner's read after the attempt answered {owner_after.response.status}")
    else:
        changed = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
        damage = f"the owner's patient changed ({', '.join(changed)})" if changed else None
    if status == 404 and damage is None:
        return
    code = f" with code {error_code(attempt)}" if error_code(attempt) else ""
    if 200 <= status < 300:
        actual = f"ACCEPTED: another user's {write} answered {status}"
    elif status == 404:
        actual = f"404{code}, as if missing"
    elif status < 500:
        actual = f"{status}{code}: refused, but not as missing (the answer tells the patient exists)"
    else:
        actual = f"{status}{code}"
    raise Violation(
        "DATA-1",
        expected=f"404 NOT_FOUND for another user's {write}, and the owner's patient unchanged",
        actual=actual + (f"; {damage}" if damage else "; the owner's patient unchanged"),
        exchange=attempt,
        hint=f"look the patient up by (id, user_id) for the {write} too, never by id alone",
    )


def reflects_own_writes(
    listing: Exchange,
    *,
    present: Iterable[str] = (),
    absent: Iterable[str] = (),
    fields: Mapping[str, Mapping[str, Any]] | None = None,
    interleaving: str | None = None,
) -> None:
    """DATA-2: the user's next listing shows their own creates, updates (``fields`` by id) and deletes."""
    __tracebackhide__ = True
    by_id = {str(p.get("id")): p for p in listed_patients(listing)}
    problems = [f"created patient {pid} missing" for pid in present if pid not in by_id]
    problems += [f"deleted patient {pid} still listed" for pid in absent if pid in by_id]
    for pid, expected_fields in (fields or {}).items():
        listed = by_id.get(pid)
        if listed is None:
            problems.append(f"updated patient {pid} missing")
            continue
        problems += [
            f"patient {pid} {name}={listed.get(name)!r}, updated to {value!r}"
            for name, value in expected_fields.items()
            if listed.get(name) != value
        ]
    if problems:
        raise Violation(
            "DATA-2",
            expected="the listing reflects the user's own creates, updates and deletes",
            actual="; ".join(problems[:5])
            + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "")
            + (f"; {interleaving}" if interleaving else ""),
            exchange=listing,
            hint="invalidate the user's cached listings on every write",
        )


def patient_ids_distinct(creates: Iterable[Exchange], *, interleaving: str | None = None) -> None:
    """DATA-3: concurrent creates of one user all succeed, with pairwise distinct ``patient_id``."""
    __tracebackhide__ = True
    seen: dict[str, Exchange] = {}
    for exchange in creates:
        response = exchange.response
        if response.status >= 500:
            raise Violation(
                "DATA-3",
                expected="every concurrent create succeeds",
                actual=f"{response.status}"
                + (f" with code {error_code(exchange)}" if error_code(exchange) else "")
                + (f"; {interleaving}" if interleaving else ""),
                exchange=exchange,
                hint="allocate patient_id with an atomic counter instead of failing on a uniqueness conflict",
            )
        if not 200 <= response.status < 300:
            continue
        body = response.json
        patient_id = body.get("patient_id") if isinstance(body, dict) else None
        if patient_id is None:
            continue
        if patient_id in seen:
            raise Violation(
                "DATA-3",
                expected="distinct patient_id for every created patient",
                actual=f"patient_id {patient_id!r} given to two patients "
                f"({_field(seen[patient_id], 'id')} and {_field(exchange, 'id')})"
                + (f"; {interleaving}" if interleaving else ""),
                exchange=exchange,
                hint="derive patient_id from an atomic per-user counter, never from count() + 1",
            )
        seen[patient_id] = exchange
    if len(seen) < 2:
        raise NotApplicable(f"only {len(seen)} create(s) succeeded with a patient_id: nothing to compare")


#: A patient_id (§3): ``PT``, the year and month of its creation (UTC), a sequence of at least 3 digits.
PATIENT_ID = re.compile(r"PT(\d{6})(\d{3,})")


def patient_ids_well_formed(creates: Iterable[Exchange], *, now: datetime.datetime | None = None) -> None:
    """DATA-3: every ``patient_id`` created is PT + YYYYMM (UTC) + at least 3 digits.

    The month is the UTC month of the check, or of the day before or after
    (a run that crosses a month boundary, a clock a little off).
    """
    __tracebackhide__ = True
    now = now or datetime.datetime.now(datetime.UTC)
    months = {(now + datetime.timedelta(days=d)).strftime("%Y%m") for d in (-1, 0, 1)}
    for exchange in creates:
        body = exchange.response.json if 200 <= exchange.response.status < 300 else None
        patient_id = body.get("patient_id") if isinstance(body, dict) else None
        if patient_id is None:
            continue
        match = PATIENT_ID.fullmatch(str(patient_id))
        if match is None or match.group(1) not in months:
            raise Violation(
                "DATA-3",
                expected=f"patient_id of the form PT + YYYYMM (UTC, {' or '.join(sorted(months))}) + at least 3 digits",
                actual=f"patient_id {patient_id!r}",
                exchange=exchange,
                hint="format the id as PT, the UTC year and month of creation, and a per-user sequence of 3+ digits",
            )


def _field(exchange: Exchange, name: str) -> Any:
    body = exchange.response.json
    return body.get(name) if isinstance(body, dict) else None
