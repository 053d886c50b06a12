"""The decode claim in work: the small variant of ``python -m load.lab.bench decode-cost`` (30 s on a quiet machine).

Two references under callgrind (clean and multi-decode), the auth_read mix
sent through each, instructions counted per request, twice. Instruction
counts do not depend on how busy the machine is, so the test can assert what
the rps comparison cannot: multi-decode costs more work per request, and the
measurement repeats (the ratios of the two repetitions differ by < 2 %).
"""

from __future__ import annotations

import pytest

from load.lab import bench, instructions

pytestmark = pytest.mark.skipif(instructions.available() is not None, reason=f"valgrind {instructions.available()}")


#: multi-decode adds 1.2 verifications per request of the mix, about 0.4 M instructions each, to a
#: request of about 4.3 M (measured here: ratio 1.12). Half of that margin is the bound.
LEAST_RATIO = 1.05


def test_multi_decode_costs_more_instructions_per_request_and_the_ratio_repeats():
    # Windows of 10 and 20 requests after one warm-up sequence: the smallest that still visits every path first.
    repeated = bench.instruction_counts(bench.COMPARISONS["decode-cost"], cycles=1, repetitions=2, warmup=1)
    text = instructions.report(("clean", "multi-decode"), 1, repeated)
    ratios = [rep.ratio for rep in repeated]
    assert all(ratio > LEAST_RATIO for ratio in ratios), text
    assert instructions.is_stable(ratios), text
