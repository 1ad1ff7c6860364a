"""The daemon for wallboard tests and the benchmark: the real `ccd run`, plus simulated phones.

    python -m tests.wallboard.daemon_main --config site/ccd.toml --set sip.enabled=false run

It is `ccd run` with three additions, all test-only:
- the ACD runtime (`ccd.acd.runtime.start_acd`) and the wallboard publisher, when the daemon's
  own service list does not start them (the lead wires them into `ccd.daemon`);
- the runtime's stations replaced by simulated ones (`FakeStations`): a ring waits until the
  test answers it, so calls flow through the real AcdService, core and store, whose rows and
  broker events feed the real wallboard publisher;
- `testing.*` API methods (admin only) for the test to place, answer and end calls, and a load
  generator for the benchmark.
"""

from __future__ import annotations

import itertools
import random
import sys
from typing import Annotated, Any

import msgspec
import trio

from ccd import daemon as daemon_module
from ccd.acd import model as m
from ccd.api.registry import Context, Params, method

ADMIN = {"admin"}


# ---------------------------------------------------------------- simulated legs


class FakeAgentLeg:
    def __init__(self) -> None:
        self.gone = trio.Event()

    async def wait_hangup(self) -> None:
        await self.gone.wait()

    async def hangup(self) -> None:
        self.gone.set()

    async def bridge(self, other: Any) -> None:
        await trio.lowlevel.checkpoint()


class FakeCallerLeg:
    def __init__(self) -> None:
        self.gone = trio.Event()

    async def start_music(self, music: str | None) -> None:
        await trio.lowlevel.checkpoint()

    async def announce(self, position: int, expected_wait_s: float | None) -> None:
        await trio.lowlevel.checkpoint()

    async def wait_digit(self) -> str:
        await trio.sleep_forever()
        raise AssertionError

    async def ask_callback_number(self) -> str | None:
        await trio.lowlevel.checkpoint()
        return None

    async def wait_hangup(self) -> None:
        await self.gone.wait()

    async def bridge(self, agent: Any) -> None:
        await trio.lowlevel.checkpoint()

    async def hold(self, music: str | None) -> None:
        await trio.lowlevel.checkpoint()

    async def unhold(self) -> None:
        await trio.lowlevel.checkpoint()


class FakeStations:
    """Stations that ring until the test answers (or the ACD gives up)."""

    def __init__(self, auto_answer_s: float | None = None) -> None:
        self.answers: dict[tuple[str, str], trio.Event] = {}
        self.legs: dict[str, FakeAgentLeg] = {}
        self.auto_answer_s = auto_answer_s

    async def ring(self, agent: str, station: str, call_id: str, timeout_s: float) -> FakeAgentLeg:
        event = self.answers.setdefault((agent, call_id), trio.Event())
        try:
            if self.auto_answer_s is not None:
                with trio.move_on_after(self.auto_answer_s):
                    await event.wait()
            else:
                await event.wait()
        finally:
            self.answers.pop((agent, call_id), None)
        leg = self.legs[agent] = FakeAgentLeg()
        return leg


# ---------------------------------------------------------------- the testing service


class Traffic:
    def __init__(self, runtime: Any, nursery: trio.Nursery, stations: FakeStations) -> None:
        self.runtime = runtime
        self.nursery = nursery
        self.stations = stations
        self.callers: dict[str, FakeCallerLeg] = {}
        self.generated = 0

    def call(self, call_id: str, queue: str, number: str) -> None:
        leg = self.callers[call_id] = FakeCallerLeg()
        self.runtime.call_log.start(call_id, src=number, dst="96000", channel="test")
        caller = m.Caller(call_id, number)
        self.nursery.start_soon(self._serve, leg, queue, caller)

    async def _serve(self, leg: FakeCallerLeg, queue: str, caller: m.Caller) -> None:
        try:
            outcome = await self.runtime.service.queue_call(leg, queue, caller)
            self.runtime.call_log.end(caller.call_id, hangup_by=outcome.outcome)
        finally:
            self.callers.pop(caller.call_id, None)

    async def generate(self, agents: list[str], queue: str, calls_per_s: float, seconds: float,
                       talk_s: float) -> None:
        """Load: `calls_per_s` calls into `queue`, each answered at once and ended after about
        `talk_s`; agents (logged in ready) wrap up by the queue's timer."""
        rng = random.Random(1)
        serial = itertools.count()
        end = trio.current_time() + seconds
        while trio.current_time() < end:
            call_id = f"load-{next(serial)}"
            self.call(call_id, queue, f"1390000{rng.randrange(10000):04d}")
            self.nursery.start_soon(self._hang_up_later, call_id, rng.uniform(0.5, 1.5) * talk_s)
            self.generated += 1
            await trio.sleep(1.0 / calls_per_s)

    async def _hang_up_later(self, call_id: str, after: float) -> None:
        await trio.sleep(after)
        leg = self.callers.get(call_id)
        if leg is not None:
            leg.gone.set()


async def serve_testing(daemon: Any, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    """Start the ACD runtime (no telephony) and the publisher if nobody did; simulated phones."""
    from ccd.reports import publisher

    async with trio.open_nursery() as nursery:
        if getattr(daemon, "acd", None) is None:
            from ccd.acd.runtime import start_acd

            await nursery.start(start_acd, daemon, None)
        if getattr(daemon, "wallboard", None) is None:
            await nursery.start(publisher.serve, daemon)
        runtime = daemon.acd
        auto = getattr(daemon.config, "_test_auto_answer", None)
        stations = FakeStations(auto)
        runtime.service.stations = stations
        daemon.testing = Traffic(runtime, nursery, stations)
        task_status.started()


def _traffic(ctx: Context) -> Traffic:
    return ctx.services.testing  # type: ignore[no-any-return]


Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class CallParams(Params):
    call_id: Name
    queue: Name
    number: str = "13800000000"


@method("testing.call", roles=ADMIN, params=CallParams)
async def testing_call(ctx: Context, params: CallParams) -> dict[str, Any]:
    """A caller enters a queue (simulated leg)."""
    _traffic(ctx).call(params.call_id, params.queue, params.number)
    await trio.sleep(0.01)
    await ctx.services.acd.store.flush()
    return {"ok": True}


class AnswerParams(Params):
    agent: Name
    call_id: Name


@method("testing.answer", roles=ADMIN, params=AnswerParams)
async def testing_answer(ctx: Context, params: AnswerParams) -> dict[str, Any]:
    """The agent's (simulated) phone picks up the call ringing on it."""
    stations = _traffic(ctx).stations
    stations.answers.setdefault((params.agent, params.call_id), trio.Event()).set()
    await trio.sleep(0.01)
    await ctx.services.acd.store.flush()
    return {"ok": True}


class HangupParams(Params):
    call_id: Name


@method("testing.caller_hangup", roles=ADMIN, params=HangupParams)
async def testing_caller_hangup(ctx: Context, params: HangupParams) -> dict[str, Any]:
    leg = _traffic(ctx).callers.get(params.call_id)
    if leg is not None:
        leg.gone.set()
    await trio.sleep(0.01)
    await ctx.services.acd.store.flush()
    return {"ok": leg is not None}


class LoginParams(Params):
    agents: list[Name]
    stations: list[Name]
    ready: bool = True


@method("testing.login", roles=ADMIN, params=LoginParams)
async def testing_login(ctx: Context, params: LoginParams) -> dict[str, Any]:
    """Log many agents in at once (the benchmark's thousand)."""
    service = ctx.services.acd.service
    for agent, station in zip(params.agents, params.stations, strict=True):
        service.feed(m.AgentLogin(agent, station, ready=params.ready, by="testing"))
    await ctx.services.acd.store.flush()
    return {"logged_in": len(params.agents)}


class LoadParams(Params):
    queue: Name
    calls_per_s: float
    seconds: float
    talk_s: float = 5.0


@method("testing.load", roles=ADMIN, params=LoadParams)
async def testing_load(ctx: Context, params: LoadParams) -> dict[str, Any]:
    """Start generating calls (returns at once); stations answer after 0.2 s."""
    traffic = _traffic(ctx)
    traffic.stations.auto_answer_s = 0.2
    traffic.nursery.start_soon(traffic.generate, [], params.queue, params.calls_per_s,
                               params.seconds, params.talk_s)
    return {"started": True}


def main() -> None:
    original = daemon_module._extra_services

    def services(config: Any) -> list[Any]:
        return [*original(config), serve_testing]

    daemon_module._extra_services = services  # type: ignore[assignment]
    from ccd.cli.main import main as ccd_main

    sys.argv[0] = "ccd"
    ccd_main()


if __name__ == "__main__":
    main()
