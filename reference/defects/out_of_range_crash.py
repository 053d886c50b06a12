"""API-1: a documented bound that is not enforced: `skip` past 2**63 crashes with a 500.

The published document still says `maximum: 1000000` (it is built from the
route's own paging dependency), but the dependency in force takes any integer,
and SQLite cannot bind one of 2**63 or more (OverflowError). Fuzzing that stays
within, or just past, the documented bounds never sees it.
"""

from reference.routes.patients import Page, page


def unbounded_page(skip: int = 0, limit: int = 100) -> Page:
    return Page(skip, limit)


def apply(components) -> None:
    components.dependency_overrides[page] = unbounded_page
