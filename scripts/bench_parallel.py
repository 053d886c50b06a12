"""Serial vs parallel (pytest -n N) wall time of the full conformance suite on the managed reference, side by side.

    python scripts/bench_parallel.py [ROUNDS] [WORKERS]

Each round runs the suite once serially and once with N workers, alternating, so both see the same machine;
it prints each time and the ratio serial/parallel per round and their median (a figure that holds only for
the machine it ran on: say which when you quote it).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from conformance.sut.process import run_bounded  # noqa: E402


def run(*args: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONFORMANCE_", "PYTEST_"))}
    started = time.monotonic()
    done = run_bounded(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--startup-timeout=60", *args],
        timeout=900,
        env=env,
        cwd=REPO,
    )
    if done.returncode != 0:
        raise SystemExit(f"the run {' '.join(args) or '(serial)'} did not pass:\n{done.output[-2000:]}")
    return time.monotonic() - started


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    workers = sys.argv[2] if len(sys.argv) > 2 else "2"
    ratios = []
    for number in range(1, rounds + 1):
        serial, parallel = run(), run("-n", workers)
        ratios.append(serial / parallel)
        print(
            f"round {number}: serial {serial:.1f} s, -n {workers} {parallel:.1f} s, ratio {ratios[-1]:.2f}", flush=True
        )
    print(
        f"median serial/parallel ratio over {rounds} rounds: {statistics.median(ratios):.2f} (load average "
        f"{os.getloadavg()[0]:.1f} at the end)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
