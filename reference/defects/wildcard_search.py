"""DATA-4: the search term goes into LIKE as is: `%` and `_` act as wildcards."""

from sqlalchemy import or_


class WildcardSearch:
    def condition(self, columns, term):
        return or_(*(column.ilike(f"%{term}%") for column in columns))


def apply(components) -> None:
    components.search = WildcardSearch()
