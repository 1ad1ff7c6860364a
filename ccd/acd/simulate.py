"""`ccd simulate`: the real ACD core and service under trio's MockClock with simulated legs.

Callers arrive as a Poisson process, each with an exponential handle time and (optionally) an
exponential patience after which a caller still waiting hangs up. Stations answer at once and
agents have no wrap-up, so the model is exactly Erlang C (or Erlang A with patience) and the
measured figures can be checked against `ccd.wfm`. Arrivals stop after `hours`; the calls still
in the system are then served to the end, so every arrival counts. Every random draw comes from
generators seeded with `seed`, one per quantity, drawn in arrival order: a seed gives one result.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import cast

import trio
import trio.testing

from ccd.acd import model as m
from ccd.acd.core import Acd
from ccd.acd.ports import AgentLeg
from ccd.acd.service import AcdService
from ccd.wfm.erlang import ErlangFigures, figures

QUEUE = "sim"


@dataclass(frozen=True)
class HourFigures:
    """What happened to the callers who arrived in one simulated hour."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    answered_within_target: int = 0
    wait_s: float = 0.0  # total wait of the answered callers
    talk_s: float = 0.0  # total talk time of the answered callers


@dataclass(frozen=True)
class SimResult:
    """Measured figures of one simulated run.

    service_level: answered within target / offered (abandoned callers count against it);
    asa_s: mean wait of answered callers; occupancy: agents' talk time within the arrival window
    / (agents × hours); calls_per_wall_second: offered calls per second of real time.
    """

    calls_per_hour: float
    aht_s: float
    agents: int
    hours: float
    target_s: float
    patience_s: float | None
    seed: int
    offered: int
    answered: int
    abandoned: int
    answered_within_target: int
    service_level: float
    asa_s: float
    occupancy: float
    simulated_s: float
    wall_s: float
    calls_per_wall_second: float
    hourly: tuple[HourFigures, ...]
    erlang: ErlangFigures

    def as_json(self) -> dict[str, object]:
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "answered_within_target": self.answered_within_target,
            "service_level": self.service_level,
            "asa_s": self.asa_s,
            "occupancy": self.occupancy,
            "abandon_rate": self.abandoned / self.offered if self.offered else 0.0,
            "calls_per_hour": self.calls_per_hour,
            "aht_s": self.aht_s,
            "agents": self.agents,
            "hours": self.hours,
            "target_s": self.target_s,
            "patience_s": self.patience_s,
            "seed": self.seed,
            "simulated_s": self.simulated_s,
            "wall_s": self.wall_s,
            "calls_per_wall_second": self.calls_per_wall_second,
            "erlang": self.erlang.as_json(),
        }


class _AgentLeg:
    """An agent who talks for the caller's handle time, then hangs up."""

    def __init__(self, handle_s: float) -> None:
        self._handle_s = handle_s
        self._gone = trio.Event()

    async def wait_hangup(self) -> None:
        with trio.move_on_after(self._handle_s):
            await self._gone.wait()

    async def hangup(self) -> None:
        self._gone.set()

    async def bridge(self, other: AgentLeg) -> None:
        await trio.lowlevel.checkpoint()


class _CallerLeg:
    """A caller who hangs up after their patience unless an agent answered first."""

    def __init__(self, patience_s: float | None) -> None:
        self._patience_s = patience_s
        self._bridged = trio.Event()

    async def start_music(self, music: str | None) -> None:
        await trio.lowlevel.checkpoint()

    async def announce(self, position: int, expected_wait_s: float | None) -> None:
        await trio.lowlevel.checkpoint()

    async def wait_digit(self) -> str:
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def ask_callback_number(self) -> str | None:
        await trio.lowlevel.checkpoint()
        return None

    async def wait_hangup(self) -> None:
        if self._patience_s is not None:
            with trio.move_on_after(self._patience_s):
                await self._bridged.wait()
            if not self._bridged.is_set():
                return  # patience ran out first
        await trio.sleep_forever()  # answered: the agent ends the call

    async def bridge(self, agent: AgentLeg) -> None:
        self._bridged.set()
        await trio.lowlevel.checkpoint()

    async def hold(self, music: str | None) -> None:
        await trio.lowlevel.checkpoint()

    async def unhold(self) -> None:
        await trio.lowlevel.checkpoint()


class _Stations:
    """Stations that answer at once; each call's handle time was drawn when it arrived."""

    def __init__(self) -> None:
        self.handle_s: dict[str, float] = {}

    async def ring(self, agent: str, station: str, call_id: str, timeout_s: float) -> AgentLeg:
        await trio.lowlevel.checkpoint()
        return _AgentLeg(self.handle_s.pop(call_id))


class _Tally:
    """A record sink that keeps only the counts the result needs."""

    def __init__(self, t0: float, horizon_s: float, target_s: float) -> None:
        self.t0 = t0
        self.horizon = t0 + horizon_s
        self.target_s = target_s
        self.entered: dict[str, float] = {}
        # per arrival hour: offered, answered, abandoned, within target, wait, talk
        self.hours: dict[int, list[float]] = {}
        self.talking: dict[str, list[float]] = {}  # answered call -> its hour's figures
        self.busy_s = 0.0

    def _hour(self, call_id: str | None) -> list[float]:
        at = self.entered.pop(call_id or "")
        return self.hours.setdefault(int((at - self.t0) // 3600), [0, 0, 0, 0, 0.0, 0.0])

    def store(self, records: Sequence[m.AcdRecord]) -> None:
        for r in records:
            kind = r.kind
            if kind is m.RecordKind.ENTER_QUEUE:
                self.entered[r.call_id or ""] = r.at
            elif kind is m.RecordKind.ANSWERED:
                wait = cast(float, r.details["wait_s"])
                h = self._hour(r.call_id)
                h[0] += 1
                h[1] += 1
                h[3] += wait <= self.target_s
                h[4] += wait
                self.talking[r.call_id or ""] = h
            elif kind is m.RecordKind.ABANDONED:
                h = self._hour(r.call_id)
                h[0] += 1
                h[2] += 1
            elif kind is m.RecordKind.COMPLETED:
                end = r.at
                talk = cast(float, r.details["talk_s"])
                self.talking.pop(r.call_id or "")[5] += talk
                start = end - talk
                self.busy_s += max(0.0, min(end, self.horizon) - max(start, self.t0))


async def run_simulation(
    calls_per_hour: float,
    aht: float,
    agents: int,
    hours: float,
    target_s: float,
    patience: float | None = None,
    seed: int = 0,
) -> SimResult:
    """Run one simulation inside the current trio run (use a MockClock, or it takes real hours).

    calls_per_hour: mean arrival rate; aht: mean handle time (s); agents: agents logged in and
    ready; hours: how long callers keep arriving; target_s: service-level threshold (s);
    patience: mean patience (s) of waiting callers, None for callers who never hang up;
    seed: seeds the random draws.
    """
    wall0 = time.perf_counter()
    t0 = trio.current_time()
    queue = m.QueueConfig(
        QUEUE,
        service_level_s=target_s,
        ring_timeout_s=3600.0,
        announce_every_s=None,
        callback_key=None,
        ivr_key=None,
    )
    acd = Acd([queue], [m.AgentConfig(f"agent{i}") for i in range(agents)])
    stations = _Stations()
    tally = _Tally(t0, hours * 3600.0, target_s)
    service = AcdService(acd, stations, tally)
    arrivals = random.Random(f"{seed}:arrivals")
    handling = random.Random(f"{seed}:handle")
    patiences = random.Random(f"{seed}:patience")
    rate = calls_per_hour / 3600.0
    async with trio.open_nursery() as outer:
        await outer.start(service.run)
        for i in range(agents):
            service.feed(m.AgentLogin(f"agent{i}", f"sim:{i}", ready=True))
        async with trio.open_nursery() as calls:
            t = 0.0
            n = 0
            while rate > 0:
                t += arrivals.expovariate(rate)
                if t >= hours * 3600.0:
                    break
                await trio.sleep_until(t0 + t)
                n += 1
                call_id = f"sim-{n}"
                stations.handle_s[call_id] = handling.expovariate(1.0 / aht)
                leg = _CallerLeg(patiences.expovariate(1.0 / patience) if patience else None)
                calls.start_soon(service.queue_call, leg, QUEUE, m.Caller(call_id))
        outer.cancel_scope.cancel()
    simulated = trio.current_time() - t0
    per_hour = [
        HourFigures(int(h[0]), int(h[1]), int(h[2]), int(h[3]), h[4], h[5])
        for _, h in sorted(tally.hours.items())
    ]
    offered = sum(h.offered for h in per_hour)
    answered = sum(h.answered for h in per_hour)
    within = sum(h.answered_within_target for h in per_hour)
    wall = time.perf_counter() - wall0
    return SimResult(
        calls_per_hour=calls_per_hour,
        aht_s=aht,
        agents=agents,
        hours=hours,
        target_s=target_s,
        patience_s=patience,
        seed=seed,
        offered=offered,
        answered=answered,
        abandoned=sum(h.abandoned for h in per_hour),
        answered_within_target=within,
        service_level=within / offered if offered else 1.0,
        asa_s=sum(h.wait_s for h in per_hour) / answered if answered else 0.0,
        occupancy=tally.busy_s / (agents * hours * 3600.0) if agents and hours else 0.0,
        simulated_s=simulated,
        wall_s=wall,
        calls_per_wall_second=offered / wall if wall > 0 else math.inf,
        hourly=tuple(per_hour),
        erlang=figures(calls_per_hour, 3600.0, aht, agents, target_s, patience),
    )


def simulate(
    calls_per_hour: float,
    aht: float,
    agents: int,
    hours: float,
    target_s: float,
    patience: float | None = None,
    seed: int = 0,
) -> SimResult:
    """Run `run_simulation` in a fresh trio run on a MockClock that jumps over idle time.

    Parameters as for `run_simulation`. Must not be called from inside a running trio loop.
    """
    wall0 = time.perf_counter()
    clock = trio.testing.MockClock(autojump_threshold=0)
    result = trio.run(
        partial(run_simulation, calls_per_hour, aht, agents, hours, target_s, patience, seed),
        clock=clock,
    )
    wall = time.perf_counter() - wall0
    rate = result.offered / wall if wall > 0 else math.inf
    return replace(result, wall_s=wall, calls_per_wall_second=rate)
