"""Data access (DATA-4; contract §1, §4).

DATA-4: a search term is a literal substring, whatever regex or LIKE
metacharacters it holds, and a query operator object (``{"$ne": null}``)
where the schema wants a string or a number is a validation error, never a
query. (DATA-1..3 live in ``checks/isolation.py``.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from conformance.exchange import Exchange
from conformance.outcomes import NotApplicable, Violation

ID_FIELD = "id"
VALIDATION_STATUS = 422


def search_is_literal(exchange: Exchange, *, term: str, created: Mapping[str, str]) -> None:
    """DATA-4: a search for ``term`` returns exactly the patients whose name contains it literally.

    ``created`` maps the id of each patient the test created to its name; the
    account must have no other patients. Letter case is ignored (searches may
    be case-insensitive); metacharacters are not, which is the point.
    """
    __tracebackhide__ = True
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
    items = listed_items(exchange)
    if items is None:
        return [f"answered {exchange.response.status} {_kind(exchange.response.json)}, not a list of patients"]
    returned = [str(item.get(ID_FIELD)) for item in items]
    wanted = {pid for pid, name in created.items() if term.lower() in name.lower()}
    extra = [created.get(pid, pid) for pid in returned if pid not in wanted]
    absent = [name for pid, name in created.items() if pid in wanted and pid not in returned]
    problems = []
    if extra:
        problems.append(f"returned {len(extra)} patient(s) whose name does not contain it: {_names(extra)}")
    if absent:
        problems.append(f"left out {len(absent)} whose name contains it: {_names(absent)}")
    return problems


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


def listed_items(exchange: Exchange) -> list[dict[str, Any]] | None:
    """The patients of a 200 listing (a JSON list of objects), else ``None``."""
    body = exchange.response.json
    if exchange.response.status != 200 or not isinstance(body, list):
        return None
    if not all(isinstance(item, dict) for item in body):
        return None
    return body


def _request_json(exchange: Exchange) -> Any:
    try:
        return json.loads(exchange.request.body)
    except (ValueError, UnicodeDecodeError):
        return None


def _names(names: Any) -> str:
    return ", ".join(repr(n) for n in names)


def _kind(body: Any) -> str:
    return "with a list" if isinstance(body, list) else f"with a {type(body).__name__} body"
