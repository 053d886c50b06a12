"""The AUTH-7 dictionary of guessable signing secrets, read from ``data/weak_secrets.txt``.

The list is data (its sources and format are in the file's header), so that it
can grow without touching code. Each entry has a label that a failure shows
instead of the secret: a report must not hand out a key the SUT accepts,
even one from a public list.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

DATA_FILE = "weak_secrets.txt"
SECTION_PREFIX = "## "
EMPTY = "<empty>"


@dataclass(frozen=True)
class WeakSecret:
    """One dictionary entry; ``index`` counts from 1 in file order, ``line`` is its line in the file."""

    index: int
    line: int
    section: str
    secret: str

    @property
    def label(self) -> str:
        return f"weak secret #{self.index} ({self.section}; {DATA_FILE} line {self.line})"

    def __repr__(self) -> str:  # never the secret itself, not even in a traceback
        return f"WeakSecret({self.label})"


def parse(text: str) -> tuple[WeakSecret, ...]:
    """The entries of a dictionary in the format of ``data/weak_secrets.txt``; a repeated secret is an error."""
    entries: list[WeakSecret] = []
    seen: dict[str, int] = {}
    section = "unsorted"
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.startswith(SECTION_PREFIX):
            section = raw[len(SECTION_PREFIX) :].strip()
            continue
        if not raw or raw.startswith("#"):
            continue
        secret = "" if raw == EMPTY else raw
        if secret in seen:
            raise ValueError(f"{DATA_FILE} line {number}: repeats the secret of line {seen[secret]}")
        seen[secret] = number
        entries.append(WeakSecret(len(entries) + 1, number, section, secret))
    return tuple(entries)


@functools.cache
def load() -> tuple[WeakSecret, ...]:
    """The packaged dictionary."""
    return parse(resources.files("conformance.actors").joinpath("data", DATA_FILE).read_text(encoding="utf-8"))
