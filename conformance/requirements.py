"""The requirement catalogue, loaded once from ``requirements.toml``.

The catalogue is data so that the report, the marker validation and the
failure messages all read the same text; nothing else may hard-code a level.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str  # "MUST" or "SHOULD"
    area: str
    text: str

    @property
    def is_must(self) -> bool:
        return self.level == "MUST"


@cache
def catalogue() -> dict[str, Requirement]:
    """Every requirement by ID, in catalogue order."""
    raw = tomllib.loads(resources.files("conformance").joinpath("requirements.toml").read_text("utf-8"))
    return {rid: Requirement(id=rid, **fields) for rid, fields in raw.items()}


def get(requirement_id: str) -> Requirement:
    try:
        return catalogue()[requirement_id]
    except KeyError:
        raise KeyError(f"unknown requirement ID {requirement_id!r}; known: {', '.join(catalogue())}") from None


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
