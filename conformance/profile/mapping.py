"""Which documented operation of a service is which logical operation of the contract: pure functions.

``heallog-conformance init`` reads a service's published OpenAPI document
(:mod:`conformance.openapi`, the one reader) and matches every logical
operation of the default profile (``default.toml``: ``login``, ``me``...) to
one documented operation, by

- its ``operationId`` and ``summary`` (the words of the logical name, a few
  synonyms: ``signIn`` is ``login``),
- its path shape (the trailing segments: ``/v2/auth/login`` ends like
  ``/api/auth/login``; placeholders' names do not matter),
- its method (``PATCH`` may stand for ``PUT``),

each documented operation used once, the best matches first. A logical
operation with no convincing match is left out (the profile keeps the
default, and says so). Also read from the document: each operation's body
style (JSON, form or none) and the login body's credential field names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from conformance import openapi

#: Words that name the same thing in operation ids and summaries.
SYNONYMS = {
    "login": {"signin", "authenticate", "logon", "token", "session"},
    "register": {"signup", "registration"},
    "logout": {"signout", "revoke"},
    "me": {"current", "self", "whoami", "profile"},
    "otp": {"code", "verification", "confirm"},
    "verify": {"confirm", "verification"},
    "update": {"edit", "patch", "modify"},
    "delete": {"remove", "destroy"},
    "create": {"add", "new"},
    "list": {"all", "index", "search"},
    "get": {"read", "show", "retrieve", "one"},
    "password": {"passwd"},
    "error": {"sentry", "debug", "crash", "fail"},
    "trigger": {"test", "raise"},
}
#: Logical operations the mapping does not look for in the document (found by other means).
NOT_MAPPED = ("health", "openapi")
#: Below this score a candidate is no match.
THRESHOLD = 5.0
USERNAME_FIELDS = ("username", "email", "login", "user", "email_address", "user_name")
PASSWORD_FIELDS = ("password", "pass", "passwd", "secret")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class Match:
    """A logical operation's documented counterpart."""

    name: str
    method: str
    path: str
    body: str | None  # "json", "form", "none", or None when the document does not say
    operation_id: str
    score: float
    username_field: str | None = None
    password_field: str | None = None

    def describe(self) -> str:
        said = f"operationId {self.operation_id}" if self.operation_id else "no operationId"
        return f"{self.method} {self.path} ({said})"


def words(text: str) -> set[str]:
    """Lower-case words of an identifier or a sentence: ``signIn``, ``sign_in``, ``Sign in`` -> {sign, in}."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(text))
    found = {w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w}
    return found | {w[:-1] for w in found if len(w) > 3 and w.endswith("s")}  # users -> user


def _name_score(name: str, said: set[str]) -> float:
    """The share of the logical name's words the text says (a synonym counts; a glued word like signin too)."""
    wanted = [w for w in name.split("_") if w]
    glued = "".join(said)
    hits = 0
    for word in wanted:
        forms = {word, *SYNONYMS.get(word, ())}
        if forms & said or any(form in glued for form in forms if len(form) > 3):
            hits += 1
    return hits / len(wanted) if wanted else 0.0


def _segments(path: str) -> list[str]:
    return [s for s in openapi.route_shape(path).split("/") if s]


def _path_score(default_path: str, path: str) -> float:
    """Trailing segments in common, as a share of the default's segments after its first (the prefix)."""
    ours, theirs = _segments(default_path), _segments(path)
    common = 0
    for a, b in zip(reversed(ours), reversed(theirs)):
        if a != b:
            break
        common += 1
    tail = max(len(ours) - 1, 1)
    return min(common, tail) / tail


def score(name: str, default_method: str, default_path: str, operation: openapi.DocumentedOperation) -> float:
    """How well ``operation`` stands for the logical operation ``name`` (0 when its method cannot)."""
    method = operation.method
    if method != default_method and {method, default_method} != {"PUT", "PATCH"}:
        return 0.0
    definition = operation.definition
    said_id = words(definition.get("operationId") or "")
    said_summary = words(definition.get("summary") or "")
    total = 4 * _name_score(name, said_id) + 2 * _name_score(name, said_summary)
    total += 4 * _path_score(default_path, operation.path)
    total += 1.5 if method == default_method else 0.0
    ours, theirs = _segments(default_path), _segments(operation.path)
    total += 1.0 if len(ours) == len(theirs) else 0.0
    total += 1.0 if ours.count("{}") == theirs.count("{}") else -2.0
    return total


def body_style(document: Any, operation: openapi.DocumentedOperation) -> tuple[str | None, dict[str, Any]]:
    """The request body style the document gives (``None``: it says nothing), and the body's schema."""
    body = openapi.resolve(document, operation.definition.get("requestBody"))
    content = body.get("content") if isinstance(body, Mapping) else None
    if not isinstance(content, Mapping) or not content:
        return ("none" if operation.method in ("GET", "DELETE", "HEAD") else None), {}
    for media, entry in content.items():
        schema = openapi.resolve(document, entry.get("schema")) if isinstance(entry, Mapping) else {}
        if any(str(media).startswith(form) for form in FORM_TYPES):
            return "form", schema if isinstance(schema, dict) else {}
        if "json" in str(media):
            return "json", schema if isinstance(schema, dict) else {}
    return None, {}


def credential_fields(document: Any, schema: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The login body's username and password field names, from its schema's properties."""
    properties: dict[str, Any] = {}
    for node in openapi.alternatives(document, schema):
        if isinstance(node.get("properties"), Mapping):
            properties.update(node["properties"])
    names = {str(n).lower(): str(n) for n in properties}
    username = next((names[n] for n in USERNAME_FIELDS if n in names), None)
    password = next((names[n] for n in PASSWORD_FIELDS if n in names), None)
    return username, password


def match_operations(document: Any, defaults: Mapping[str, Mapping[str, Any]]) -> dict[str, Match]:
    """The best documented operation for each logical one (``defaults``: ``default.toml``'s ``operations``)."""
    documented = list(openapi.operations(document))
    candidates: list[tuple[float, str, int]] = []
    for name, default in defaults.items():
        if name in NOT_MAPPED:
            continue
        for index, operation in enumerate(documented):
            value = score(name, str(default["method"]).upper(), str(default["path"]), operation)
            if value >= THRESHOLD:
                candidates.append((value, name, index))
    matches: dict[str, Match] = {}
    used: set[int] = set()
    for value, name, index in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        if name in matches or index in used:
            continue
        used.add(index)
        operation = documented[index]
        style, schema = body_style(document, operation)
        username = password = None
        if name == "login":
            username, password = credential_fields(document, schema)
        matches[name] = Match(
            name,
            operation.method,
            operation.path,
            style,
            str(operation.definition.get("operationId") or ""),
            value,
            username,
            password,
        )
    return matches


def api_prefix(paths: Iterable[str]) -> str | None:
    """The leading segment every path shares (``/v2/``), or ``None`` when they share none."""
    firsts = {("/" + p.strip("/").split("/", 1)[0] + "/") for p in paths if p.strip("/")}
    return firsts.pop() if len(firsts) == 1 else None


def health_path(document: Any) -> str | None:
    """The documented health operation's path (a GET whose path or id says health), if any."""
    for operation in openapi.operations(document):
        said = words(operation.path) | words(operation.definition.get("operationId") or "")
        if operation.method == "GET" and ({"health", "healthz", "livez", "readyz"} & said):
            return operation.path
    return None
