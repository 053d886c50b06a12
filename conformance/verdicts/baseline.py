"""The baseline: accepted failures, as data with a reason and an expiry, so that a team adopts the gate gradually.

A baseline file (JSON, or TOML with ``[[accepted]]`` tables) lists failures a
team knows of::

    {"accepted": [{"requirement": "ENV-3", "test": "conformance/test_envelope.py::test_error_has_...[wrong-role]",
                   "reason": "generic codes until the error refactor", "ticket": "BE-1234",
                   "expires": "2027-03-31", "first_seen": "2026-12-01", "last_seen": "2026-12-01"}]}

``test`` may be omitted (every test of the requirement). Against a run:

- a failure matched by an entry that has not expired is ``known``: it does not fail the run;
- a failure matched by no entry is new: it fails the run, and a paste-ready entry is printed;
- a failure matched only by an expired entry fails the run, saying so;
- an entry whose test ran and did not fail (without ``test``: whose requirement passed) is ``fixed``, so that the
  file shrinks (a failure of the run under ``--conformance-strict``).

``--baseline-update`` writes the file from the run: entries of failures that
still fail keep their reason, ticket and expiry and get a new ``last_seen``;
new failures are added with a reason to fill in; fixed entries are dropped;
entries whose tests did not run (another selection) are kept as they are. The
run that writes the file is judged against the file it writes
(:func:`judge_update`): its new failures are ``known`` and marked new, so it
passes unless an entry expired or something no baseline accepts failed.
Entries still carrying the placeholder reason (:data:`TODO_REASON`) are warned
about on every run until someone writes why the failure is accepted.
(Conventions of schemathesis' ``--baseline`` with ``expires``, the OpenID
conformance suite's expected failures, ZAP's progress file.)
"""

from __future__ import annotations

import datetime
import json
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

KEYS = ("requirement", "test", "reason", "ticket", "expires", "first_seen", "last_seen")
TODO_REASON = "TODO: why this failure is accepted, and until when"


class BaselineError(ValueError):
    """The baseline file cannot be read (one line for the user)."""


@dataclass(frozen=True)
class Entry:
    requirement: str
    test: str | None = None
    reason: str = TODO_REASON
    ticket: str | None = None
    expires: str | None = None  # ISO date; the entry no longer applies from the day after
    first_seen: str | None = None
    last_seen: str | None = None

    def matches(self, requirement: str, test: str) -> bool:
        return self.requirement == requirement and (self.test is None or self.test == test)

    def expired(self, today: datetime.date) -> bool:
        return self.expires is not None and datetime.date.fromisoformat(self.expires) < today

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}

    def paste_ready(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False)


@dataclass
class Outcome:
    """What the baseline says about one run."""

    known: list[tuple[Entry, str]] = field(default_factory=list)  # (entry, test)
    new: list[Entry] = field(default_factory=list)  # entries the run would need: paste-ready
    expired: list[tuple[Entry, str]] = field(default_factory=list)
    fixed: list[Entry] = field(default_factory=list)
    placeholder: list[Entry] = field(default_factory=list)  # entries whose reason is still TODO_REASON
    #: Under --baseline-update: the entries it adds (new failures, now known), the fixed ones it drops, the file.
    added: list[Entry] = field(default_factory=list)
    dropped: list[Entry] = field(default_factory=list)
    written: list[Entry] | None = None

    def as_json(self, path: str | None) -> dict[str, Any]:
        document: dict[str, Any] = {
            "file": path,
            "known": [
                {**entry.as_dict(), "test": test, **({"new": True} if entry in self.added else {})}
                for entry, test in self.known
            ],
            "new": [entry.as_dict() for entry in self.new],
            "expired": [{**entry.as_dict(), "test": test} for entry, test in self.expired],
            "fixed": [entry.as_dict() for entry in self.fixed],
            "placeholder": [entry.as_dict() for entry in self.placeholder],
        }
        if self.written is not None:
            document.update(
                written=len(self.written),
                added=[entry.as_dict() for entry in self.added],
                dropped=[entry.as_dict() for entry in self.dropped],
            )
        return document


def load(path: str | Path) -> list[Entry]:
    """The entries of a baseline file; a missing file is an empty baseline (``--baseline-update`` creates it)."""
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_text("utf-8")
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text or "{}")
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise BaselineError(
            f"--baseline {path}: not valid {'TOML' if path.suffix == '.toml' else 'JSON'}: {exc}"
        ) from None
    raw = data.get("accepted", []) if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise BaselineError(f"--baseline {path}: expected a list of accepted failures under 'accepted'")
    entries = []
    for number, item in enumerate(raw, 1):
        if not isinstance(item, dict) or not isinstance(item.get("requirement"), str):
            raise BaselineError(f"--baseline {path}: entry #{number} needs a 'requirement'")
        unknown = sorted(set(item) - set(KEYS))
        if unknown:
            raise BaselineError(
                f"--baseline {path}: entry #{number} has unknown key(s) {', '.join(unknown)} (known: {', '.join(KEYS)})"
            )
        expires = item.get("expires")
        if expires is not None:
            try:
                datetime.date.fromisoformat(str(expires))
            except ValueError:
                raise BaselineError(
                    f"--baseline {path}: entry #{number} expires {expires!r}, not a date (YYYY-MM-DD)"
                ) from None
        entries.append(Entry(**{key: (str(value) if value is not None else None) for key, value in item.items()}))
    return entries


def judge(
    entries: list[Entry], failing: dict[str, list[str]], judged: dict[str, set[str]], today: datetime.date
) -> Outcome:
    """The baseline outcome of a run: ``failing`` maps requirement -> its failing tests, ``judged``
    requirement -> every test that judged it (passed or failed); tests that did not run say nothing."""
    outcome = Outcome()
    stamp = today.isoformat()
    for requirement, tests in failing.items():
        for test in tests:
            matching = [entry for entry in entries if entry.matches(requirement, test)]
            live = [entry for entry in matching if not entry.expired(today)]
            if live:
                outcome.known.append((live[0], test))
            elif matching:
                outcome.expired.append((matching[0], test))
            else:
                outcome.new.append(Entry(requirement, test, first_seen=stamp, last_seen=stamp))
    for entry in entries:
        ran, failed = judged.get(entry.requirement, set()), set(failing.get(entry.requirement, ()))
        if entry.test is None and ran and not failed:
            outcome.fixed.append(entry)
        elif entry.test is not None and entry.test in ran and entry.test not in failed:
            outcome.fixed.append(entry)
    outcome.placeholder = [entry for entry in entries if has_placeholder(entry)]
    return outcome


def has_placeholder(entry: Entry) -> bool:
    """Whether nobody wrote yet why this failure is accepted."""
    return entry.reason.strip() in ("", TODO_REASON)


def judge_update(
    entries: list[Entry], failing: dict[str, list[str]], judged: dict[str, set[str]], today: datetime.date
) -> Outcome:
    """The outcome of a ``--baseline-update`` run: judged against the baseline it writes.

    Its new failures become known (their entries are ``added``, marked new), fixed entries are ``dropped``
    rather than reported as fixed; expired entries stay expired (an update does not extend an expiry).
    """
    outcome = judge(entries, failing, judged, today)
    outcome.known += [(entry, str(entry.test)) for entry in outcome.new]
    outcome.added, outcome.new = outcome.new, []
    outcome.dropped, outcome.fixed = outcome.fixed, []
    outcome.written = updated(entries, outcome, today)
    outcome.placeholder = [entry for entry in outcome.written if has_placeholder(entry)]
    return outcome


def updated(entries: list[Entry], outcome: Outcome, today: datetime.date) -> list[Entry]:
    """The baseline after ``--baseline-update``: still-failing entries refreshed, new ones added, fixed ones gone,
    the others (whose tests did not run) kept as they are."""
    stamp = today.isoformat()
    matched = [entry for entry, _test in outcome.known + outcome.expired]
    gone = outcome.fixed + outcome.dropped
    kept: list[Entry] = []
    for entry in entries:
        if entry in gone:
            continue
        if entry in matched:
            entry = replace(entry, last_seen=stamp, first_seen=entry.first_seen or stamp)
        if entry not in kept:
            kept.append(entry)
    return kept + [entry for entry in outcome.added + outcome.new if entry not in kept]


def summary_lines(outcome: Outcome, path: str | None) -> list[str]:
    """What the terminal says about the baseline after the requirement table."""
    lines: list[str] = []
    if outcome.written is not None:
        count = len(outcome.written)
        lines.append(
            f"baseline written to {path}: {count} entr{'y' if count == 1 else 'ies'} "
            f"({len(outcome.added)} new, {len(outcome.dropped)} fixed one(s) dropped)"
        )
        lines += [f"  new: {entry.paste_ready()}" for entry in outcome.added]
    if outcome.new:
        lines.append(
            f"{len(outcome.new)} failure(s) not in the baseline {path}; paste-ready entries (fill in the reason):"
        )
        lines += [f"  {entry.paste_ready()}," for entry in outcome.new]
    if outcome.fixed:
        lines.append(
            f"{len(outcome.fixed)} baseline entr(y/ies) no longer fail: remove them (or run with --baseline-update)"
        )
    if outcome.expired:
        lines.append(
            f"{len(outcome.expired)} failure(s) matched only by an expired baseline entry: fix them, or "
            f"give the entry a new 'expires' in {path}"
        )
    if outcome.placeholder:
        named = ", ".join(f"{entry.requirement} {entry.test or '(every test)'}" for entry in outcome.placeholder[:5])
        more = f" and {len(outcome.placeholder) - 5} more" if len(outcome.placeholder) > 5 else ""
        lines.append(
            f"warning: {len(outcome.placeholder)} baseline entr(y/ies) in {path} still carry the placeholder "
            f"reason: write why each failure is accepted (and a ticket, an expiry): {named}{more}"
        )
    return lines


def write(path: str | Path, entries: list[Entry]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".toml":
        lines = []
        for entry in entries:
            lines.append("[[accepted]]")
            lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in entry.as_dict().items()]
            lines.append("")
        path.write_text("\n".join(lines), "utf-8")
    else:
        document = {"accepted": [entry.as_dict() for entry in entries]}
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
