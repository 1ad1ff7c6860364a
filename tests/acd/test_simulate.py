"""The simulator (the real core and service on a MockClock) against the Erlang formulas.

Tolerances come from the run itself, by batch means: the run is cut into equal batches of
consecutive hours; a queue's state carries over from one hour to the next (a busy spell lasts
minutes), so hours are not independent, but batches of several hours nearly are. The standard
error of a figure is then stdev(batch values) / sqrt(batches), and the simulated figure must lie
within 4 standard errors of the formula (a fixed seed makes the outcome repeatable; 4 SE leaves
a false alarm rate below 1e-3 for any seed). So that "within 4 SE" cannot pass because the run was
too short to say anything, each test also bounds the standard error itself.
"""

from __future__ import annotations

import math
import statistics

import pytest

from ccd.acd.simulate import HourFigures, SimResult, simulate
from ccd.wfm.erlang import erlang_c_figures
from ccd.wfm.erlang_a import erlang_a_figures


def _batches(result: SimResult, hours_per_batch: int) -> list[list[HourFigures]]:
    h = list(result.hourly)
    return [h[i : i + hours_per_batch] for i in range(0, len(h), hours_per_batch)]


def _standard_error(values: list[float]) -> float:
    return statistics.stdev(values) / math.sqrt(len(values))


def _sl(batch: list[HourFigures]) -> float:
    return sum(h.answered_within_target for h in batch) / sum(h.offered for h in batch)


def _asa(batch: list[HourFigures]) -> float:
    return sum(h.wait_s for h in batch) / sum(h.answered for h in batch)


def _abandon(batch: list[HourFigures]) -> float:
    return sum(h.abandoned for h in batch) / sum(h.offered for h in batch)


@pytest.mark.slow
def test_without_abandonment_the_simulator_agrees_with_erlang_c() -> None:
    # The example: 100 calls per 30 min (200/h), AHT 180 s, 14 agents, target 20 s.
    # 120 simulated hours (about 24,000 calls) in 12 batches of 10 hours: the standard error of
    # the service level comes out near 0.01 and that of the ASA near 0.9 s.
    result = simulate(200, 180, 14, hours=120, target_s=20, seed=2024)
    erlang = erlang_c_figures(100, 1800, 180, 14, 20)
    assert erlang.service_level == pytest.approx(0.8884, abs=1e-4)
    assert erlang.asa_s == pytest.approx(7.836, abs=1e-3)
    batches = _batches(result, 10)
    assert len(batches) == 12
    sl_se = _standard_error([_sl(b) for b in batches])
    asa_se = _standard_error([_asa(b) for b in batches])
    assert sl_se < 0.02 and asa_se < 2.0  # the run is long enough to say something
    assert abs(result.service_level - erlang.service_level) < 4 * sl_se
    assert abs(result.asa_s - erlang.asa_s) < 4 * asa_se
    # Arrivals are Poisson: the count is within 4 sd (sqrt of the mean) of 200/h × 120 h.
    assert abs(result.offered - 24_000) < 4 * math.sqrt(24_000)
    assert result.abandoned == 0 and result.answered == result.offered
    # Occupancy: the talk time of each batch's callers over the batch's agent time estimates it
    # batch by batch; the end effect (talk running past the window) is smaller than 1e-3.
    occupancy = [sum(h.talk_s for h in b) / (14 * 3600 * len(b)) for b in batches]
    assert abs(result.occupancy - erlang.occupancy) < 4 * _standard_error(occupancy) + 1e-3


@pytest.mark.slow
def test_with_patience_the_simulator_agrees_with_erlang_a() -> None:
    # 200/h, AHT 180 s, 12 agents, patience 120 s: overloaded enough that callers abandon.
    result = simulate(200, 180, 12, hours=60, target_s=20, patience=120, seed=7)
    erlang = erlang_a_figures(200, 3600, 180, 12, 20, 120)
    batches = _batches(result, 5)
    sl_se = _standard_error([_sl(b) for b in batches])
    ab_se = _standard_error([_abandon(b) for b in batches])
    assert sl_se < 0.03 and ab_se < 0.02
    assert abs(result.service_level - erlang.service_level) < 4 * sl_se
    assert abs(result.abandoned / result.offered - erlang.probability_abandon) < 4 * ab_se
    assert result.answered + result.abandoned == result.offered
    assert result.erlang == erlang


def test_a_seed_gives_one_result() -> None:
    a = simulate(150, 200, 10, hours=2, target_s=20, seed=5)
    b = simulate(150, 200, 10, hours=2, target_s=20, seed=5)
    c = simulate(150, 200, 10, hours=2, target_s=20, seed=6)
    same = ("offered", "answered", "service_level", "asa_s", "occupancy", "hourly")
    assert all(getattr(a, k) == getattr(b, k) for k in same)
    assert (a.offered, a.asa_s) != (c.offered, c.asa_s)


def test_an_eight_hour_day_runs_through_and_reports_its_speed() -> None:
    result = simulate(200, 180, 14, hours=8, target_s=20, seed=1)
    assert abs(result.offered - 1600) < 4 * math.sqrt(1600)
    assert result.simulated_s >= 8 * 3600
    assert result.calls_per_wall_second == pytest.approx(result.offered / result.wall_s)
    assert 0 < result.occupancy < 1 and 0 < result.service_level <= 1
    data = result.as_json()
    for key in ("offered", "answered", "abandoned", "service_level", "asa_s", "occupancy"):
        assert key in data


def test_no_agents_no_answers() -> None:
    result = simulate(60, 180, 0, hours=1, target_s=20, patience=30, seed=3)
    assert result.answered == 0 and result.abandoned == result.offered > 0
    assert result.service_level == 0
