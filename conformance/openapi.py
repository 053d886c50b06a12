"""Reading the SUT's published OpenAPI 3 document: its operations, their parameters and the types they allow.

The suites probe what the SUT *publishes*, not what the profile or the
reference says: DATA-4 searches every string filter of the patient list, API-1
fuzzes every documented operation. The profile only tells which logical
operation a documented one is (so that the safety rules, which speak of logical
operations, apply) and which one is never fuzzed; :func:`annotate_operations`
writes that into a copy of the document as vendor extensions, so that
schemathesis and :mod:`conformance.fuzz.extremes` see the same operations.

This is the one reader of the document: one ``$ref`` resolver (:func:`resolve`),
one path normalisation (:func:`route_shape`), one walk over a schema's
alternatives (:func:`schema_types`, :func:`schema_keyword`). Pure functions
over the parsed document; a published document is untrusted input, so a
reference cycle, a dangling or remote ``$ref`` or a malformed node gives an
empty answer, never an error or a hang.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.profile import Profile

#: Vendor extensions the suite writes into its copy of the OpenAPI document.
OPERATION_KEY = "x-conformance-operation"
EXCLUDED_KEY = "x-conformance-excluded"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
#: Schema keywords whose alternatives all describe the value (``anyOf: [string, null]``).
COMBINATORS = ("anyOf", "oneOf", "allOf")


@dataclass(frozen=True)
class DocumentedOperation:
    """One operation of the document, with the parameters of its path item merged in (resolved, raw)."""

    method: str  # upper case
    path: str
    definition: dict[str, Any]
    parameters: tuple[dict[str, Any], ...]

    @property
    def label(self) -> str:
        """``METHOD /path``, as schemathesis labels operations (and the failure messages name them)."""
        return f"{self.method} {self.path}"

    @property
    def logical_name(self) -> str | None:
        return self.definition.get(OPERATION_KEY)

    @property
    def excluded(self) -> bool:
        return bool(self.definition.get(EXCLUDED_KEY))


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


# -- references and paths -----------------------------------------------------------------------
def resolve(document: Any, node: Any) -> Any:
    """``node`` with its local ``$ref`` chain (``#/components/...``) followed to the end.

    A reference that cannot be followed (remote, dangling, or part of a cycle:
    every reference is followed at most once) resolves to ``{}``, a schema or
    parameter that says nothing.
    """
    seen: set[str] = set()
    while isinstance(node, Mapping) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
            return {}
        seen.add(ref)
        node = _pointer(document, ref[2:])
    return node


def _pointer(document: Any, pointer: str) -> Any:
    """The node at a JSON pointer (RFC 6901, without the leading ``#/``), or ``{}`` when there is none."""
    target = document
    for part in pointer.split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(target, Mapping) and part in target:
            target = target[part]
        elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
            target = target[int(part)]
        else:
            return {}
    return target


def route_shape(path: str) -> str:
    """``path`` with its placeholders' names and a trailing slash dropped: ``/a/{id}/`` and ``/a/{x}`` are one route."""
    return re.sub(r"\{[^/}]*\}", "{}", path.rstrip("/") or "/")


# -- operations and parameters ------------------------------------------------------------------
def operations(document: Any) -> Iterator[DocumentedOperation]:
    """Every operation of ``document``, in document order, parameters resolved and merged.

    An operation's own parameter overrides the path item's one of the same name
    and location (OpenAPI 3 §4.8.9.1).
    """
    paths = document.get("paths") if isinstance(document, Mapping) else None
    if not isinstance(paths, Mapping):
        return
    for path, item in paths.items():
        item = resolve(document, item)
        if not isinstance(item, dict):
            continue
        shared = [resolve(document, p) for p in _list(item.get("parameters"))]
        for method in HTTP_METHODS:
            definition = item.get(method)
            if not isinstance(definition, dict):
                continue
            merged: dict[tuple[str, str], dict[str, Any]] = {}
            for parameter in shared + [resolve(document, p) for p in _list(definition.get("parameters"))]:
                if isinstance(parameter, dict) and isinstance(parameter.get("name"), str) and "in" in parameter:
                    merged[(str(parameter["in"]), parameter["name"])] = parameter
            yield DocumentedOperation(method.upper(), str(path), definition, tuple(merged.values()))


def find_operation(document: Any, method: str, path: str) -> DocumentedOperation | None:
    """The documented ``method path``, matched by :func:`route_shape` (an exact path first)."""
    candidates = [op for op in operations(document) if op.method == method.upper()]
    exact = next((op for op in candidates if op.path == path), None)
    return exact or next((op for op in candidates if route_shape(op.path) == route_shape(path)), None)


def parameters(document: Any, method: str, path: str, *, location: str | None = None) -> list[Parameter]:
    """The parameters declared for ``method path`` (path-level ones included), optionally of one location.

    ``path`` is matched as a template: ``/api/patients/{id}`` finds ``/api/patients/{patient_id}``.
    """
    operation = find_operation(document, method, path)
    if operation is None:
        return []
    found = []
    for raw in operation.parameters:
        schema = raw.get("schema") or {}
        parameter = Parameter(
            name=raw["name"],
            location=str(raw["in"]),
            types=schema_types(document, schema),
            format=schema_keyword(document, schema, "format"),
            pattern=schema_keyword(document, schema, "pattern"),
        )
        if location is None or parameter.location == location:
            found.append(parameter)
    return found


def annotate_operations(document: dict[str, Any], profile: Profile, *, excluded: Iterable[str]) -> dict[str, Any]:
    """A copy of ``document`` whose operations name their logical operation of the profile.

    Operations are matched by method and :func:`route_shape`. The ``excluded``
    logical operations are flagged, for the fuzzer's filter and the extreme pass.
    """
    document = copy.deepcopy(document)
    by_route = {(op.method.lower(), route_shape(op.path)): op.name for op in profile.operations.values()}
    excluded = set(excluded)
    for path, item in (document.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            definition = item.get(method)
            name = by_route.get((method, route_shape(path)))
            if isinstance(definition, dict) and name is not None:
                definition[OPERATION_KEY] = name
                if name in excluded:
                    definition[EXCLUDED_KEY] = True
    return document


# -- schemas ------------------------------------------------------------------------------------
def alternatives(document: Any, schema: Any) -> Iterator[dict[str, Any]]:
    """``schema`` and every schema its combinators (``anyOf``/``oneOf``/``allOf``) name, resolved, depth first.

    Each schema is visited once, so a schema that names itself (a tree node's
    ``anyOf: [{$ref: Node}, ...]``) ends the walk instead of looping.
    """
    seen: set[int] = set()
    pending = [schema]
    while pending:
        node = resolve(document, pending.pop())
        if not isinstance(node, dict) or id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        for keyword in reversed(COMBINATORS):
            pending.extend(reversed(_list(node.get(keyword))))


def schema_types(document: Any, schema: Any) -> frozenset[str]:
    """The JSON types ``schema`` allows: ``type`` (3.1 lists too), ``nullable``, an untyped ``enum``'s values.

    Empty when the schema says nothing about the type.
    """
    types: set[str] = set()
    for node in alternatives(document, schema):
        declared = node.get("type")
        if isinstance(declared, str):
            types.add(declared)
        elif isinstance(declared, list):
            types.update(t for t in declared if isinstance(t, str))
        elif isinstance(node.get("enum"), list):
            types.update(json_type(value) for value in node["enum"])
        if node.get("nullable") is True:
            types.add("null")
    return frozenset(types)


def schema_keyword(document: Any, schema: Any, keyword: str) -> str | None:
    """``keyword`` (``format``, ``pattern``) of the schema or of its first alternative that has it."""
    return next((node[keyword] for node in alternatives(document, schema) if isinstance(node.get(keyword), str)), None)


def json_type(value: Any) -> str:
    """The JSON Schema type of a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
