"""The report as SARIF 2.1.0 (``render_sarif(document) -> dict``), for code scanning (GitHub's upload-sarif).

One rule per requirement of the report (its text, the catalogue's fix as help,
MUST/SHOULD and a ``security`` tag for the security requirements), one result
per failing requirement: ``error`` for a ``fail``, ``warning`` for a ``warn``; a
``known`` failure (accepted in the baseline) is a result with an external
suppression, so code scanning shows it as dismissed rather than hiding it.

A black-box run has no source line to point at, yet code scanning drops a
result without a physical location and refuses a URL as one (it takes
repository paths only). The physical location is therefore the profile file
when the run used one (the service's declaration of its surface), else the
pseudo-path ``heallog-conformance``; the place that matters is in the logical
locations: the failing test and the operation (``GET /api/...``). The
fingerprint is the requirement ID, so that an alert stays one alert from run to
run. Everything is masked (:mod:`conformance.render.masking`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from conformance import requirements
from conformance.render import document as doc
from conformance.render.masking import mask_text

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL = "heallog-conformance"
#: Requirements whose failure is a security finding (code scanning files them under security).
SECURITY = ("AUTH-*", "HDR-3", "LOG-1", "CONF-1")
#: GitHub's severity scale (0-10) for security rules: "high" for a MUST, "medium" for a SHOULD.
SECURITY_SEVERITY = {"MUST": "7.5", "SHOULD": "5.0"}
RESULT_LEVEL = {"fail": "error", "warn": "warning", "known": "error"}
#: The request a Violation names in its headline: "(GET http://host/path, request 3f2a)".
_REQUEST = re.compile(r"\((?P<method>[A-Z]+) (?P<url>\S+?)(?:,[^)]*)?\)\s*$")


def is_security(rid: str) -> bool:
    return any(rid == pattern or (pattern.endswith("*") and rid.startswith(pattern[:-1])) for pattern in SECURITY)


def _camel(title: str) -> str:
    """A rule's ``name``: its title as one identifier ("Every error in the envelope" -> EveryErrorInTheEnvelope)."""
    return "".join(word[:1].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", title)) or "Requirement"


def _fix(rid: str) -> str:
    try:
        return requirements.get(rid).fix
    except KeyError:
        return ""


def rule(row: doc.Row) -> dict[str, Any]:
    security = is_security(row.id)
    tags = ["conformance", row.level, *(["security"] if security else [])]
    properties: dict[str, Any] = {"level": row.level, "tags": tags}
    if security and row.level in SECURITY_SEVERITY:
        properties["security-severity"] = SECURITY_SEVERITY[row.level]
    descriptor: dict[str, Any] = {
        "id": row.id,
        "name": _camel(row.title),
        "shortDescription": {"text": row.title or row.id},
        "fullDescription": {"text": row.text or row.title or row.id},
        "defaultConfiguration": {"level": "error" if row.level == "MUST" else "warning"},
        "properties": properties,
    }
    fix = _fix(row.id)
    if fix:
        descriptor["help"] = {"text": fix}
    return descriptor


def _operation(failure: doc.Failure) -> str | None:
    """``GET /api/patients/x`` from the failure's headline, when it names a request."""
    match = _REQUEST.search(failure.headline)
    if not match:
        return None
    path = urlsplit(match.group("url")).path or "/"
    return f"{match.group('method')} {path}"


def _message(row: doc.Row) -> str:
    if not row.failures:
        return mask_text(row.reason or f"{row.id} {row.title}: {row.verdict}")
    first = row.failures[0]
    lines = [first.message]
    if len(row.failures) > 1:
        others = [f.test for f in row.failures[1:] if f.test]
        lines.append(f"{len(row.failures) - 1} more failing test(s)" + (f": {', '.join(others)}" if others else ""))
    return mask_text("\n".join(lines))


def _artifact(document: Mapping[str, Any]) -> dict[str, Any]:
    source = str((document.get("profile") or {}).get("source") or "")
    if source and source != "default":
        if Path(source).is_absolute():
            return {"uri": Path(source).as_uri()}
        return {"uri": source.replace("\\", "/"), "uriBaseId": "%SRCROOT%"}
    return {"uri": TOOL, "uriBaseId": "%SRCROOT%"}


def result(row: doc.Row, artifact: Mapping[str, Any]) -> dict[str, Any]:
    first = row.failures[0] if row.failures else doc.Failure(test=None, headline="", parts=(), message="")
    logical = []
    if first.test:
        logical.append({"name": first.test.rsplit("::", 1)[-1], "fullyQualifiedName": first.test, "kind": "function"})
    operation = _operation(first)
    if operation:
        logical.append({"name": operation, "kind": "resource"})
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": dict(artifact)}}
    if logical:
        location["logicalLocations"] = logical
    found: dict[str, Any] = {
        "ruleId": row.id,
        "level": "warning" if row.verdict == "warn" else RESULT_LEVEL.get(row.verdict, "error"),
        "message": {"text": _message(row)},
        "locations": [location],
        "partialFingerprints": {"heallogRequirement/v1": row.id},
        "properties": {"verdict": row.verdict, "tests": [f.test for f in row.failures if f.test]},
    }
    reproduce = first.part("Reproduce")
    if reproduce:
        found["properties"]["reproduce"] = mask_text(reproduce)
    if row.verdict == "known":
        found["suppressions"] = [{"kind": "external", "justification": row.reason or "accepted in the baseline"}]
    return found


def render_sarif(document: Mapping[str, Any]) -> dict[str, Any]:
    """The SARIF log of one run: every requirement a rule, every failing requirement a result."""
    rows = doc.rows(document)
    artifact = _artifact(document)
    results = [result(row, artifact) for row in rows if row.verdict in RESULT_LEVEL]
    status = document.get("exit_status")
    invocation: dict[str, Any] = {"executionSuccessful": status in (0, 1) if isinstance(status, int) else True}
    if isinstance(status, int):
        invocation["exitCode"] = status
    for key, field in (("started", "startTimeUtc"), ("finished", "endTimeUtc")):
        if document.get(key):
            invocation[field] = str(document[key]).replace("+00:00", "Z")
    target = document.get("target") or {}
    run: dict[str, Any] = {
        "tool": {"driver": {"name": TOOL, "version": _version(), "rules": [rule(row) for row in rows]}},
        "invocations": [invocation],
        "results": results,
        "properties": {
            "target": mask_text(str(target.get("base_url") or "")),
            "mode": target.get("mode"),
            "profile": (document.get("profile") or {}).get("name"),
        },
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def _version() -> str:
    try:
        return metadata.version(TOOL)
    except metadata.PackageNotFoundError:
        return "0"
