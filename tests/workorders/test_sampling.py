"""The satisfaction sample: reproducible from its seed and close to the configured share.

Tolerance: each work order is picked independently with probability p, so the count of n picks
is Binomial(n, p) with standard deviation sqrt(n p (1 - p)). The tests allow four standard
deviations either side (for n = 20,000 and p = 0.3: ±259, i.e. ±1.3 points of share). A correct
sampler lands outside that with probability about 6e-5 per seed; the seeds are fixed, so the test
is deterministic — the tolerance is there to show the sampler is unbiased, not to absorb luck.
A sampler that picked every third work order, or ignored the share, fails it.
"""

from __future__ import annotations

import math

import pytest

from ccd.workorders.sampling import draw, picked

N = 20_000
NUMBERS = [f"WO-2026{1 + i // 9000 % 12:02d}{1 + i % 28:02d}-{i % 9000 + 1:04d}" for i in range(N)]


def test_the_same_seed_picks_the_same_work_orders_in_any_order() -> None:
    first = {n for n in NUMBERS if picked(20261123, n, 0.3)}
    again = {n for n in reversed(NUMBERS) if picked(20261123, n, 0.3)}
    assert first == again
    other = {n for n in NUMBERS if picked(1, n, 0.3)}
    assert other != first
    # Different seeds are independent draws: about p^2 of all numbers are in both samples.
    assert abs(len(first & other) - N * 0.09) < 4 * math.sqrt(N * 0.09 * 0.91)


@pytest.mark.parametrize("seed", [0, 1, 42, 20261123, 2**31 - 1])
@pytest.mark.parametrize("share", [0.05, 0.3, 0.5, 0.9])
def test_the_share_is_hit_within_four_standard_deviations(seed: int, share: float) -> None:
    hits = sum(picked(seed, n, share) for n in NUMBERS)
    sd = math.sqrt(N * share * (1 - share))
    assert abs(hits - N * share) <= 4 * sd, (hits, N * share, sd)


def test_draws_are_uniform_over_deciles() -> None:
    # Chi-squared over ten bins (9 degrees of freedom): 99.99th percentile is 33.7.
    counts = [0] * 10
    for n in NUMBERS:
        counts[int(draw(7, n) * 10)] += 1
    expected = N / 10
    chi2 = sum((c - expected) ** 2 / expected for c in counts)
    assert chi2 < 33.7, counts


def test_share_zero_and_one_are_exact() -> None:
    assert not any(picked(3, n, 0.0) for n in NUMBERS[:1000])
    assert all(picked(3, n, 1.0) for n in NUMBERS[:1000])
