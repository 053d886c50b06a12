"""Which harness runs the kill matrix needs.

Every defect gets one run. The precision sample (one defect per contract area)
runs the full suite, so that run shows both that the defect is caught and that
nothing else is blamed; the other defects run only their own requirements,
which is much quicker. The clean reference runs the full suite.
"""

from __future__ import annotations

from reference.defects import BUNDLES, DEFECTS
from tests.kill_matrix.runs import HarnessRun

FULL_RUN_TIMEOUT_S = 420  # ~1 min alone; two at a time on a busy 2-core machine can take several
SELECTED_RUN_TIMEOUT_S = 240
STRICT_RUN_TIMEOUT_S = 900  # paced to 5 registrations and 5 logins a minute per source address

# One defect per area of the contract: envelope, auth, revocation, lockout, logs, headers, size, data.
PRECISION_SAMPLE = (
    "generic-codes",
    "multi-decode",
    "memory-revocation",
    "racy-lockout",
    "unmasked-logs",
    "headers-success-only",
    "content-length-only-limit",
    "shared-cache",
    # A real-world habit: the 500 of an unhandled error closes the connection without notice.
    "guard-crash",
)

CLEAN_RUN = HarnessRun(defect=None, requirements=None, timeout_s=FULL_RUN_TIMEOUT_S)
#: The conforming variant: a real FastAPI/slowapi service's strict per-IP limits, declared in the profile. It must
#: change nothing: the harness paces itself, so every requirement still passes, none inconclusive.
STRICT_RUN = HarnessRun(
    defect=None, requirements=None, timeout_s=STRICT_RUN_TIMEOUT_S, variant="strict-limits", mostly_waiting=True
)
#: The staging case in CI: one source address at strict limits, on a short selection (scripts/single_source.py runs
#: the full suite, and the lockout's paced probes, which take minutes at 5 logins a minute): RATE-1 judged from the
#: run's own address after every other login, the enumeration probe paced to the limit.
SINGLE_SOURCE_SELECTION = ("RATE-1", "AUTH-5")
SINGLE_SOURCE_RUNS = {
    name: HarnessRun(
        defect=defect,
        requirements=SINGLE_SOURCE_SELECTION,
        timeout_s=STRICT_RUN_TIMEOUT_S,
        variant="single-source",
        mostly_waiting=True,
    )
    for name, defect in (
        ("clean", None),
        ("no-retry-after", "no-retry-after"),
        ("user-enumeration", "user-enumeration"),
    )
}
#: Many defects at once, like a legacy service: each member's requirements fail, nothing else is accused.
BUNDLE_RUNS = {
    name: HarnessRun(defect=",".join(members), requirements=None, timeout_s=FULL_RUN_TIMEOUT_S, label=name)
    for name, members in BUNDLES.items()
}

#: Requirements whose probes wait: the ledger presents revocations and locks again 30 s after them
#: (scenarios/test_time.py), RATE-1 waits out a rate window. A run selected to one of them mostly waits.
WAITING_REQUIREMENTS = frozenset({"REV-1", "REV-2", "REV-3", "REV-5", "REV-6", "LOCK-1", "LOCK-4", "RATE-1"})

# Requirements that a plain conformance run cannot judge, and what the report's reason must say.
NOT_RUN_ON_CLEAN = {"PERF-1": "(enable with --load"}  # load is destructive: the suite runs it only when asked


def run_for(defect: str, *, full: bool = False) -> HarnessRun:
    """The run that judges this defect (``full``: the full suite even outside the sample)."""
    if full or defect in PRECISION_SAMPLE:
        return HarnessRun(defect=defect, requirements=None, timeout_s=FULL_RUN_TIMEOUT_S)
    own = DEFECTS[defect].requirements
    return HarnessRun(
        defect=defect,
        requirements=own,
        timeout_s=SELECTED_RUN_TIMEOUT_S,
        mostly_waiting=not WAITING_REQUIREMENTS.isdisjoint(own),
    )


def all_runs(*, full: bool = False) -> list[HarnessRun]:
    """Every run, longest first so the two workers finish close together (``full``: every defect, full suite)."""
    return [
        STRICT_RUN,
        *SINGLE_SOURCE_RUNS.values(),
        CLEAN_RUN,
        *BUNDLE_RUNS.values(),
        *(run_for(d, full=full) for d in PRECISION_SAMPLE),
        *(run_for(d, full=full) for d in DEFECTS if d not in PRECISION_SAMPLE),
    ]
