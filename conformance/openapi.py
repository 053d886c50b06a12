"""Reading the SUT's published OpenAPI 3 document: the parameters an operation declares, and their types.

The suites probe the channels a SUT says it offers (DATA-4 searches every
string filter of the patient list), so they read the document the SUT serves
rather than assume the reference's. Pure
functions over the parsed document; a document that says nothing useful gives
empty answers, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Schema keywords whose alternatives all describe the value (``anyOf: [string, null]``).
COMBINATORS = ("anyOf", "oneOf", "allOf")


@dataclass(frozen=True)
class Parameter:
    """One declared parameter: where it goes and what its schema allows."""

    name: str
    location: str  # "query", "path", "header", "cookie"
    types: frozenset[str]  # JSON types the schema allows, "null" included
    format: str | None = None
    pattern: str | None = None

    @property
    def is_string(self) -> bool:
        return "string" in self.types


def parameters(document: Any, method: str, path: str, *, location: str | None = None) -> list[Parameter]:
    """The parameters declared for ``method path`` (path-level ones included), optionally of one location.

    ``path`` is matched as a template: ``/api/patients/{id}`` finds ``/api/patients/{patient_id}``.
    """
    item = path_item(document, path)
    if item is None:
        return []
    operation = item.get(method.lower())
    own = operation.get("parameters") if isinstance(operation, dict) else None
    declared = [*_list(item.get("parameters")), *_list(own)]
    found: dict[tuple[str, str], Parameter] = {}
    for raw in declared:
        parameter = _resolve(document, raw)
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            continue
        schema = _resolve(document, parameter.get("schema") or {})
        found[(parameter.get("in", ""), parameter["name"])] = Parameter(
            name=parameter["name"],
            location=str(parameter.get("in", "")),
            types=frozenset(schema_types(document, schema)),
            format=_first(document, schema, "format"),
            pattern=_first(document, schema, "pattern"),
        )  # an operation's parameter overrides the path item's of the same name and location
    return [p for p in found.values() if location is None or p.location == location]


def path_item(document: Any, path: str) -> dict[str, Any] | None:
    """The document's path item for ``path``, its placeholders' names ignored."""
    paths = document.get("paths") if isinstance(document, dict) else None
    if not isinstance(paths, dict):
        return None
    if isinstance(paths.get(path), dict):
        return paths[path]
    wanted = _template(path)
    return next((item for key, item in paths.items() if _template(key) == wanted and isinstance(item, dict)), None)


def schema_types(document: Any, schema: Any, _depth: int = 0) -> set[str]:
    """The JSON types ``schema`` allows (``nullable`` and 3.1 type lists included); empty when it says none."""
    schema = _resolve(document, schema)
    if not isinstance(schema, dict) or _depth > 10:
        return set()
    declared = schema.get("type")
    types = set(declared) if isinstance(declared, list) else ({declared} if isinstance(declared, str) else set())
    if schema.get("nullable") is True:
        types.add("null")
    for keyword in COMBINATORS:
        for alternative in _list(schema.get(keyword)):
            types |= schema_types(document, alternative, _depth + 1)
    return types


def _first(document: Any, schema: Any, keyword: str, _depth: int = 0) -> str | None:
    """``keyword`` of the schema or of its first alternative that has it."""
    schema = _resolve(document, schema)
    if not isinstance(schema, dict) or _depth > 10:
        return None
    if isinstance(schema.get(keyword), str):
        return schema[keyword]
    for combinator in COMBINATORS:
        for alternative in _list(schema.get(combinator)):
            value = _first(document, alternative, keyword, _depth + 1)
            if value:
                return value
    return None


def _resolve(document: Any, value: Any, _depth: int = 0) -> Any:
    """``value`` with a local ``$ref`` (``#/components/...``) followed."""
    if not isinstance(value, Mapping) or "$ref" not in value or _depth > 10:
        return value
    ref = value["$ref"]
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return {}
    target: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        target = target.get(part) if isinstance(target, Mapping) else None
    return _resolve(document, target, _depth + 1) if target is not None else {}


def _template(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/") or "/")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
