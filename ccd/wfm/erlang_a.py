"""Erlang A (Palm's M/M/N+M queue): Erlang C with callers who abandon after an exponential patience.

Model: arrivals at rate λ, N agents each serving at rate μ = 1/AHT, waiting callers abandon at
rate θ = 1/patience each. It is a birth-death chain on the number n of callers in the system with
birth rate λ and death rate min(n, N)·μ + max(n - N, 0)·θ.

How it is computed (numerically stable, no factorials, no powers):

* The part of the chain below N is Erlang B: with π_N := 1, Σ_{n<=N} π_n = 1/B(N, λ/μ), and B comes
  from the stable recursion in `ccd.wfm.erlang`.
* The part at and above N is the series π_{N+j}/π_N = t_j = Π_{k=1..j} λ/(Nμ + kθ), whose sum
  s = Σ t_j is Palm's function A(x, y) = 1 + Σ_j y^j / ((x+1)···(x+j)) with x = Nμ/θ, y = λ/θ,
  i.e. the power series of the lower incomplete gamma function:
  A(x, y) = x·e^y·y^(-x)·γ(x, y). The terms are summed in log space (so overloaded queues whose
  terms exceed the float range still work) until they are past their peak and below e^-46 of it.
  Then P(wait) = B·s / (1 - B + B·s)   (Mandelbaum & Zeltyn's formula).
* An arriving caller who finds j callers waiting moves up through phases k = j, ..., 0 (k callers
  ahead); phase k ends at rate r_k = Nμ + kθ (someone is served or someone ahead abandons) while
  the caller abandons at rate θ. So P(served | j) = Π_{k<=j} r_k/(r_k+θ), the mean wait of those
  served is Σ_{k<=j} 1/(r_k+θ), and P(served within T | j) is the absorption probability by time T
  of that phase chain, computed by uniformization (a Poisson-weighted sum of matrix-free steps, all
  terms positive, truncated when the Poisson tail is below 1e-15).

The abandonment probability is checked in the tests against Mandelbaum & Zeltyn's closed form
P(Ab) = (1/(ρ·A) + 1 - 1/ρ)·P(wait), ρ = λ/(Nμ), and against θ·E[queue]/λ (Little's law).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ccd.wfm.erlang import ErlangFigures, check_load, erlang_b
from ccd.wfm.errors import BadLoad

# Tail terms below exp(-46) (1e-20) of the largest are dropped; the chain is truncated there.
_LOG_CUTOFF = 46.0
_MAX_PHASES = 5_000_000
# Uniformization stops once the Poisson weight left over is below this.
_POISSON_TAIL = 1e-15


@dataclass(frozen=True)
class ErlangAChain:
    """The waiting part of the stationary chain: what an arriving caller who must wait finds.

    `weights[j]` is P(j callers already waiting | all agents busy) and `rates[j]` = Nμ + jθ.
    """

    arrival_rate: float
    service_rate: float
    abandon_rate: float
    agents: int
    probability_wait: float
    weights: tuple[float, ...]

    def rate(self, k: int) -> float:
        return self.agents * self.service_rate + k * self.abandon_rate


def chain(
    arrival_rate: float, service_rate: float, abandon_rate: float, agents: int
) -> ErlangAChain:
    """Build the truncated chain. Rates are per second; `agents` is N (0 or more)."""
    if agents < 0:
        raise BadLoad("the number of agents must be zero or more", agents=agents)
    if not (abandon_rate > 0 and math.isfinite(abandon_rate)):
        raise BadLoad("patience must be a positive number of seconds", abandon_rate=abandon_rate)
    lam, mu, theta = arrival_rate, service_rate, abandon_rate
    b = erlang_b(agents, lam / mu)
    logs = [0.0]
    peak = 0.0
    j = 0
    while True:
        j += 1
        if j > _MAX_PHASES:
            raise BadLoad("the load is too large for Erlang A", arrival_rate=lam)
        step = math.log(lam / (agents * mu + j * theta))
        value = logs[-1] + step
        logs.append(value)
        peak = max(peak, value)
        if step < 0 and value < peak - _LOG_CUTOFF:
            break
    scaled = [math.exp(v - peak) for v in logs]
    total = math.fsum(scaled)
    log_s = peak + math.log(total)
    weights = tuple(x / total for x in scaled)
    if b == 0.0:
        pw = 0.0
    else:
        x = math.log(b) + log_s  # log(B·s), which may be far outside the float range
        if x > 0:
            pw = 1.0 / (1.0 + (1.0 - b) * math.exp(-x))
        else:
            e = math.exp(x)
            pw = e / (e + (1.0 - b))
    return ErlangAChain(lam, mu, theta, agents, pw, weights)


def served_within(ch: ErlangAChain, target_s: float) -> float:
    """P(served and waited at most `target_s` | all agents busy on arrival), by uniformization."""
    theta = ch.abandon_rate
    p = list(ch.weights)
    advance = [ch.rate(k) for k in range(len(p))]
    big = advance[-1] + theta  # the fastest phase sets the uniformization rate Λ
    if target_s == 0:
        return 0.0
    stay = [1.0 - (r + theta) / big for r in advance]
    step = [r / big for r in advance]
    lt = big * target_s
    if lt <= 0.0:  # a target so small it underflows: nobody is served within it
        return 0.0
    served = 0.0  # mass absorbed into 'served' after m uniformized steps
    result = 0.0
    m = 0
    while True:
        weight = math.exp(-lt + m * math.log(lt) - math.lgamma(m + 1))
        result += weight * served
        if m > lt:
            ratio = lt / (m + 1)
            tail = weight * ratio / (1.0 - ratio)  # bounds the Poisson mass beyond m
            if tail < _POISSON_TAIL:
                return result + tail * served
        # One uniformized step: from phase k, advance with prob r_k/Λ, abandon with prob θ/Λ.
        served += p[0] * step[0]
        hi = len(p) - 1
        new = [p[k] * stay[k] for k in range(hi + 1)]
        for k in range(1, hi + 1):
            new[k - 1] += p[k] * step[k]
        while hi > 0 and new[hi] < 1e-300:  # mass only moves down: drop the emptied top
            hi -= 1
            new.pop()
        p = new
        m += 1


def erlang_a_figures(
    calls: float,
    interval_s: float,
    aht_s: float,
    agents: int,
    target_s: float,
    patience_s: float,
) -> ErlangFigures:
    """Erlang A figures for one interval.

    calls, interval_s, aht_s, agents, target_s: as for `erlang_c_figures`; patience_s: the mean time
    (s) a waiting caller holds on before abandoning.
    """
    check_load(calls, interval_s, aht_s)
    if not (patience_s > 0):
        raise BadLoad("patience must be a positive number of seconds", patience_s=patience_s)
    if target_s < 0:
        raise BadLoad("the service-level target must be zero or more seconds", target_s=target_s)
    lam = calls / interval_s
    mu = 1.0 / aht_s
    a = lam / mu
    if lam == 0:
        return ErlangFigures(agents, 0.0, target_s, 0.0, 1.0, 0.0, 0.0, 0.0, patience_s)
    ch = chain(lam, mu, 1.0 / patience_s, agents)
    theta = ch.abandon_rate
    p_served = 0.0
    served_wait = 0.0
    product = 1.0
    mean = 0.0
    for j, w in enumerate(ch.weights):
        r = ch.rate(j)
        product *= r / (r + theta)
        mean += 1.0 / (r + theta)
        p_served += w * product
        served_wait += w * product * mean
    pw = ch.probability_wait
    p_abandon = pw * (1.0 - p_served)
    answered = 1.0 - p_abandon
    asa = pw * served_wait / answered if answered > 0 else math.inf
    sl = (1.0 - pw) + pw * served_within(ch, target_s)
    occupancy = a * answered / agents if agents > 0 else 0.0
    return ErlangFigures(agents, a, target_s, pw, sl, asa, occupancy, p_abandon, patience_s)
