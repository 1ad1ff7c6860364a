"""Erlang B, Erlang C and staffing: how many agents a load needs, and what a staffing level gives.

All figures are for one interval of `interval_s` seconds with `calls` arrivals (Poisson) and an
average handle time `aht_s` (exponential), so the offered traffic is `calls * aht_s / interval_s`
erlangs. Erlang B is computed by its recursion

    B(0) = 1,  B(n) = A·B(n-1) / (n + A·B(n-1)),

which stays within [0, 1] at every step and never forms a factorial or a power, so it is exact to
double precision for thousands of agents. Erlang C follows from it:

    C = N·B / (N - A·(1 - B))                       (probability that a caller waits)
    SL(T) = 1 - C·exp(-(N - A)·T / AHT)             (share answered within T seconds)
    ASA = C·AHT / (N - A)                           (average speed of answer, all callers)
    occupancy = A / N

With `patience_s` the figures come from Erlang A instead (callers abandon after an exponential
patience); see `ccd.wfm.erlang_a`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ccd.wfm.errors import BadLoad, NoStaffing

# Staffing searches stop here: a hotline that needs more agents than this is a typo in the input.
MAX_AGENTS = 100_000


@dataclass(frozen=True)
class ErlangFigures:
    """What a number of agents gives for one interval's load.

    `service_level` is the share of offered callers answered within `target_s` seconds (with
    abandonment, callers who abandon count against it); `asa_s` is the mean wait of answered
    callers (0 for those who did not wait); `occupancy` is the share of agent time spent handling
    calls. `asa_s` is `math.inf` when the load is more than the agents can ever serve.
    """

    agents: int
    traffic_erlangs: float
    target_s: float
    probability_wait: float
    service_level: float
    asa_s: float
    occupancy: float
    probability_abandon: float = 0.0
    patience_s: float | None = None

    def as_json(self) -> dict[str, float | int | None]:
        """The figures as a JSON-able dict (infinite values become None)."""

        def finite(value: float) -> float | None:
            return value if math.isfinite(value) else None

        out: dict[str, float | int | None] = {
            "agents": self.agents,
            "traffic_erlangs": self.traffic_erlangs,
            "target_s": self.target_s,
            "probability_wait": self.probability_wait,
            "service_level": self.service_level,
            "asa_s": finite(self.asa_s),
            "occupancy": self.occupancy,
        }
        if self.patience_s is not None:
            out["probability_abandon"] = self.probability_abandon
            out["patience_s"] = self.patience_s
        return out


def traffic(calls: float, interval_s: float, aht_s: float) -> float:
    """Offered traffic in erlangs.

    calls: arrivals in the interval; interval_s: its length in seconds; aht_s: average handle time.
    """
    check_load(calls, interval_s, aht_s)
    return calls * aht_s / interval_s


def check_load(calls: float, interval_s: float, aht_s: float) -> None:
    """Raise `BadLoad` unless calls >= 0 and the interval and AHT are positive and finite."""
    if not (math.isfinite(calls) and calls >= 0):
        raise BadLoad("calls must be zero or more", calls=calls)
    if not (math.isfinite(interval_s) and interval_s > 0):
        raise BadLoad("the interval must be a positive number of seconds", interval_s=interval_s)
    if not (math.isfinite(aht_s) and aht_s > 0):
        raise BadLoad("the average handle time must be positive", aht_s=aht_s)


def erlang_b(servers: int, traffic_erlangs: float) -> float:
    """Blocking probability of `servers` lines offered `traffic_erlangs` (Erlang B, by recursion)."""
    if servers < 0:
        raise BadLoad("the number of servers must be zero or more", servers=servers)
    if not (math.isfinite(traffic_erlangs) and traffic_erlangs >= 0):
        raise BadLoad("traffic must be zero or more erlangs", traffic=traffic_erlangs)
    b = 1.0
    for n in range(1, servers + 1):
        ab = traffic_erlangs * b
        b = ab / (n + ab)
    return b


def erlang_c(agents: int, traffic_erlangs: float) -> float:
    """Probability that a caller has to wait (Erlang C); 1.0 when the load is at or over capacity."""
    if agents < 0:
        raise BadLoad("the number of agents must be zero or more", agents=agents)
    if traffic_erlangs == 0:
        return 0.0
    if agents <= traffic_erlangs:
        return 1.0
    b = erlang_b(agents, traffic_erlangs)
    return agents * b / (agents - traffic_erlangs * (1.0 - b))


def erlang_c_figures(
    calls: float, interval_s: float, aht_s: float, agents: int, target_s: float
) -> ErlangFigures:
    """Erlang C figures for one interval.

    calls: arrivals in the interval; interval_s: its length (s); aht_s: average handle time (s);
    agents: agents handling calls; target_s: the service-level threshold (answered within T s).
    """
    if target_s < 0:
        raise BadLoad("the service-level target must be zero or more seconds", target_s=target_s)
    a = traffic(calls, interval_s, aht_s)
    c = erlang_c(agents, a)
    if a == 0:
        return ErlangFigures(agents, 0.0, target_s, 0.0, 1.0, 0.0, 0.0)
    if agents <= a:
        occupancy = 1.0
        return ErlangFigures(agents, a, target_s, 1.0, 0.0, math.inf, occupancy)
    sl = 1.0 - c * math.exp(-(agents - a) * target_s / aht_s)
    asa = c * aht_s / (agents - a)
    return ErlangFigures(agents, a, target_s, c, sl, asa, a / agents)


def figures(
    calls: float,
    interval_s: float,
    aht_s: float,
    agents: int,
    target_s: float,
    patience_s: float | None = None,
) -> ErlangFigures:
    """Erlang C figures, or Erlang A figures when callers have a mean `patience_s` (seconds)."""
    if patience_s is None or math.isinf(patience_s):
        return erlang_c_figures(calls, interval_s, aht_s, agents, target_s)
    from ccd.wfm.erlang_a import erlang_a_figures

    return erlang_a_figures(calls, interval_s, aht_s, agents, target_s, patience_s)


def staff(
    calls: float,
    interval_s: float,
    aht_s: float,
    target_s: float,
    service_level: float,
    patience_s: float | None = None,
    max_occupancy: float | None = None,
) -> ErlangFigures:
    """The figures of the smallest number of agents whose service level reaches `service_level`.

    calls, interval_s, aht_s: the load (see `erlang_c_figures`); target_s: answered within T
    seconds; service_level: the share that must be (0 < SL < 1, e.g. 0.8 for 80/20);
    patience_s: mean patience for Erlang A (None: nobody abandons, Erlang C);
    max_occupancy: optionally also keep occupancy at or below this share.
    """
    if not 0 < service_level < 1:
        raise BadLoad(
            "the service level must be a fraction between 0 and 1", service_level=service_level
        )
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise BadLoad("the maximum occupancy must be in (0, 1]", max_occupancy=max_occupancy)
    a = traffic(calls, interval_s, aht_s)

    def meets(n: int) -> ErlangFigures | None:
        f = figures(calls, interval_s, aht_s, n, target_s, patience_s)
        if f.service_level < service_level:
            return None
        if max_occupancy is not None and f.occupancy > max_occupancy:
            return None
        return f

    if a == 0:
        return figures(calls, interval_s, aht_s, 0, target_s, patience_s)
    # The service level grows with the number of agents, so search: gallop up, then bisect.
    lo = 0 if patience_s is not None else math.floor(a)  # lo never meets the target
    hi = max(lo + 1, math.ceil(a))
    found = meets(hi)
    while found is None:
        lo = hi
        hi *= 2
        if hi > MAX_AGENTS:
            raise NoStaffing(
                "no staffing up to the search limit meets the target", limit=MAX_AGENTS
            )
        found = meets(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        f = meets(mid)
        if f is None:
            lo = mid
        else:
            hi, found = mid, f
    return found
