"""Data access (DATA-4; contract §1, §4).

DATA-4: a search term is a literal substring, whatever regex or LIKE
metacharacters it holds, and so is the value of any other string filter
(matched exactly or as a substring); a query operator object
(``{"$ne": null}``) where the schema wants a string or a number is a
validation error, never a query. Where a framework may build such objects
from a query string or a form (``search[$ne]=x``, ``password[$ne]=x``), the
answer is judged by the data that came back: refused with 422, or the
bracketed parameter taken literally or ignored, never applied as an operator.
(DATA-1..3 live in ``checks/isolation.py``.)

Attribution: a probe that got no listing back blames the metacharacter or the
operator only once the same listing without it is shown to answer one
(:func:`plain_value`, :func:`listing_control_holds`); when the listing fails
without them too, the failure is the listing's own and DATA-4 is inconclusive.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import parse_qsl

from conformance.exchange import Exchange
from conformance.outcomes import Inconclusive, NotApplicable, Violation

ID_FIELD = "id"
VALIDATION_STATUS = 422


def search_is_literal(exchange: Exchange, *, term: str, created: Mapping[str, str], refusable: bool = False) -> None:
    """DATA-4: a search for ``term`` returns exactly the patients whose name contains it literally.

    ``created`` maps the id of each patient the test created to its name; the
    account must have no other patients. Letter case is ignored (searches may
    be case-insensitive); metacharacters are not, which is the point. With
    ``refusable`` (a term no schema need accept, such as NUL) a 422 passes too.
    """
    __tracebackhide__ = True
    if refusable and exchange.response.status == VALIDATION_STATUS:
        return
    if listed_items(exchange) is None:
        raise Violation(
            "DATA-4",
            expected=f"200 with a list of patients for the search {term!r}",
            actual=f"{exchange.response.status} {_kind(exchange.response.json)}",
            exchange=exchange,
            hint="escape the term for the query language (LIKE: % _ and the escape character; regex: re.escape)",
        )
    problems = search_problems(exchange, term=term, created=created)
    if problems:
        wanted = sorted(name for name in created.values() if term.lower() in name.lower())
        raise Violation(
            "DATA-4",
            expected=f"the search {term!r} matches literally: {_names(wanted) or 'none'}",
            actual="; ".join(problems),
            exchange=exchange,
            hint="the term reaches the query as a pattern; escape LIKE wildcards (ESCAPE '\\') or regex syntax",
        )


def search_problems(exchange: Exchange, *, term: str, created: Mapping[str, str]) -> list[str]:
    """What keeps a search answer from being exactly the literal matches among ``created`` (empty: none)."""
    matching = {pid for pid, name in created.items() if term.lower() in name.lower()}
    return _listing_problems(
        exchange,
        created,
        allowed=matching,
        required=matching,
        extra_says="whose name does not contain it",
        absent_says="whose name contains it",
    )


def _listing_problems(
    exchange: Exchange,
    values: Mapping[str, str],
    *,
    allowed: Collection[str],
    required: Collection[str],
    extra_says: str,
    absent_says: str,
) -> list[str]:
    """What keeps a list answer from holding every ``required`` patient and none outside ``allowed``."""
    items = listed_items(exchange)
    if items is None:
        return [f"answered {exchange.response.status} {_kind(exchange.response.json)}, not a list of patients"]
    returned = [str(item.get(ID_FIELD)) for item in items]
    extra = [values.get(pid, pid) for pid in returned if pid not in allowed]
    absent = [values[pid] for pid in values if pid in required and pid not in returned]
    problems = []
    if extra:
        problems.append(f"returned {len(extra)} patient(s) {extra_says}: {_names(extra)}")
    if absent:
        problems.append(f"left out {len(absent)} {absent_says}: {_names(absent)}")
    return problems


def filter_is_literal(
    exchange: Exchange, *, parameter: str, term: str, values: Mapping[str, str], refusable: bool = False
) -> None:
    """DATA-4: a filter ``parameter=term`` matches the term literally, exactly or as a substring.

    ``values`` maps the id of each patient the test created to the value of
    the filtered field. The answer must hold every patient whose value equals
    the term (either semantics returns those) and none whose value does not
    contain it (which only a wildcard or a pattern returns); letter case is ignored.
    """
    __tracebackhide__ = True
    if refusable and exchange.response.status == VALIDATION_STATUS:
        return
    problems = filter_problems(exchange, term=term, values=values)
    if problems:
        equal = sorted(v for v in values.values() if v.lower() == term.lower())
        raise Violation(
            "DATA-4",
            expected=f"the filter {parameter}={term!r} matches literally: {_names(equal) or 'none'}"
            + " (and, for a substring filter, the values containing it)",
            actual="; ".join(problems),
            exchange=exchange,
            hint=f"compare {parameter} with = or an escaped LIKE/regex, never the raw term as a pattern",
        )


def filter_problems(exchange: Exchange, *, term: str, values: Mapping[str, str]) -> list[str]:
    """What keeps a filtered list from being a literal match (exact or substring) among ``values``."""
    allowed = {pid for pid, value in values.items() if term.lower() in value.lower()}
    required = {pid for pid, value in values.items() if value.lower() == term.lower()}
    return _listing_problems(
        exchange,
        values,
        allowed=allowed,
        required=required,
        extra_says="whose value does not contain it",
        absent_says="whose value equals it",
    )


def query_operator_not_applied(
    exchange: Exchange,
    *,
    operator: str,
    created: Mapping[str, str],
    literal: Collection[str],
    applied: Collection[str],
) -> None:
    """DATA-4: a bracketed query parameter (``search[$ne]=x``) is refused (422), taken literally or ignored.

    ``created`` maps the id of each of the account's patients to its name;
    ``literal`` are the ids a literal reading of the value returns (a framework
    that flattens ``search[$ne]`` to ``search``), ``applied`` the ids the
    operator would select as a query. Ignoring the parameter returns every
    patient, which is why the test picks operator values that select a proper
    subset: only then does the data tell an applied operator from an ignored one.
    """
    __tracebackhide__ = True
    status = exchange.response.status
    if status == VALIDATION_STATUS:
        return
    items = listed_items(exchange)
    if items is None:
        raise Violation(
            "DATA-4",
            expected=f"{VALIDATION_STATUS}, or 200 with the patients a literal reading returns",
            actual=f"{status} {_kind(exchange.response.json)}",
            exchange=exchange,
            hint="validate query parameters as strings before they reach the query",
        )
    returned = {str(item.get(ID_FIELD)) for item in items}
    everything, literal, applied = set(created), set(literal), set(applied)
    if returned in (everything, literal):
        return
    if returned == applied:
        actual = f"returned exactly what {operator} selects as a query: {_names(created[i] for i in sorted(applied))}"
    else:
        foreign = sorted(returned - everything)
        actual = f"returned {_names(created.get(i, i) for i in sorted(returned))}" + (
            f", {len(foreign)} of them not the account's" if foreign else ""
        )
    raise Violation(
        "DATA-4",
        expected=f"{VALIDATION_STATUS}, every patient (the parameter ignored) or the literal matches "
        f"({_names(created[i] for i in sorted(literal)) or 'none'}), never the operator applied",
        actual=actual,
        exchange=exchange,
        hint="parse query strings flat (no nested objects), or refuse anything but a string for the parameter",
    )


def operator_did_not_log_in(exchange: Exchange) -> None:
    """DATA-4: a login form holding an operator (``password[$ne]=x``) is refused (422) or fails as credentials.

    A 2xx or any token in the answer means the operator matched an account:
    the password was never checked.
    """
    __tracebackhide__ = True
    operators = [key for key, _ in _form_pairs(exchange) if "[$" in key]
    if not operators:
        raise NotApplicable("the form body holds no bracketed query operator")
    status, body = exchange.response.status, exchange.response.json
    tokens = isinstance(body, dict) and any(body.get(k) for k in ("access_token", "refresh_token"))
    if status < 300 or tokens or status >= 500:
        raise Violation(
            "DATA-4",
            expected=f"{VALIDATION_STATUS} (or the credentials refused): {', '.join(operators)} is not a query",
            actual=f"{status}" + (" with tokens: the operator logged in without the password" if tokens else ""),
            exchange=exchange,
            hint="parse form bodies flat and require the credential fields as strings",
        )


def operator_rejected(exchange: Exchange) -> None:
    """DATA-4: a JSON body holding a query operator object (``{"$ne": null}``) is answered 422."""
    __tracebackhide__ = True
    operators = operator_paths(_request_json(exchange))
    if not operators:
        raise NotApplicable("the request body holds no query operator")
    status = exchange.response.status
    if status != VALIDATION_STATUS:
        raise Violation(
            "DATA-4",
            expected=f"{VALIDATION_STATUS}: an operator object at {', '.join(operators)} is not a valid value",
            actual=f"{status}" + (" (the operator was taken as a query)" if status < 400 else ""),
            exchange=exchange,
            hint="declare the field as a string or number in the request schema so objects fail validation",
        )


def operator_paths(value: Any, path: str = "") -> list[str]:
    """Where ``value`` holds an object with a ``$``-prefixed key, as dotted paths."""
    found: list[str] = []
    if isinstance(value, dict):
        if any(isinstance(key, str) and key.startswith("$") for key in value):
            found.append(path or "(body)")
        for key, item in value.items():
            found += operator_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += operator_paths(item, f"{path}[{index}]")
    return found


def answered_a_listing(exchange: Exchange, *, refusable: bool = False) -> bool:
    """Whether a probe of the listing got one back (or, when ``refusable``, a 422): else its control is due."""
    return listed_items(exchange) is not None or (refusable and exchange.response.status == VALIDATION_STATUS)


def plain_value(value: str) -> str:
    """``value`` without the ingredient a DATA-4 probe adds: only its letters, digits and spaces, trimmed.

    What is left of a metacharacter term (``a%t`` -> ``at``, ``%`` -> empty, i.e. no parameter) or of an
    operator's value (``^Gus`` -> ``Gus``) is what any listing must answer, literal or not.
    """
    return "".join(c for c in value if c.isalnum() or c == " ").strip()


def listing_control_holds(probe: Exchange, control: Exchange, *, without: str) -> None:
    """Positive control of a DATA-4 probe that got no listing: ``control``, the same listing ``without`` the
    probe's ingredient, must answer one. If it fails too, the failure is the listing's own (a 500 of an
    unrelated bug), not the metacharacter's or the operator's: inconclusive, naming that failure."""
    __tracebackhide__ = True
    if listed_items(control) is not None:
        return
    raise Inconclusive(
        f"positive control failed: {probe.label} answered {probe.response.status}, but so does the same listing "
        f"{without} ({control.label} answered {control.response.status} {_kind(control.response.json)}): "
        "the failure is the listing's own, not DATA-4's"
    )


def operator_control_holds(probe: Exchange, control: Exchange) -> None:
    """Positive control of a JSON operator probe answered 5xx: ``control``, the same request with a plain value
    where the operator was, must not answer 5xx too; if it does, the failure is the endpoint's own (inconclusive)."""
    __tracebackhide__ = True
    if probe.response.status < 500 or control.response.status < 500:
        return
    raise Inconclusive(
        f"positive control failed: {probe.label} answered {probe.response.status}, but so does the same request "
        f"with a plain value ({control.response.status}): the failure is the endpoint's own, not DATA-4's"
    )


def listed_items(exchange: Exchange) -> list[dict[str, Any]] | None:
    """The patients of a 200 listing (a JSON list of objects), else ``None``."""
    body = exchange.response.json
    if exchange.response.status != 200 or not isinstance(body, list):
        return None
    if not all(isinstance(item, dict) for item in body):
        return None
    return body


def _form_pairs(exchange: Exchange) -> list[tuple[str, str]]:
    try:
        return parse_qsl(exchange.request.body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return []


def _request_json(exchange: Exchange) -> Any:
    try:
        return json.loads(exchange.request.body)
    except (ValueError, UnicodeDecodeError):
        return None


def _names(names: Any) -> str:
    return ", ".join(repr(n) for n in names)


def _kind(body: Any) -> str:
    return "with a list" if isinstance(body, list) else f"with a {type(body).__name__} body"
