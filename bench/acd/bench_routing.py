"""Routing decisions per second and the latency of one decision, at hotline-group scale.

2,000 agents in 50 queues (each agent has 2-4 queue skills at levels 1-10, queues mix the
strategies and half have an overflow rule), with about 500 callers waiting and every agent busy.
Then, repeatedly: a busy agent hangs up (the core must pick the best of the waiting callers
across that agent's queues and offer them), the agent answers, and a new caller arrives (the core
must look for an eligible ready agent; there is none, so the caller is queued in order).
Each `Acd.handle` call is timed on its own.

Run: .venv/bin/python bench/acd/bench_routing.py [--rounds N] [--seed S]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from ccd.acd import model as m
from ccd.acd.core import Acd
from ccd.acd.model import AgentState as S

QUEUES = 50
AGENTS = 2000
WAITING = 500
STRATEGIES = [
    m.Strategy.LONGEST_IDLE,
    m.Strategy.FEWEST_CALLS,
    m.Strategy.BEST_SKILL,
    m.Strategy.ROUND_ROBIN,
]


def build(rng: random.Random) -> tuple[Acd, list[str]]:
    queues = []
    for i in range(QUEUES):
        overflow: tuple[m.OverflowRule, ...] = ()
        if i % 2:
            overflow = (m.OverflowRule(60, add_skills={f"q{(i + 1) % QUEUES}": 1}),)
        queues.append(
            m.QueueConfig(f"q{i}", {f"q{i}": 1}, strategy=STRATEGIES[i % 4], overflow=overflow)
        )
    agents = []
    for a in range(AGENTS):
        skills = {f"q{q}": rng.randint(1, 10) for q in rng.sample(range(QUEUES), rng.randint(2, 4))}
        agents.append(m.AgentConfig(f"a{a}", skills))
    return Acd(queues, agents), [q.name for q in queues]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    acd, queues = build(rng)
    now = 0.0
    n = 0

    def enter(at: float) -> m.Step:
        nonlocal n
        n += 1
        caller = m.Caller(f"c{n}", vip=rng.random() < 0.05, repeat_caller=rng.random() < 0.1)
        return acd.handle(m.CallerEnters(caller, rng.choice(queues)), at)

    for _ in range(AGENTS + WAITING):
        enter(now)
    for a in range(AGENTS):
        now += 0.001
        step = acd.handle(m.AgentLogin(f"a{a}", f"sip:a{a}", ready=True), now)
        for ring in (x for x in step.actions if isinstance(x, m.Ring)):
            acd.handle(m.AgentAnswered(ring.agent, ring.call_id), now)
    stats = acd.statistics(now)
    waiting = sum(q.waiting for q in stats.queues)
    busy = sum(1 for a in stats.agents if a.state is S.TALKING)
    print(f"setup: {AGENTS} agents in {QUEUES} queues, {busy} talking, {waiting} callers waiting")

    talking = [a.agent for a in stats.agents if a.state is S.TALKING]
    freed: list[float] = []  # agent hangs up -> pick a caller across the agent's queues
    arrived: list[float] = []  # caller arrives -> look for an agent, queue in order
    answered: list[float] = []
    offers = 0
    clock = time.perf_counter
    wall0 = clock()
    for _ in range(args.rounds):
        now += 0.05
        i = rng.randrange(len(talking))
        agent = talking[i]
        t = clock()
        step = acd.handle(m.AgentHangup(agent), now)
        freed.append(clock() - t)
        rings = [x for x in step.actions if isinstance(x, m.Ring)]
        if rings:
            offers += 1
            t = clock()
            acd.handle(m.AgentAnswered(agent, rings[0].call_id), now)
            answered.append(clock() - t)
        else:
            talking[i] = talking[-1]
            talking.pop()  # idle now: nobody it may take is waiting
        t = clock()
        step = enter(now)
        arrived.append(clock() - t)
        for ring in (x for x in step.actions if isinstance(x, m.Ring)):
            acd.handle(m.AgentAnswered(ring.agent, ring.call_id), now)
            talking.append(ring.agent)
    wall = clock() - wall0
    decisions = freed + arrived
    stats = acd.statistics(now)
    waiting = sum(q.waiting for q in stats.queues)
    print(f"after {args.rounds} rounds: {waiting} waiting, {offers} offers made on hang-up")
    print(f"routing decisions: {len(decisions)} in {sum(decisions):.3f} s of handle() time")
    print(f"decisions per second: {len(decisions) / sum(decisions):,.0f}")
    print(
        f"all events per second (wall, incl. answers): {(len(decisions) + len(answered)) / wall:,.0f}"
    )
    for name, values in (("agent freed", freed), ("caller arrives", arrived), ("answer", answered)):
        print(
            f"{name:15s} p50 {statistics.median(values) * 1e6:7.1f} us   "
            f"p99 {percentile(values, 0.99) * 1e6:7.1f} us   max {max(values) * 1e6:8.1f} us"
        )
    print(f"one decision, all kinds: p99 {percentile(decisions, 0.99) * 1e6:.1f} us")


if __name__ == "__main__":
    main()
