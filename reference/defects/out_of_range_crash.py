"""API-1: a documented bound that is not enforced: `skip` past 2**63 crashes with a 500.

The published document still says `maximum: 1000000` (it is built from the
route's own paging dependency), but the dependency in force takes any integer
above the minimum, and SQLite cannot bind one of 2**63 or more (OverflowError).
Fuzzing that stays within, or just past, the documented bounds never sees it.
"""

from typing import Annotated

from fastapi import Query

from reference.routes.patients import Page, page


def unbounded_page(
    skip: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1)] = 100,
) -> Page:
    """The lower bounds stay (a negative skip is still a 422, ENV-5's query case): only the maxima are gone."""
    return Page(skip, limit)


def apply(components) -> None:
    components.dependency_overrides[page] = unbounded_page
