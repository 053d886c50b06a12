"""Which documented operations API-1 reached: its verdict is a plain pass only when every one was fuzzed.

A fuzzer that ran out of budget after a few operations has said nothing about
the others, so API-1 must not pass as if it had. Both passes (the extreme
values and schemathesis) add the requests they sent per operation; an
operation is *reached* when it got at least ``MIN_CASES`` of them, or every
case schemathesis had for it (at least one: an operation with nothing to vary
has few). :meth:`Reach.judge` then says:

    every operation reached     nothing (the passes' own outcomes stand)
    some not reached            ``NotRun`` naming them: API-1 is ``pass`` with a
                                ``partial: ...`` reason (judged on what was fuzzed)
    no case sent at all         ``Inconclusive``
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from conformance.outcomes import Inconclusive, NotRun

#: Requests an operation must get (both passes together) to count as fuzzed.
MIN_CASES = 5
#: Operations named in the reason at most.
NAMED = 12


@dataclass
class Reach:
    """The requests each documented operation got from the API-1 passes of this run."""

    labels: tuple[str, ...]  # every operation to fuzz, "METHOD /path", in document order
    cases: Counter[str] = field(default_factory=Counter)
    exhausted: set[str] = field(default_factory=set)  # operations schemathesis had nothing more for
    passes: list[str] = field(default_factory=list)  # the passes that reported, in order

    def add(self, name: str, cases: Mapping[str, int], exhausted: Iterable[str] = ()) -> None:
        """What one pass sent per operation (labels it does not know are counted too)."""
        self.passes.append(name)
        self.cases.update({label: count for label, count in cases.items() if count})
        self.exhausted.update(exhausted)

    def reached(self, label: str) -> bool:
        count = self.cases[label]
        return count >= MIN_CASES or (count > 0 and label in self.exhausted)

    def short(self) -> list[str]:
        """The operations not reached, in document order."""
        return [label for label in self.labels if not self.reached(label)]

    def judge(self) -> None:
        """Raise what the reach means for API-1 (see the module docstring); return when every operation was reached."""
        if not self.passes:
            raise NotRun("neither API-1 pass (extreme values, schemathesis) ran in this session")
        if not any(self.cases[label] for label in self.labels):
            raise Inconclusive(
                f"no request reached any of the {len(self.labels)} operations of the document "
                f"({' and '.join(self.passes)}); a longer --fuzz-budget reaches them"
            )
        short = self.short()
        if short:
            named = ", ".join(f"{label} ({_cases(self.cases[label])})" for label in short[:NAMED])
            more = f" and {len(short) - NAMED} more" if len(short) > NAMED else ""
            raise NotRun(
                f"{len(self.labels) - len(short)} of {len(self.labels)} operations reached (at least "
                f"{MIN_CASES} cases each); not reached: {named}{more}; a longer --fuzz-budget reaches them"
            )


def _cases(count: int) -> str:
    return f"{count} case" if count == 1 else f"{count} cases"
