"""The requirement catalogue, loaded once from ``requirements.toml``.

The catalogue is data so that the report, the marker validation, the failure
messages, ``heallog-conformance explain`` and docs/standard.md all read the
same text; nothing else may hard-code a level or a title.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

LEVELS = ("MUST", "SHOULD")
FIELDS = ("level", "area", "title", "text", "rules", "probes", "needs", "more_with", "fix", "clauses", "dimensions")
#: The dimensions along which ../shared/PROBES.md §2 explores a clause: key -> name (the order of that section).
DIMENSIONS = {
    "quantifiers": "quantifiers exhausted",
    "boundaries": "boundary values",
    "classes": "equivalence classes",
    "history": "state and history",
    "duration": "duration",
    "channels": "channels",
    "instances": "instances",
    "surface": "coverage of the published surface",
}
#: A clause's name: lower-case words joined by hyphens, parts joined by slashes ("pro/expired").
CLAUSE_NAME = re.compile(r"[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)*")


@dataclass(frozen=True)
class Capability:
    """Something a run may lack (log access, a restart...), and how to give it."""

    key: str
    name: str
    enable: str


@dataclass(frozen=True)
class Clause:
    """One thing a requirement's text quantifies or bounds (an item of a list, a guard class, a limit...).

    Its ID, ``<requirement>/<name>`` (``DATA-1/update``), is a stable name that
    probes declare with ``@pytest.mark.clause`` and the coverage matrix lists.
    """

    requirement: str
    name: str
    text: str  # what must hold, in the project's words (the normative text is the requirement's)

    @property
    def id(self) -> str:
        return f"{self.requirement}/{self.name}"


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str  # "MUST" or "SHOULD"
    area: str
    title: str  # a few words, for tables
    text: str  # the requirement as the standard's catalogue states it
    rules: tuple[str, ...] = ()  # the standard's other passages it relies on, verbatim
    probes: str = ""  # what the harness sends and judges
    needs: tuple[str, ...] = ()  # capability keys without which it is not run
    more_with: tuple[str, ...] = ()  # capability keys that add tests (a pass without them is partial)
    fix: str = ""  # how a backend usually fixes a failure
    clauses: tuple[Clause, ...] = ()  # what its text quantifies or bounds, one probe at least each
    dimensions: tuple[tuple[str, str], ...] = ()  # (DIMENSIONS key, how far the harness explores it)

    @property
    def is_must(self) -> bool:
        return self.level == "MUST"

    @property
    def normative(self) -> str:
        """The full normative text: the requirement, then the rules it relies on."""
        return "\n\n".join((self.text, *self.rules))


class CatalogueError(ValueError):
    """requirements.toml is inconsistent (a bug of the package, caught by its tests)."""


def _load() -> dict[str, Any]:
    return tomllib.loads(resources.files("conformance").joinpath("requirements.toml").read_text("utf-8"))


@cache
def capabilities() -> dict[str, Capability]:
    """Every capability by key."""
    return {key: Capability(key=key, **fields) for key, fields in _load()["capability"].items()}


@cache
def catalogue() -> dict[str, Requirement]:
    """Every requirement by ID, in catalogue order."""
    known = capabilities()
    result = {}
    for rid, fields in _load()["requirement"].items():
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown or fields.get("level") not in LEVELS:
            raise CatalogueError(f"{rid}: unknown keys {unknown} or level {fields.get('level')!r}")
        for key in (*fields.get("needs", ()), *fields.get("more_with", ())):
            if key not in known:
                raise CatalogueError(f"{rid}: unknown capability {key!r}")
        tuples = {name: tuple(fields.get(name, ())) for name in ("rules", "needs", "more_with")}
        clauses = tuple(Clause(rid, name, text) for name, text in fields.get("clauses", {}).items())
        dimensions = tuple(fields.get("dimensions", {}).items())
        if not clauses or any(not CLAUSE_NAME.fullmatch(c.name) for c in clauses):
            raise CatalogueError(
                f"{rid}: no clauses, or a clause name that is not lower-case words: {[c.name for c in clauses]}"
            )
        if not dimensions or any(key not in DIMENSIONS for key, _ in dimensions):
            raise CatalogueError(f"{rid}: no dimensions, or one not of {', '.join(DIMENSIONS)}")
        dimensions = tuple(sorted(dimensions, key=lambda entry: list(DIMENSIONS).index(entry[0])))  # PROBES.md order
        result[rid] = Requirement(id=rid, **{**fields, **tuples, "clauses": clauses, "dimensions": dimensions})
    return result


@cache
def clauses() -> dict[str, Clause]:
    """Every clause by ID (``DATA-1/update``), in catalogue order."""
    return {clause.id: clause for req in catalogue().values() for clause in req.clauses}


def clause(clause_id: str) -> Clause:
    """The clause of that ID; a KeyError naming the nearest known one otherwise."""
    try:
        return clauses()[clause_id]
    except KeyError:
        close = difflib.get_close_matches(clause_id, clauses(), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise KeyError(f"unknown clause ID {clause_id!r}{hint}") from None


def get(requirement_id: str) -> Requirement:
    try:
        return catalogue()[requirement_id]
    except KeyError:
        close = difflib.get_close_matches(requirement_id.upper(), catalogue(), n=1)
        hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(catalogue())}"
        raise KeyError(f"unknown requirement ID {requirement_id!r}{hint}") from None


def select(patterns: str | None) -> list[str]:
    """IDs matching a comma-separated list of IDs or globs (``ENV-1,AUTH-*``); all when empty."""
    if not patterns:
        return list(catalogue())
    wanted = [p.strip().upper() for p in patterns.split(",") if p.strip()]
    chosen = [rid for rid in catalogue() if any(fnmatch.fnmatchcase(rid, p) for p in wanted)]
    unmatched = [p for p in wanted if not any(fnmatch.fnmatchcase(rid, p) for rid in catalogue())]
    if unmatched:
        raise ValueError(f"--requirements: {', '.join(unmatched)} match no requirement ID")
    return chosen
