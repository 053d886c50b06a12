"""Hypothesis strategies for the stateful scenarios.

Values are plain data (no live accounts, no sockets): rules and strategies
cannot take fixtures, so a scenario draws a *plan* here and carries it out with
accounts it creates itself. Every plan is small on purpose: each example costs
real requests against a SUT with rate limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import Phase, settings
from hypothesis import strategies as st

from conformance.wire.pacing import SCARCE_PER_MINUTE, scarce  # noqa: F401  (scenarios import them from here)

MAX_CONCURRENCY = 64
#: Milliseconds. Enough to reorder requests on a loaded 2-core machine, small enough to keep examples quick.
MAX_JITTER_MS = 20


@dataclass(frozen=True)
class EmailCase:
    """Which letters of an email to upper-case (the mask repeats over the address)."""

    mask: tuple[bool, ...]

    def apply(self, email: str) -> str:
        if not any(self.mask):
            return email
        return "".join(c.upper() if self.mask[i % len(self.mask)] else c for i, c in enumerate(email))

    @property
    def is_identity(self) -> bool:
        return not any(self.mask)


@dataclass(frozen=True)
class Attempt:
    """One wrong-password login attempt of an attack."""

    account: int  # index into the plan's accounts
    case: EmailCase
    delay: float  # seconds to wait before sending (jitter)


@dataclass(frozen=True)
class AttackPlan:
    """Wrong-password attempts interleaved over a few accounts, at most ``concurrency`` in flight.

    Only wrong passwords: a success may reset the failure counter, and under
    concurrency its place in the order is unknown, so the right password is
    tried after the attack, and sequences mixing both are sent one by one
    (:func:`login_sequences`).
    """

    accounts: int
    attempts: tuple[Attempt, ...]
    concurrency: int


@dataclass(frozen=True)
class IsolationPlan:
    """Interleaved writes and reads of several users, ``concurrency`` at a time.

    Each step is ``(user index, action)``; actions are ``create``, ``list``,
    ``search`` (by a name fragment shared by all users) and ``get_foreign``
    (read a patient of another user by id). ``warm``: every user lists and
    searches once before the burst, so that a cache holds their lists.
    """

    users: int
    steps: tuple[tuple[int, str], ...]
    concurrency: int
    warm: bool = False


def pinned_in_budget(pinned: int, *, pinned_only: bool = False) -> settings:
    """``@settings`` that count a test's ``pinned`` ``@example`` cases in the profile's example budget.

    Pinned dense examples run every time, in addition to the generated ones;
    taking them out of the generated budget keeps a scenario's cost (accounts,
    requests, seconds) what the profile says. ``pinned_only``: nothing is
    generated (one source address at a strict limit cannot afford more).
    """
    if pinned_only:
        return settings(max_examples=max(1, pinned), phases=(Phase.explicit,))
    return settings(max_examples=max(1, settings.default.max_examples - pinned))


def concurrency_levels(max_value: int = MAX_CONCURRENCY) -> st.SearchStrategy[int]:
    """How many requests are in flight at once: 1 (sequential) to ``max_value``."""
    return st.integers(min_value=1, max_value=max_value)


def jitter() -> st.SearchStrategy[float]:
    """A delay before a request, in seconds; mostly zero so that requests pile up."""
    return st.one_of(st.just(0), st.integers(min_value=0, max_value=MAX_JITTER_MS)).map(lambda ms: ms / 1000)


@st.composite
def email_cases(draw: st.DrawFn) -> EmailCase:
    """The identity (most often), all upper-case, or a mixed-case variant."""
    kind = draw(st.sampled_from(["same", "same", "upper", "mixed"]))
    if kind == "same":
        return EmailCase((False,))
    if kind == "upper":
        return EmailCase((True,))
    return EmailCase(tuple(draw(st.lists(st.booleans(), min_size=2, max_size=7))))


@st.composite
def login_sequences(draw: st.DrawFn, *, min_size: int = 1, max_size: int = 12) -> list[tuple[bool, EmailCase]]:
    """Right (True) and wrong (False) passwords for one account, each under an email case variant.

    Wrong passwords dominate so that most sequences reach the lockout.
    """
    size = draw(st.integers(min_value=min_size, max_value=max_size))
    return [(draw(st.sampled_from([False, False, False, True])), draw(email_cases())) for _ in range(size)]


@st.composite
def attack_plans(
    draw: st.DrawFn, *, max_accounts: int = 3, max_attempts: int = 24, max_concurrency: int = MAX_CONCURRENCY
) -> AttackPlan:
    """Wrong-password attempts on 1..``max_accounts`` accounts, with case variants, jitter and a concurrency level."""
    accounts = draw(st.integers(min_value=1, max_value=max_accounts))
    size = draw(st.integers(min_value=1, max_value=max_attempts))
    attempts = tuple(
        Attempt(
            account=draw(st.integers(min_value=0, max_value=accounts - 1)),
            case=draw(email_cases()),
            delay=draw(jitter()),
        )
        for _ in range(size)
    )
    return AttackPlan(accounts, attempts, draw(concurrency_levels(max_concurrency)))


@st.composite
def isolation_plans(
    draw: st.DrawFn, *, max_users: int = 3, max_steps: int = 16, max_concurrency: int = 16
) -> IsolationPlan:
    """Interleavings of creates and reads across 2..``max_users`` users."""
    users = draw(st.integers(min_value=2, max_value=max_users))
    action = st.sampled_from(["create", "create", "list", "search", "get_foreign"])
    steps = draw(
        st.lists(st.tuples(st.integers(min_value=0, max_value=users - 1), action), min_size=2, max_size=max_steps)
    )
    return IsolationPlan(users, tuple(steps), draw(concurrency_levels(max_concurrency)), draw(st.booleans()))
