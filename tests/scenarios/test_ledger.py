"""The run's ledger of revocations and locks: waiting, and which requirement a lapse is blamed on."""

from __future__ import annotations

from scenarios.kit.ledger import MIN_AGE, Lapse, Ledger


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def ledger_with_clock() -> tuple[Ledger, Clock]:
    clock = Clock()
    return Ledger(clock=clock, sleep=clock.sleep), clock


def revoke(ledger, how="logout", requirement="REV-1", kind="access"):
    ledger.revoked(f"token-{len(ledger.entries)}", kind=kind, how=how, requirement=requirement, where="t::x")
    return ledger.entries[-1]


def lapse(ledger, entry):
    return Lapse(entry, "ACCEPTED", ledger.now() - entry.at)


def restart(ledger, clock):
    clock.now += 1
    ledger.event("restart", token_requirement="REV-3", lock_requirement="LOCK-4")
    clock.now += 1


def test_only_a_token_is_entered():
    ledger, _ = ledger_with_clock()
    ledger.revoked(None, kind="refresh", how="logout", requirement="REV-1", where="t")
    assert ledger.entries == []


def test_secrets_do_not_appear_in_reprs():
    ledger, _ = ledger_with_clock()
    entry = revoke(ledger)
    ledger.locked("a@example.com", "Sup3r-Secret!", where="t")
    assert "token-0" not in repr(entry) and "Sup3r-Secret!" not in repr(ledger.entries)


def test_wait_is_only_what_remains_of_the_minimum_age():
    ledger, clock = ledger_with_clock()
    revoke(ledger)
    clock.now += 12
    assert ledger.wait_until_all_older_than(MIN_AGE) == MIN_AGE - 12
    assert ledger.wait_until_all_older_than(MIN_AGE) == 0


def test_old_entries_cost_no_wait():
    ledger, clock = ledger_with_clock()
    revoke(ledger)
    clock.now += 45
    assert ledger.wait_until_all_older_than(MIN_AGE) == 0
    assert clock.slept == []


def test_empty_ledger_costs_no_wait():
    ledger, _ = ledger_with_clock()
    assert ledger.wait_until_all_older_than(MIN_AGE) == 0


def test_a_calm_lapse_is_its_origins():
    ledger, clock = ledger_with_clock()
    entries = [revoke(ledger), revoke(ledger, "password change", "REV-6")]
    clock.now += 40
    blamed = ledger.blame([lapse(ledger, entries[1])])
    assert list(blamed) == ["REV-6"]


def test_a_lapse_across_a_restart_is_rev_3_unless_time_explains_it():
    ledger, clock = ledger_with_clock()
    before = revoke(ledger)
    restart(ledger, clock)
    after = revoke(ledger)
    clock.now += 40
    assert ledger.owner(before) == "REV-3" and ledger.owner(after) == "REV-1"
    assert list(ledger.blame([lapse(ledger, before)])) == ["REV-3"]
    both = ledger.blame([lapse(ledger, before), lapse(ledger, after)])
    assert {key: len(value) for key, value in both.items()} == {"REV-1": 1, "blocked by REV-1": 1}


def test_time_explains_only_lapses_at_no_lesser_age():
    """A calm token taken again at 40 s does not explain one that lapsed across a restart at 20 s."""
    ledger, clock = ledger_with_clock()
    across = revoke(ledger)
    restart(ledger, clock)
    calm = revoke(ledger)
    blamed = ledger.blame([Lapse(across, "x", 20.0), Lapse(calm, "y", 40.0)])
    assert {key: len(value) for key, value in blamed.items()} == {"REV-3": 1, "REV-1": 1}


def test_a_rotation_lapse_is_blocked_by_a_logout_lapse_at_no_greater_age():
    ledger, clock = ledger_with_clock()
    logout, rotation = revoke(ledger), revoke(ledger, "rotation", "REV-2", kind="refresh")
    clock.now += 35
    blamed = ledger.blame([lapse(ledger, logout), lapse(ledger, rotation)])
    assert {key: len(value) for key, value in blamed.items()} == {"REV-1": 1, "blocked by REV-1": 1}


def test_a_lapse_across_a_restart_of_another_kind_is_explained_by_the_same_kind_only():
    ledger, clock = ledger_with_clock()
    before = revoke(ledger, "password change", "REV-6")
    restart(ledger, clock)
    calm_rotation = revoke(ledger, "rotation", "REV-2", kind="refresh")
    clock.now += 40
    blamed = ledger.blame([lapse(ledger, before), lapse(ledger, calm_rotation)])
    assert {key: len(value) for key, value in blamed.items()} == {"REV-3": 1, "REV-2": 1}


def test_lock_lapses_across_a_restart_are_lock_4_or_blocked_by_lock_1():
    ledger, clock = ledger_with_clock()
    ledger.locked("a@example.com", "pw-a", where="t")
    before = ledger.entries[-1]
    restart(ledger, clock)
    ledger.locked("b@example.com", "pw-b", where="t")
    after = ledger.entries[-1]
    clock.now += 40
    assert list(ledger.blame([lapse(ledger, before)])) == ["LOCK-4"]
    both = ledger.blame([lapse(ledger, before), lapse(ledger, after)])
    assert {key: len(value) for key, value in both.items()} == {"LOCK-1": 1, "blocked by LOCK-1": 1}


def test_a_token_lapse_never_explains_a_lock_lapse():
    ledger, clock = ledger_with_clock()
    ledger.locked("a@example.com", "pw-a", where="t")
    lock = ledger.entries[-1]
    restart(ledger, clock)
    token = revoke(ledger)
    clock.now += 40
    blamed = ledger.blame([lapse(ledger, lock), lapse(ledger, token)])
    assert set(blamed) == {"LOCK-4", "REV-1"}


def test_a_token_taken_before_the_restart_is_not_the_restarts():
    """The real backend's case: a token accepted before any restart was charged to REV-3 by the later re-check."""
    ledger, clock = ledger_with_clock()
    accepted_early, held = revoke(ledger), revoke(ledger)
    clock.now += 1
    ledger.taken(accepted_early)
    restart(ledger, clock)
    clock.now += 40
    assert ledger.owner(accepted_early) == "REV-1" and ledger.owner(held) == "REV-3"
    blamed = ledger.blame([lapse(ledger, accepted_early)])
    assert list(blamed) == ["REV-1"]


def test_a_token_taken_only_after_the_restart_is_still_the_restarts():
    ledger, clock = ledger_with_clock()
    entry = revoke(ledger, "rotation", "REV-2", kind="refresh")
    restart(ledger, clock)
    ledger.taken(entry)
    assert ledger.owner(entry) == "REV-3"
