"""The LOCK-2 race: many wrong passwords for one email at once.

Shared by the scenario test and by ``python -m scenarios.measure.lockout_race``,
which measures how often the race is caught against a given SUT.
"""

from __future__ import annotations

from conformance.exchange import Exchange
from conformance.profile import Profile
from scenarios.kit.burst import login_request, send_concurrently

#: Wrong passwords per burst, all in flight at once. Below the default per-IP login limit (60/60),
#: so that a burst from a fresh source address is never rate-limited.
RACE_BURST = 48
#: Bursts per verdict, each on a fresh email. Measured against the reference's racy-lockout defect, one
#: burst of 48 gave 6 to 27 INVALID_CREDENTIALS (threshold 5), 6 in 2 runs of 100: a second burst
#: makes a miss need two such near-misses in a row.
RACE_ROUNDS = 2


def burst_size(profile: Profile, *, own_address: bool, spread: bool = False) -> int:
    """How many attempts one burst may send.

    From fresh addresses: the full burst when it may be ``spread`` over several
    (``scenarios.kit.logins``), else what one address's limit leaves room for (and a
    control); from the run's own address, a third of the limit.
    """
    count = profile.rate_limits.login.count
    if own_address:
        return RACE_BURST if spread else min(RACE_BURST, count - 2)
    return min(RACE_BURST, count // 3)


def wrong_password_burst(
    base_url: str, profile: Profile, email: str, password: str, *, size: int, local_address: str | None
) -> list[Exchange]:
    """``size`` concurrent logins of ``email`` with the wrong ``password``, over warmed-up connections."""
    planned = [login_request(profile, email, password) for _ in range(size)]
    return send_concurrently(
        base_url, planned, concurrency=size, warm_path=profile.operation("health").path, local_address=local_address
    )
