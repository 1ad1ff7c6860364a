"""Erlang B, C and A against brute force, and staffing."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccd.wfm.erlang import erlang_b, erlang_c, erlang_c_figures, figures, staff, traffic
from ccd.wfm.erlang_a import chain, erlang_a_figures, served_within
from ccd.wfm.errors import BadLoad, BadVolumes
from ccd.wfm.volumes import parse_volumes, read_volumes, staff_intervals

# ------------------------------------------------------------------ brute force, exactly


def brute_erlang_b(n: int, a: Fraction) -> Fraction:
    """A^N/N! / sum_k A^k/k!, in exact rationals."""
    terms = [a**k / math.factorial(k) for k in range(n + 1)]
    return terms[-1] / sum(terms)


def brute_erlang_c(n: int, a: Fraction) -> Fraction:
    """The textbook formula: (A^N/N! · N/(N-A)) / (sum_{k<N} A^k/k! + A^N/N! · N/(N-A))."""
    top = a**n / math.factorial(n) * Fraction(n) / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


@given(n=st.integers(0, 40), num=st.integers(0, 400), den=st.integers(1, 10))
def test_erlang_b_recursion_equals_the_factorial_formula(n: int, num: int, den: int) -> None:
    a = Fraction(num, den)
    assert erlang_b(n, float(a)) == pytest.approx(
        float(brute_erlang_b(n, a)), rel=1e-12, abs=1e-300
    )


@given(n=st.integers(1, 40), num=st.integers(1, 400), den=st.integers(1, 10))
def test_erlang_c_equals_the_factorial_formula(n: int, num: int, den: int) -> None:
    a = Fraction(num, den)
    if a >= n:
        assert erlang_c(n, float(a)) == 1.0
        return
    assert erlang_c(n, float(a)) == pytest.approx(float(brute_erlang_c(n, a)), rel=1e-12)


def test_the_issues_example_to_four_decimals() -> None:
    f = erlang_c_figures(calls=100, interval_s=1800, aht_s=180, agents=14, target_s=20)
    a = Fraction(100 * 180, 1800)
    c = brute_erlang_c(14, a)
    sl = 1 - float(c) * math.exp(-(14 - 10) * 20 / 180)
    assert f.traffic_erlangs == 10
    assert round(f.probability_wait, 4) == round(float(c), 4) == 0.1741
    assert round(f.service_level, 4) == round(sl, 4) == 0.8884
    assert round(f.asa_s, 4) == round(float(c) * 180 / 4, 4) == 7.8359
    assert round(f.occupancy, 4) == 0.7143


def test_large_centres_stay_exact() -> None:
    # 3,000 agents: factorials would overflow a float long before this.
    p = erlang_c(3000, 2900.0)
    assert 0 < p < 1
    # Erlang C is the probability of waiting: it must fall as agents are added.
    assert erlang_c(3001, 2900.0) < p


def test_overload_has_no_finite_answer() -> None:
    f = erlang_c_figures(100, 1800, 180, 10, 20)  # 10 erlangs on 10 agents
    assert f.probability_wait == 1 and f.service_level == 0 and math.isinf(f.asa_s)
    assert f.as_json()["asa_s"] is None


def test_bad_loads_are_refused_with_an_id() -> None:
    with pytest.raises(BadLoad) as info:
        traffic(-1, 1800, 180)
    assert info.value.error_id == "bad-load"
    with pytest.raises(BadLoad):
        erlang_c_figures(100, 0, 180, 14, 20)
    with pytest.raises(BadLoad):
        staff(100, 1800, 180, 20, service_level=1.5)


# ------------------------------------------------------------------ staffing


@pytest.mark.parametrize(
    ("calls", "aht", "target", "level"),
    [(100, 180, 20, 0.8), (100, 180, 20, 0.95), (3, 300, 30, 0.8), (2000, 240, 15, 0.9)],
)
def test_staff_is_the_smallest_number_that_meets_the_target(
    calls: float, aht: float, target: float, level: float
) -> None:
    found = staff(calls, 1800, aht, target, level)
    assert found.service_level >= level
    fewer = erlang_c_figures(calls, 1800, aht, found.agents - 1, target)
    assert fewer.service_level < level


def test_staff_for_the_issues_load_is_14_for_80_in_20() -> None:
    f = staff(100, 1800, 180, 20, 0.8)
    assert f.agents == 14
    assert round(erlang_c_figures(100, 1800, 180, 13, 20).service_level, 4) == 0.7956


def test_staff_with_a_maximum_occupancy() -> None:
    f = staff(100, 1800, 180, 20, 0.8, max_occupancy=0.7)
    assert f.agents == 15 and f.occupancy <= 0.7


# ------------------------------------------------------------------ Erlang A


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    c = erlang_c_figures(100, 1800, 180, 14, 20)
    a = erlang_a_figures(100, 1800, 180, 14, 20, patience_s=1e9)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-6)
    assert a.asa_s == pytest.approx(c.asa_s, abs=1e-4)
    assert a.probability_wait == pytest.approx(c.probability_wait, abs=1e-6)


@pytest.mark.parametrize(
    ("calls", "agents", "patience"),
    [(100, 14, 60), (100, 8, 120), (400, 10, 30), (50, 1, 600), (1000, 90, 200)],
)
def test_erlang_a_abandonment_three_ways(calls: float, agents: int, patience: float) -> None:
    """P(abandon) from the served products, from Mandelbaum & Zeltyn's closed form, and from
    Little's law (abandon rate = θ·E[queue]) must agree."""
    lam, mu, theta = calls / 1800, 1 / 180, 1 / patience
    f = erlang_a_figures(calls, 1800, 180, agents, 20, patience)
    ch = chain(lam, mu, theta, agents)
    # Palm's A(x, y) = 1 + sum_j y^j / ((x+1)...(x+j)): summed here directly, in exact-ish floats
    x, y = agents * mu / theta, lam / theta
    term, palm = 1.0, 1.0
    for j in range(1, 100_000):
        term *= y / (x + j)
        palm += term
        if term < 1e-18 * palm and j > y:
            break
    b = erlang_b(agents, lam / mu)
    p_wait = palm * b / (1 + (palm - 1) * b)
    rho = lam / (agents * mu)
    closed = (1 / (rho * palm) + 1 - 1 / rho) * p_wait
    assert f.probability_wait == pytest.approx(p_wait, rel=1e-9)
    assert f.probability_abandon == pytest.approx(closed, rel=1e-6, abs=1e-12)
    queue_length = f.probability_wait * sum(j * w for j, w in enumerate(ch.weights))
    assert f.probability_abandon == pytest.approx(theta * queue_length / lam, rel=1e-6, abs=1e-12)


def _hypoexponential_cdf(rates: list[Fraction], t: float) -> float:
    """P(sum of Exp(rate_k) <= t) for distinct rates: 1 - sum_k prod_{l!=k} r_l/(r_l-r_k) e^{-r_k t}."""
    total = 0.0
    for k, rk in enumerate(rates):
        coef = Fraction(1)
        for idx, rl in enumerate(rates):
            if idx != k:
                coef *= rl / (rl - rk)
        total += float(coef) * math.exp(-float(rk) * t)
    return 1 - total


def test_erlang_a_service_level_by_uniformization_matches_the_closed_form() -> None:
    # Small chain, rational rates: a caller who finds j waiting is served within T with
    # P(served | j) × P(phases done by T), the phases exponential with rates N·mu + k·theta + theta.
    lam, mu, theta, n = Fraction(1, 20), Fraction(1, 180), Fraction(1, 90), 3
    ch = chain(float(lam), float(mu), float(theta), n)
    for target in (5.0, 20.0, 60.0):
        expected = 0.0
        for j, w in enumerate(ch.weights[:40]):
            rates = [n * mu + k * theta + theta for k in range(j + 1)]
            served = 1.0
            for r in rates:
                served *= float((r - theta) / r)
            expected += w * served * _hypoexponential_cdf(rates, target)
        assert served_within(ch, target) == pytest.approx(expected, abs=1e-9)


def test_erlang_a_edge_cases() -> None:
    none = erlang_a_figures(100, 1800, 180, 0, 20, 60)
    assert none.service_level == 0 and none.probability_abandon == pytest.approx(1.0)
    quiet = erlang_a_figures(0, 1800, 180, 3, 20, 60)
    assert quiet.service_level == 1 and quiet.probability_abandon == 0
    # far overloaded: the chain's terms pass the float range; log-space summing copes
    jam = erlang_a_figures(20000, 1800, 180, 20, 20, 600)
    assert 0.9 < jam.probability_abandon < 1 and jam.probability_wait == pytest.approx(1.0)
    assert figures(100, 1800, 180, 14, 20, patience_s=60) == erlang_a_figures(
        100, 1800, 180, 14, 20, 60
    )


@settings(max_examples=40, deadline=None)
@given(
    calls=st.floats(1, 500),
    agents=st.integers(1, 40),
    patience=st.floats(5, 2000),
    target=st.floats(0, 120),
)
def test_erlang_a_figures_are_probabilities(
    calls: float, agents: int, patience: float, target: float
) -> None:
    f = erlang_a_figures(calls, 1800, 180, agents, target, patience)
    for p in (f.probability_wait, f.service_level, f.probability_abandon, f.occupancy):
        assert -1e-12 <= p <= 1 + 1e-12
    assert f.service_level <= 1 - f.probability_abandon + 1e-9
    assert f.asa_s >= 0


def test_staff_with_patience_uses_erlang_a() -> None:
    f = staff(100, 1800, 180, 20, 0.8, patience_s=120)
    assert f.patience_s == 120 and f.service_level >= 0.8
    assert erlang_a_figures(100, 1800, 180, f.agents - 1, 20, 120).service_level < 0.8


# ------------------------------------------------------------------ volumes


def test_per_interval_staffing_from_a_csv(tmp_path: Path) -> None:
    path = tmp_path / "day.csv"
    path.write_text(
        "\ufeffinterval,calls,aht\n# morning\n08:00,100,180\n08:30,140,\n\n09:00,0,\n",
        encoding="utf-8",
    )
    volumes = read_volumes(path)
    assert [(v.label, v.calls, v.aht_s) for v in volumes] == [
        ("08:00", 100, 180),
        ("08:30", 140, None),
        ("09:00", 0, None),
    ]
    rows = staff_intervals(volumes, 1800, 200, 20, 0.8)
    assert rows[0].figures.agents == staff(100, 1800, 180, 20, 0.8).agents  # its own AHT
    assert rows[1].figures.agents == staff(140, 1800, 200, 20, 0.8).agents
    assert rows[2].figures.agents == 0
    assert rows[1].as_json()["interval"] == "08:30"


def test_bad_volumes_name_the_file_and_the_line(tmp_path: Path) -> None:
    with pytest.raises(BadVolumes) as info:
        parse_volumes("interval,calls\n08:00,many\n", "day.csv")
    assert info.value.details == {"file": "day.csv", "line": 2}
    with pytest.raises(BadVolumes) as info:
        parse_volumes("slot,calls\n08:00,1\n", "day.csv")
    assert info.value.details["column"] == "interval"
    with pytest.raises(BadVolumes):
        read_volumes(tmp_path / "missing.csv")
