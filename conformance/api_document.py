"""The SUT's published OpenAPI document as API-1 reads it: operations, their logical names, local ``$ref``\\ s.

API-1 fuzzes what the SUT *publishes*, not what the profile says: the profile
only tells which logical operation a documented one is (so that the safety
rules, which speak of logical operations, apply) and which one is never fuzzed.
The suite writes that into its copy of the document as vendor extensions, so
that schemathesis (the fuzzer) and :mod:`conformance.fuzz.extremes` (the extreme-value
pass) see the same operations.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.profile import Profile

#: Vendor extensions the suite writes into its copy of the OpenAPI document.
OPERATION_KEY = "x-conformance-operation"
EXCLUDED_KEY = "x-conformance-excluded"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
#: How deep ``$ref`` chains are followed: a cycle in a published document must not hang the suite.
MAX_REF_DEPTH = 32


@dataclass(frozen=True)
class DocumentedOperation:
    """One operation of the document, with the parameters of its path item merged in."""

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


def annotate_operations(document: dict[str, Any], profile: Profile, *, excluded: Iterable[str]) -> dict[str, Any]:
    """A copy of ``document`` whose operations name their logical operation of the profile.

    Operations are matched by method and path, with path parameters compared by
    position only (``/api/patients/{id}`` is ``/api/patients/{patient_id}``).
    The ``excluded`` logical operations are flagged, for the fuzzer's filter and the extreme pass.
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


def route_shape(path: str) -> str:
    return re.sub(r"\{[^/}]*\}", "{}", path)


def operations(document: dict[str, Any]) -> Iterator[DocumentedOperation]:
    """Every operation of ``document``, in document order, parameters resolved and merged.

    An operation's own parameter overrides the path item's one of the same name
    and location (OpenAPI 3 §4.8.9.1).
    """
    for path, item in (document.get("paths") or {}).items():
        item = resolve(document, item)
        if not isinstance(item, dict):
            continue
        shared = [resolve(document, p) for p in item.get("parameters") or ()]
        for method in HTTP_METHODS:
            definition = item.get(method)
            if not isinstance(definition, dict):
                continue
            merged: dict[tuple[str, str], dict[str, Any]] = {}
            for parameter in shared + [resolve(document, p) for p in definition.get("parameters") or ()]:
                if isinstance(parameter, dict) and "name" in parameter and "in" in parameter:
                    merged[(parameter["in"], parameter["name"])] = parameter
            yield DocumentedOperation(method.upper(), path, definition, tuple(merged.values()))


def resolve(document: dict[str, Any], node: Any) -> Any:
    """``node`` with a local ``$ref`` (``#/components/...``) followed; other references are left as they are."""
    for _ in range(MAX_REF_DEPTH):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/")):
            return node
        target: Any = document
        for part in node["$ref"][2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                return {}
            target = target[part]
        node = target
    return {}
