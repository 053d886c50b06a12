"""Path parameters filled from resources this run created, so that fuzzing reaches past "not found".

A fuzzer that makes up ``{id}`` gets a 404 from the lookup and never reaches
the code behind it (the update, the delete, the serialization of a stored
record), where crashes hide. So the API-1 passes fill path parameters with
resources of their own: for ``/patients/{id}`` (and ``/patients/{id}/notes``),
the documented ``POST /patients`` (trailing slashes aside; earlier path
parameters filled the same way) is sent once with a minimal valid body
(:func:`conformance.fuzz.extremes.baseline_request`) and the new resource's id
is read from its answer (a field named like the parameter, else ``id`` or
``_id``, at the top or under ``data``). The throwaway session that creates it
is the one the fuzzer uses, so the resource is the fuzzer's own: no other
account's data is ever touched.

Nothing here is judged: an implementation without such a collection, or one
that refuses the minimal body, just keeps its generated values. A resource a
fuzzed ``DELETE`` removed is replaced on the next use (at most
``MAX_CREATIONS`` creations in all).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.exchange import Exchange
from conformance.fuzz.extremes import Probe
from conformance.openapi import DocumentedOperation, operations, route_shape

#: Creations per run at most: each is a request, and a DELETE that succeeds costs one more.
MAX_CREATIONS = 25
#: Where an answer's body may carry the new resource's id: the top level and the envelope's data.
ID_CONTAINERS = ("", "data")
#: Id field names tried after the path parameter's own name.
ID_FIELDS = ("id", "_id")
_PARAMETER = re.compile(r"\{([^/}]+)\}")


def creator_of(document: dict[str, Any], path: str, parameter: str) -> DocumentedOperation | None:
    """The documented POST that creates what ``parameter`` of ``path`` names (the collection before it)."""
    segments = path.split("/")
    index = next((i for i, s in enumerate(segments) if s == "{" + parameter + "}"), None)
    if index is None:
        return None
    collection = route_shape("/".join(segments[:index])).rstrip("/")
    return next(
        (
            op
            for op in operations(document)
            if op.method == "POST" and not op.excluded and route_shape(op.path).rstrip("/") == collection
        ),
        None,
    )


def identifier(body: Any, parameter: str) -> str | None:
    """The new resource's id in a creation's answer, or None when none is recognisable."""
    for container in ID_CONTAINERS:
        found = body.get(container) if container else body
        if not isinstance(found, dict):
            continue
        for name in (parameter, *ID_FIELDS):
            value = found.get(name)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
                return str(value)
    return None


@dataclass
class PathValues:
    """The run's own resources for the path parameters of the document's operations, created on first use.

    ``build(creator, path_values)`` makes the creation request (a minimal valid
    body; the creator's own path parameters filled); ``send`` sends it.
    """

    document: dict[str, Any]
    build: Callable[[DocumentedOperation, dict[str, str]], Probe]
    send: Callable[[Probe], Exchange | None]
    max_creations: int = MAX_CREATIONS
    created: int = 0
    _values: dict[tuple[str, tuple[str, ...]], str | None] = field(default_factory=dict)

    def for_path(self, path: str) -> dict[str, str]:
        """Values of this run's resources for ``path``'s parameters, left to right, as far as they can be had."""
        values: dict[str, str] = {}
        for parameter in _PARAMETER.findall(path):
            value = self._value(path, parameter, values)
            if value is None:
                break  # a later parameter lives under this one: without it, nothing further can be created
            values[parameter] = value
        return values

    def for_operation(self, op: DocumentedOperation) -> dict[str, str]:
        return self.for_path(op.path)

    def spent(self, path: str, values: dict[str, str]) -> None:
        """A resource behind ``path`` was deleted: the next use of its parameter creates another."""
        parameters = [p for p in _PARAMETER.findall(path) if p in values]
        if parameters:
            key = self._key(path, parameters[-1], values)
            if self._values.get(key) == values[parameters[-1]]:
                del self._values[key]

    def _key(self, path: str, parameter: str, earlier: dict[str, str]) -> tuple[str, tuple[str, ...]]:
        creator = creator_of(self.document, path, parameter)
        collection = route_shape(creator.path) if creator is not None else path
        names = _PARAMETER.findall(path)
        return collection, tuple(earlier.get(n, "") for n in names[: names.index(parameter)])

    def _value(self, path: str, parameter: str, earlier: dict[str, str]) -> str | None:
        key = self._key(path, parameter, earlier)
        if key in self._values:
            return self._values[key]
        creator = creator_of(self.document, path, parameter)
        value = None
        if creator is not None and self.created < self.max_creations:
            self.created += 1
            own = dict(zip(_PARAMETER.findall(creator.path), key[1]))  # the creator's parameters, by position
            exchange = self.send(self.build(creator, own))
            if exchange is not None and 200 <= exchange.response.status < 300:
                value = identifier(exchange.response.json, parameter)
        self._values[key] = value
        return value
