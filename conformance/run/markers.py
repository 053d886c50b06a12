"""Reading the harness's markers off a collected test: the requirements it checks, the clauses it exercises.

Shared by the plugin (validation at collection, the report's data) and the coverage matrix.
"""

from __future__ import annotations

import pytest

from conformance import requirements


def requirement_ids(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for mark in item.iter_markers("requirement"):
        ids += [str(rid) for rid in mark.args if str(rid) not in ids]
    return ids


def clause_ids(item: pytest.Item) -> list[str]:
    """The clause IDs the test declares with ``@pytest.mark.clause``, ``{name}`` filled from its parameters.

    A ValueError names an unknown clause, a placeholder that is no parameter,
    or a clause of a requirement the test does not carry: each is a usage
    error at collection, like an unknown requirement ID.
    """
    params = getattr(getattr(item, "callspec", None), "params", {})
    own = requirement_ids(item)
    ids: list[str] = []
    for mark in item.iter_markers("clause"):
        for template in mark.args:
            try:
                cid = str(template).format_map({name: str(value) for name, value in params.items()})
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"clause {template!r}: {exc} is not a parameter of the test") from None
            try:
                found = requirements.clause(cid)
            except KeyError as exc:
                raise ValueError(exc.args[0]) from None
            if found.requirement not in own:
                raise ValueError(
                    f"clause {cid!r} belongs to {found.requirement}, which the test's requirement "
                    f"marker does not name ({', '.join(own) or 'none'})"
                )
            if cid not in ids:
                ids.append(cid)
    return ids
