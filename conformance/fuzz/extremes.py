"""Extreme values for API-1: every parameter and body field of the published document, pushed far past its schema.

Schemathesis generates inside the schema, and its negative cases stay near the
bounds, so a SUT that crashes only far beyond them passes it: a number that
overflows the database's integer, a NUL byte that reaches a C library, a
200-level nesting that reaches a recursive function. :func:`probes` turns the
document into a bounded list of :class:`Probe`\\ s, concrete requests down to
the bytes, one for each field and each value kind that applies to it; the API-1
suite sends them and judges every answer like any other (no 5xx; ENV-1, RID-1
and HDR-1).

The value kinds are data (:data:`FIELD_KINDS`, :data:`BODY_KINDS`), with stable
ids that the failure messages and the tests name; each field gets the kinds that
make sense for its location and type. The rest of each request is a minimal
baseline built from the document (defaults, examples, enums, bounds, formats,
patterns), so that the extreme value is the one thing the SUT has to cope with.
E-mail fields (``format: email``, or named in ``email_fields``) always get a
fresh address of this run, extreme or not: no mail to a real inbox, and no
lockout counter of anyone else's address is touched, not even by a probe.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from conformance.openapi import DocumentedOperation, operations, resolve, schema_types

#: Characters in the long-string kind: past every usual column size and many URL limits.
LONG_STRING = 10_240
#: Levels of the deep-nesting kind.
NESTING_DEPTH = 200
CONTROL_CHARACTERS = "\x01\x07\x08\x0b\x0c\x1b\x7f\r\n\t"
#: Header parameters OpenAPI says are ignored (the transport sets them).
IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
#: What an HTTP server (not the application) answers a request line or header that is too long
#: (RFC 9110 §15.5.15, RFC 6585 §5): the contract does not judge what never reached the application.
SERVER_LIMIT_STATUSES = frozenset({414, 431})
JSON_MEDIA = "application/json"
FORM_MEDIA = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Field:
    """One parameter or body property: where it travels and the JSON types its schema allows."""

    location: str  # "path", "query", "header", "json" (a JSON body property), "form" (a form body field)
    name: str
    types: frozenset[str]  # JSON Schema types, "null" included; {"any"} when the schema says none

    @property
    def numeric(self) -> bool:
        return bool(self.types & {"integer", "number"})

    @property
    def textual(self) -> bool:
        return bool(self.types & {"string", "any"})

    @property
    def scalar(self) -> bool:
        return not self.types & {"array", "object"}


@dataclass(frozen=True)
class Kind:
    """A value kind for one field: which fields it applies to, and the value made from the field's baseline."""

    id: str
    description: str
    applies: Callable[[Field], bool]
    value: Callable[[Any], Any]


@dataclass(frozen=True)
class BodyKind:
    """A value kind for a whole body: ``media`` is "json" or "form", the body style the document declares."""

    id: str
    description: str
    applies: Callable[[str, tuple[str, ...]], bool]  # (media, property names)


def _numbers_or_path(field: Field) -> bool:
    # A path segment is text whatever its schema says, and ids behind a "string" are often integers.
    return field.numeric or field.location == "path"


def _text_or_path(field: Field) -> bool:
    return field.textual or field.location == "path"


def _text_not_header(field: Field) -> bool:
    # NUL and control characters cannot travel in a header value: no well-formed request carries them.
    return _text_or_path(field) and field.location != "header"


def _inserted(base: Any, text: str) -> str:
    """``text`` inside the baseline (after its first character), so an address stays recognisably this run's."""
    base = base if isinstance(base, str) and base else "a"
    return base[:1] + text + base[1:]


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


FIELD_KINDS: tuple[Kind, ...] = (
    Kind("int-2p31", "2**31, one past the 32-bit signed maximum", _numbers_or_path, lambda base: 2**31),
    Kind("int-2p63", "2**63, one past the 64-bit signed maximum", _numbers_or_path, lambda base: 2**63),
    Kind("int-1e18", "10**18", _numbers_or_path, lambda base: 10**18),
    Kind("int-minus-1", "-1", _numbers_or_path, lambda base: -1),
    Kind(
        "int-below-int64", "-2**63-1, one below the 64-bit signed minimum", _numbers_or_path, lambda base: -(2**63) - 1
    ),
    Kind(
        "long-string",
        f"a string of {LONG_STRING}+ characters",
        _text_or_path,
        lambda base: _inserted(base, "a" * LONG_STRING),
    ),
    Kind("nul-char", "a NUL character inside the value", _text_not_header, lambda base: _inserted(base, "\x00")),
    Kind(
        "control-chars",
        "ASCII control characters (SOH, BEL, BS, VT, FF, ESC, DEL, CR, LF, TAB) inside the value",
        _text_not_header,
        lambda base: _inserted(base, CONTROL_CHARACTERS),
    ),
    Kind(
        "array-for-scalar",
        "an array where a scalar is expected (in a query or form: the field twice)",
        lambda f: f.location in ("json", "query", "form") and f.scalar,
        lambda base: [base, base],
    ),
    Kind(
        "object-for-scalar",
        'an object ({"$gt": ""}) where a scalar is expected',
        lambda f: f.location == "json" and f.scalar,
        lambda base: {"$gt": ""},
    ),
)

BODY_KINDS: tuple[BodyKind, ...] = (
    BodyKind(
        "deep-nesting",
        f"the first property nested {NESTING_DEPTH} levels deep (the whole body if it has none)",
        lambda media, names: media == "json",
    ),
    BodyKind(
        "duplicate-keys",
        "the first property twice in the JSON text, the second time as 2**63",
        lambda media, names: media == "json" and bool(names),
    ),
    BodyKind(
        "form-body-for-json", "the body form-encoded where JSON is expected", lambda media, names: media == "json"
    ),
    BodyKind("json-body-for-form", "the body as JSON where a form is expected", lambda media, names: media == "form"),
    BodyKind("text-plain-body", "the body labelled text/plain", lambda media, names: True),
    BodyKind("no-content-type", "the body without a Content-Type", lambda media, names: True),
)

KIND_DESCRIPTIONS = {kind.id: kind.description for kind in FIELD_KINDS + BODY_KINDS} | {
    "baseline": "a minimal valid request, nothing extreme"
}


@dataclass(frozen=True)
class Probe:
    """One request of the extreme pass, ready to send: ``target`` is the path and query, percent-encoded."""

    label: str  # the documented operation, "METHOD /path"
    operation: str | None  # its logical name in the profile, when it has one
    kind: str
    field: str | None  # None for a body kind
    location: str  # a Field location, or "body" for a body kind
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    #: Statuses not judged for this probe: what a server in front of the application answers an over-long URL.
    unjudged_statuses: frozenset[int] = frozenset()

    def describe(self) -> str:
        where = f"{self.location} field {self.field!r}" if self.field is not None else "the body"
        return f"{self.kind} ({KIND_DESCRIPTIONS[self.kind]}) in {where} of {self.label}"


# -- building the requests -----------------------------------------------------------------


@dataclass(frozen=True)
class _Baseline:
    """A minimal valid request of one operation, before encoding."""

    path: dict[str, Any]
    query: tuple[tuple[str, Any], ...]
    headers: tuple[tuple[str, Any], ...]
    media: str | None  # "json", "form", or None without a (supported) body
    body: Any  # a dict for an object body


class _Builder:
    """The probes of one document; the helpers share the document (for ``$ref``) and the e-mail rule."""

    def __init__(
        self,
        document: dict[str, Any],
        email_fields: frozenset[str],
        fresh_email: Callable[[], str],
        path_values: Callable[[DocumentedOperation], dict[str, str]] = lambda op: {},
    ):
        self.document = document
        self.email_fields = email_fields
        self.fresh_email = fresh_email
        self.path_values = path_values

    def probes(self, op: DocumentedOperation) -> Iterator[Probe]:
        for field, schema, _ in self.fields(op):
            for kind in FIELD_KINDS:
                if kind.applies(field):
                    base = self.baseline(schema, field.name)
                    yield self.field_probe(op, field, kind, kind.value(base))
        media, names = self.body_shape(op)
        if media is not None:
            for body_kind in BODY_KINDS:
                if body_kind.applies(media, names):
                    yield self.body_probe(op, body_kind, names)

    # -- what the document says ------------------------------------------------------------
    def fields(self, op: DocumentedOperation) -> Iterator[tuple[Field, Any, bool]]:
        for parameter in op.parameters:
            location = parameter["in"]
            if location not in ("path", "query", "header"):
                continue
            if location == "header" and str(parameter["name"]).lower() in IGNORED_HEADERS:
                continue
            schema = resolve(self.document, parameter.get("schema", {}))
            required = location == "path" or bool(parameter.get("required"))
            yield Field(location, str(parameter["name"]), self.types(schema)), schema, required
        media, schema = self.body_schema(op)
        if media is not None:
            required = set(schema.get("required") or ())
            for name, prop in self.properties(schema).items():
                yield Field(media, name, self.types(prop)), prop, name in required

    def body_schema(self, op: DocumentedOperation) -> tuple[str | None, dict[str, Any]]:
        body = resolve(self.document, op.definition.get("requestBody"))
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, dict):
            return None, {}
        for media_type, entry in content.items():
            media = _media(media_type)
            if media is not None:
                return media, self.object_schema((entry or {}).get("schema", {}))
        return None, {}

    def object_schema(self, schema: Any) -> dict[str, Any]:
        """The object schema a body is made of: itself, or its first object alternative (``Body | None``)."""
        schema = resolve(self.document, schema)
        if not isinstance(schema, dict):
            return {}
        if self.properties(schema):
            return schema
        for key in ("anyOf", "oneOf"):
            for member in schema.get(key) or ():
                member = resolve(self.document, member)
                if isinstance(member, dict) and self.properties(member):
                    return member
        return schema

    def body_shape(self, op: DocumentedOperation) -> tuple[str | None, tuple[str, ...]]:
        media, schema = self.body_schema(op)
        return media, tuple(self.properties(schema))

    def properties(self, schema: dict[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for part in [schema, *(resolve(self.document, m) for m in schema.get("allOf") or ())]:
            if isinstance(part, dict) and isinstance(part.get("properties"), dict):
                merged.update({name: resolve(self.document, prop) for name, prop in part["properties"].items()})
        return merged

    def types(self, schema: Any) -> frozenset[str]:
        return schema_types(self.document, schema) or frozenset({"any"})

    # -- the baseline ----------------------------------------------------------------------
    def baseline(self, schema: Any, name: str | None = None, depth: int = 0) -> Any:
        """A minimal value the schema accepts (best effort: the document's own values first)."""
        schema = resolve(self.document, schema)
        if not isinstance(schema, dict) or depth > 8:
            return "a"
        if name in self.email_fields or schema.get("format") == "email":
            return self.fresh_email()
        for key in ("default", "const", "example"):
            if schema.get(key) is not None:
                return self._safe(schema[key])
        for key in ("examples", "enum"):
            values = schema.get(key)
            if isinstance(values, list) and any(v is not None for v in values):
                return self._safe(next(v for v in values if v is not None))
        for key in ("anyOf", "oneOf"):
            members = [resolve(self.document, m) for m in schema.get(key) or ()]
            usable = [m for m in members if self.types(m) != {"null"}]
            if usable:
                return self.baseline(usable[0], name, depth + 1)
        if schema.get("allOf"):
            merged = dict(schema)
            for member in schema["allOf"]:
                merged.update(resolve(self.document, member) or {})
            merged.pop("allOf")
            return self.baseline(merged, name, depth + 1)
        kind = next((t for t in sorted(self.types(schema)) if t != "null"), "any")
        if kind == "string":
            return _string(schema)
        if kind in ("integer", "number"):
            return _number(schema, integer=kind == "integer")
        if kind == "boolean":
            return False
        if kind == "array":
            return [self.baseline(schema.get("items", {}), None, depth + 1)] * int(schema.get("minItems") or 0)
        if kind == "object":
            required = set(schema.get("required") or ())
            return {k: self.baseline(v, k, depth + 1) for k, v in self.properties(schema).items() if k in required}
        if kind == "null":
            return None
        return "a"

    def _safe(self, value: Any) -> Any:
        """A documented example that looks like an address is replaced by one of this run."""
        return self.fresh_email() if isinstance(value, str) and "@" in value else value

    def request(self, op: DocumentedOperation) -> _Baseline:
        path: dict[str, Any] = {}
        query: list[tuple[str, Any]] = []
        headers: list[tuple[str, Any]] = []
        # Resources of this run: the extreme value is then the one thing wrong. Never for a DELETE: one it
        # accepted would remove the resource the other probes (and the fuzzer) name.
        own = self.path_values(op) if op.method != "DELETE" else {}
        for field, schema, required in self.fields(op):
            if field.location == "path":
                path[field.name] = own[field.name] if field.name in own else self.baseline(schema, field.name)
            elif field.location == "query" and required:
                query.append((field.name, self.baseline(schema, field.name)))
            elif field.location == "header" and required:
                headers.append((field.name, self.baseline(schema, field.name)))
        media, schema = self.body_schema(op)
        body = self.baseline(schema) if media is not None else None
        return _Baseline(path, tuple(query), tuple(headers), media, body)

    # -- the probes ------------------------------------------------------------------------
    def field_probe(self, op: DocumentedOperation, field: Field, kind: Kind, value: Any) -> Probe:
        base = self.request(op)
        if field.location == "path":
            base = replace(base, path={**base.path, field.name: value})
        elif field.location == "query":
            base = replace(base, query=_set(base.query, field.name, value))
        elif field.location == "header":
            base = replace(base, headers=_set(base.headers, field.name, value))
        else:
            body = dict(base.body) if isinstance(base.body, dict) else {}
            body[field.name] = value
            base = replace(base, body=body)
        long_url = kind.id == "long-string" and field.location in ("path", "query", "header")
        return _probe(
            op, base, kind.id, field.name, field.location, unjudged=SERVER_LIMIT_STATUSES if long_url else frozenset()
        )

    def body_probe(self, op: DocumentedOperation, kind: BodyKind, names: tuple[str, ...]) -> Probe:
        base = self.request(op)
        body = dict(base.body) if isinstance(base.body, dict) else {}
        _, schema = self.body_schema(op)
        first = next((n for n in names if n in set(schema.get("required") or ())), names[0] if names else None)
        if first is not None and first not in body:
            body[first] = self.baseline(self.properties(schema)[first], first)
        media = base.media or "json"
        content: bytes
        content_type: str | None = JSON_MEDIA if media == "json" else FORM_MEDIA
        if kind.id == "deep-nesting":
            content = _json({**body, first: _nested(NESTING_DEPTH)} if first is not None else _nested(NESTING_DEPTH))
        elif kind.id == "duplicate-keys":
            pairs = list(body.items()) + [(first, 2**63)]
            content = ("{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs) + "}").encode()
        elif kind.id == "form-body-for-json":
            content, content_type = _form(body.items()), FORM_MEDIA
        elif kind.id == "json-body-for-form":
            content, content_type = _json(body), JSON_MEDIA
        else:
            content = _json(body) if media == "json" else _form(body.items())
            content_type = "text/plain" if kind.id == "text-plain-body" else None
        headers = tuple((k, _text(v)) for k, v in base.headers)
        if content_type is not None:
            headers += (("Content-Type", content_type),)
        return Probe(op.label, op.logical_name, kind.id, None, "body", op.method, _target(op, base), headers, content)


def _probe(
    op: DocumentedOperation, base: _Baseline, kind: str, field: str | None, location: str, *, unjudged: frozenset[int]
) -> Probe:
    headers = tuple((k, _text(v)) for k, v in base.headers)
    body: bytes | None = None
    if base.media == "json":
        body, headers = _json(base.body if base.body is not None else {}), headers + (("Content-Type", JSON_MEDIA),)
    elif base.media == "form":
        pairs = base.body.items() if isinstance(base.body, dict) else ()
        body, headers = _form(pairs), headers + (("Content-Type", FORM_MEDIA),)
    return Probe(
        op.label,
        op.logical_name,
        kind,
        field,
        location,
        op.method,
        _target(op, base),
        headers,
        body,
        unjudged_statuses=unjudged,
    )


def _set(pairs: tuple[tuple[str, Any], ...], name: str, value: Any) -> tuple[tuple[str, Any], ...]:
    return tuple((k, v) for k, v in pairs if k != name) + ((name, value),)


def _target(op: DocumentedOperation, base: _Baseline) -> str:
    path = op.path
    for name, value in base.path.items():
        path = path.replace("{" + name + "}", quote(_text(value), safe=""))
    query = _form(base.query).decode("ascii")
    return f"{path}?{query}" if query else path


def _form(pairs: Any) -> bytes:
    """``application/x-www-form-urlencoded`` (and query) encoding; a list value repeats its field."""
    parts = []
    for name, value in pairs:
        for item in value if isinstance(value, list) else [value]:
            parts.append(f"{quote(str(name), safe='')}={quote(_text(item), safe='')}")
    return "&".join(parts).encode("ascii")


def _json(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def _text(value: Any) -> str:
    """A value as it travels in a URL, a header or a form."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)


def _media(media_type: str) -> str | None:
    media_type = media_type.split(";", 1)[0].strip().lower()
    if media_type == JSON_MEDIA or media_type.endswith("+json"):
        return "json"
    if media_type == FORM_MEDIA:
        return "form"
    return None


def _string(schema: dict[str, Any]) -> str:
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        found = _matching(pattern)
        if found is not None:
            return found
    fixed = {
        "date-time": "2024-01-01T00:00:00Z",
        "date": "2024-01-01",
        "uuid": "00000000-0000-4000-8000-000000000000",
        "uri": "https://example.com/",
        "ipv4": "192.0.2.1",
        "time": "00:00:00Z",
    }
    if schema.get("format") in fixed:
        return fixed[schema["format"]]
    length = max(1, int(schema.get("minLength") or 0))
    if schema.get("maxLength") is not None:
        length = min(length, int(schema["maxLength"])) or 1
    return "a" * length


def _number(schema: dict[str, Any], *, integer: bool) -> int | float:
    value: float = 0
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(schema.get("exclusiveMinimum"), (int, float)):
        low = schema["exclusiveMinimum"] + 1
    if isinstance(schema.get("exclusiveMaximum"), (int, float)):
        high = schema["exclusiveMaximum"] - 1
    if low is not None and value < low:
        value = low
    if high is not None and value > high:
        value = high
    return int(value) if integer else value


@functools.lru_cache(maxsize=64)
def _matching(pattern: str) -> str | None:
    """The simplest string matching ``pattern`` (hypothesis' ``find`` shrinks to it), or None if none is found."""
    from hypothesis import HealthCheck, find, settings
    from hypothesis import strategies as st

    try:
        return find(
            st.from_regex(pattern, fullmatch=True),
            lambda _: True,
            settings=settings(database=None, max_examples=50, suppress_health_check=list(HealthCheck)),
        )
    except Exception:  # an ECMA-only construct, or nothing found: the plain baseline then
        return None


def probes(
    document: dict[str, Any],
    *,
    email_fields: frozenset[str],
    fresh_email: Callable[[], str],
    include: Callable[[DocumentedOperation], bool] = lambda op: not op.excluded,
    path_values: Callable[[DocumentedOperation], dict[str, str]] = lambda op: {},
) -> list[Probe]:
    """The extreme-value probes of every operation of ``document`` that ``include`` accepts, in document order.

    ``path_values(op)`` gives path parameters a value of a resource of this run
    (:mod:`conformance.fuzz.resources`) where there is one, so that a probe of
    another field reaches past the lookup (the path parameter's own probes
    replace it); a ``DELETE`` keeps the baseline values, so no probe removes
    the resources the others name.
    """
    builder = _Builder(document, email_fields, fresh_email, path_values)
    return [probe for op in operations(document) if include(op) for probe in builder.probes(op)]


def baseline_request(
    document: dict[str, Any],
    op: DocumentedOperation,
    *,
    email_fields: frozenset[str],
    fresh_email: Callable[[], str],
    path_values: dict[str, str],
) -> Probe:
    """A minimal valid request of ``op`` (nothing extreme: its kind is "baseline"), e.g. to create a resource."""
    builder = _Builder(document, email_fields, fresh_email, lambda _: path_values)
    return _probe(op, builder.request(op), "baseline", None, "baseline", unjudged=frozenset())


def interleaved(planned: list[Probe]) -> list[Probe]:
    """``planned`` reordered so that a pass cut short by its budget has probed every operation a little.

    Round robin over the operations; within one, the kinds in their table
    order (the out-of-range numbers first), fields in document order.
    """
    order = {kind.id: index for index, kind in enumerate(FIELD_KINDS + BODY_KINDS)}
    by_operation: dict[str, list[Probe]] = {}
    for probe in planned:
        by_operation.setdefault(probe.label, []).append(probe)
    queues = [sorted(group, key=lambda p: order[p.kind]) for group in by_operation.values()]
    return [queue[i] for i in range(max(map(len, queues), default=0)) for queue in queues if i < len(queue)]
