"""Run the full conformance suite N times against the clean reference and count what did not pass, per requirement.

    python scripts/flakiness.py 10 [--jobs 2] [--reports DIR]

A conforming SUT must get the same verdicts every time: every requirement
that is not ``pass`` in some run (PERF-1 excepted: the load runner judges it)
is flakiness of the harness or the reference. Exit code 1 if there was any.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file from anywhere: the repo's packages

from tests.kill_matrix import judge, plan  # noqa: E402
from tests.kill_matrix.runs import RunResult, run_harness  # noqa: E402


def summarize(results: list[RunResult]) -> tuple[Counter[str], list[str]]:
    """Per requirement, in how many runs it did not plainly pass; and the runs that gave no report."""
    unclean: Counter[str] = Counter()
    no_report = []
    for result in results:
        if result.report is None:
            no_report.append(result.describe_failure_to_run())
            continue
        unclean.update(judge.unclean(result.report, plan.NOT_RUN_ON_CLEAN).keys())
    return unclean, no_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=int, help="how many full runs")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (default 1: the plain CI situation)")
    parser.add_argument("--reports", type=Path, help="keep each run's report.json and output here")
    args = parser.parse_args(argv)
    workdir = args.reports or Path(tempfile.mkdtemp(prefix="flakiness-"))
    started = time.monotonic()

    def one(index: int) -> RunResult:
        result = run_harness(plan.CLEAN_RUN, workdir / f"run-{index:03d}")
        problems = list(judge.unclean(result.report, plan.NOT_RUN_ON_CLEAN).values()) if result.report else None
        print(
            f"run {index:3d}: {result.duration_s:5.0f} s, exit {result.exit_code}: "
            + ("no report" if problems is None else "; ".join(problems) or "clean"),
            flush=True,
        )
        return result

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as executor:
        results = list(executor.map(one, range(1, args.runs + 1)))
    wall = time.monotonic() - started

    unclean, no_report = summarize(results)
    durations = sorted(r.duration_s for r in results)
    unclean_runs = sum(1 for r in results if r.report is None or judge.unclean(r.report, plan.NOT_RUN_ON_CLEAN))
    print(f"\n{args.runs} full runs of the clean reference, {args.jobs} at a time: wall time {wall:.0f} s")
    median = durations[len(durations) // 2]
    print(f"per run: min {durations[0]:.0f} s, median {median:.0f} s, max {durations[-1]:.0f} s")
    print(f"runs with a requirement not plainly passing: {unclean_runs} of {args.runs}")
    print(f"runs without a report: {len(no_report)}")
    for rid, count in unclean.most_common():
        print(f"  {rid:<8} not pass in {count} of {args.runs} runs")
    for text in no_report:
        print(text)
    print(f"reports in {workdir}")
    return 1 if unclean or no_report else 0


if __name__ == "__main__":
    sys.exit(main())
