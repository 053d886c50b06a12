"""Literal patient search (DATA-4): LIKE wildcards in the user's term match only themselves."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.orm import InstrumentedAttribute

ESCAPE = "\\"


class SearchMatcher(Protocol):
    def condition(self, columns: list[InstrumentedAttribute], term: str) -> ColumnElement[bool]: ...


def escape_like(term: str) -> str:
    return term.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


class LiteralSearch:
    def condition(self, columns: list[InstrumentedAttribute], term: str) -> ColumnElement[bool]:
        if "\x00" in term:
            # SQLite's LIKE stops at a NUL, so '%<NUL>%' would match everything; taken literally it
            # matches nothing, since stored text never holds one (the request schemas refuse it).
            return false()
        pattern = f"%{escape_like(term)}%"
        return or_(*(column.ilike(pattern, escape=ESCAPE) for column in columns))
