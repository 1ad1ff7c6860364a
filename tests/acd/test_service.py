"""The trio service around the core, on trio's MockClock: exact virtual durations."""

from __future__ import annotations

import math

import pytest
import trio
import trio.testing

from ccd.acd import model as m
from ccd.acd.core import Acd
from ccd.acd.model import AgentState as S
from ccd.acd.model import RecordKind as R
from ccd.acd.service import AcdService, QueueOutcome
from ccd.acd.states import CallPhase
from tests.acd.legs import Behaviour, Log, ScriptedCaller, ScriptedStations, WatchingSink


def _service(
    queue: m.QueueConfig, agents: list[str], behaviour: dict[str, Behaviour]
) -> tuple[AcdService, Log, WatchingSink]:
    log = Log()
    sink = WatchingSink()
    acd = Acd([queue], [m.AgentConfig(a, {"water": 5}) for a in agents])
    return AcdService(acd, ScriptedStations(log, behaviour), sink), log, sink


def _queue(**kw: object) -> m.QueueConfig:
    kw.setdefault("announce_every_s", None)
    return m.QueueConfig("water", {"water": 1}, **kw)  # type: ignore[arg-type]


async def test_wrap_up_lasts_exactly_the_queues_wrap_up_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    service, log, sink = _service(
        _queue(wrap_up_s=30), ["a1"], {"a1": Behaviour(answer_s=3, talk_s=60)}
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        t0 = trio.current_time()
        service.feed(m.AgentLogin("a1", "sip:a1", ready=True))
        caller = ScriptedCaller(log)
        outcome = await service.queue_call(caller, "water", m.Caller("c1", "138"))
        assert outcome == QueueOutcome("c1", "completed", "a1")
        assert trio.current_time() - t0 == 63  # 3 s ringing + 60 s talking
        end = await sink.wait_for(R.WRAP_UP_END)
        assert trio.current_time() - t0 == 93
        assert end.details == {"wrap_up_s": 30, "ended": "timer"}
        assert service.acd.agent_state("a1") == (S.READY, None)
        assert [t - t0 for t, _ in log.of("bridge")] == [3]
        nursery.cancel_scope.cancel()


async def test_no_answer_after_the_ring_time_then_the_next_agent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    behaviour = {"deaf": Behaviour(answer_s=None), "good": Behaviour(answer_s=2, talk_s=10)}
    service, log, sink = _service(_queue(ring_timeout_s=15), ["deaf", "good"], behaviour)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        t0 = trio.current_time()
        service.feed(m.AgentLogin("deaf", "sip:deaf", ready=True))
        service.feed(m.AgentLogin("good", "sip:good"))  # not ready yet
        caller = ScriptedCaller(log)
        nursery.start_soon(service.queue_call, caller, "water", m.Caller("c1"))
        missed = await sink.wait_for(R.RING_NO_ANSWER)
        assert trio.current_time() - t0 == 15 and missed.agent == "deaf"
        assert service.acd.agent_state("deaf") == (S.NOT_READY, "missed")
        await trio.testing.wait_all_tasks_blocked()
        assert [(t - t0, a) for t, a in log.of("ring_cancelled")] == [(15, ("deaf", "c1"))]
        service.feed(m.AgentReady("good"))
        answered = await sink.wait_for(R.ANSWERED)
        assert trio.current_time() - t0 == 17
        assert answered.details["wait_s"] == 17 and answered.agent == "good"
        nursery.cancel_scope.cancel()


async def test_an_unreachable_station_is_skipped_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    behaviour = {"gone": Behaviour(fail="unreachable"), "good": Behaviour(answer_s=1)}
    service, log, sink = _service(_queue(), ["gone", "good"], behaviour)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        t0 = trio.current_time()
        service.feed(m.AgentLogin("gone", "sip:gone", ready=True))
        service.feed(m.AgentLogin("good", "sip:good", ready=True))
        nursery.start_soon(service.queue_call, ScriptedCaller(log), "water", m.Caller("c1"))
        failed = await sink.wait_for(R.STATION_UNREACHABLE)
        assert trio.current_time() == t0 and failed.agent == "gone"
        await sink.wait_for(R.ANSWERED, agent="good")
        assert trio.current_time() - t0 == 1
        assert service.acd.agent_state("gone") == (S.NOT_READY, "missed")
        nursery.cancel_scope.cancel()


async def test_position_and_expected_wait_are_announced_at_the_interval(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = _queue(announce_every_s=30, default_aht_s=120, music="moh-water")
    service, log, sink = _service(queue, ["a1"], {})
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        t0 = trio.current_time()
        service.feed(m.AgentLogin("a1", "sip:a1"))  # logged in, not ready
        first = ScriptedCaller(log, hangup_after=100)
        nursery.start_soon(service.queue_call, first, "water", m.Caller("c1"))
        await trio.sleep(10)
        second = ScriptedCaller(Log(), hangup_after=math.inf)
        nursery.start_soon(service.queue_call, second, "water", m.Caller("c2"))
        await trio.sleep(200)
        assert log.of("music") == [(t0, ("moh-water",))]
        # not-ready agents do not staff the queue: no expected wait can be given
        assert [(t - t0, a) for t, a in log.of("announce")] == [
            (0, (1, None, 1)),
            (30, (1, None, 1)),
            (60, (1, None, 1)),
            (90, (1, None, 1)),
        ]
        service.feed(m.AgentReady("a1"))  # rings for c2 (default behaviour answers at once)
        nursery.cancel_scope.cancel()


async def test_expected_wait_counts_the_agents_serving_the_queue(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = _queue(announce_every_s=60, default_aht_s=120)
    behaviour = {"a1": Behaviour(answer_s=0, talk_s=math.inf)}
    service, log, sink = _service(queue, ["a1"], behaviour)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        t0 = trio.current_time()
        service.feed(m.AgentLogin("a1", "sip:a1", ready=True))
        nursery.start_soon(service.queue_call, ScriptedCaller(Log()), "water", m.Caller("busy"))
        await trio.sleep(1)
        for i in range(2):
            caller = ScriptedCaller(log if i == 1 else Log())
            nursery.start_soon(service.queue_call, caller, "water", m.Caller(f"w{i}"))
            await trio.sleep(1)
        await trio.sleep(60)
        # w1 is second in line; one agent, talking since t0, AHT 120 s: what is left of that
        # call, then one whole call (118 + 120 s at t0+2; 58 + 120 s a minute later)
        assert [(t - t0, a) for t, a in log.of("announce")] == [(2, (2, 238.0, 1)),
                                                                   (62, (2, 178.0, 1))]
        nursery.cancel_scope.cancel()


async def test_announcements_never_stack_when_the_interval_is_shorter_than_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Every 10 s configured, 25 s to play: the next one starts 10 s after the last ended."""
    service, log, sink = _service(_queue(announce_every_s=10, default_aht_s=120), ["a1"], {})
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        t0 = trio.current_time()
        caller = ScriptedCaller(log, hangup_after=120, announce_s=25)
        nursery.start_soon(service.queue_call, caller, "water", m.Caller("c1"))
        await trio.sleep(130)
        announced = [(t - t0, a[2]) for t, a in log.of("announce")]
        assert announced == [(0, 1), (35, 1), (70, 1), (105, 1)]  # one at a time, 35 s apart
        nursery.cancel_scope.cancel()


async def test_the_caller_may_ask_for_a_callback_instead(
    autojump_clock: trio.testing.MockClock,
) -> None:
    service, log, sink = _service(_queue(), ["a1"], {})
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        t0 = trio.current_time()
        caller = ScriptedCaller(log, callback="13912345678")

        async def press_later() -> None:
            await trio.sleep(40)
            caller.press("1")

        nursery.start_soon(press_later)
        outcome = await service.queue_call(caller, "water", m.Caller("c1", "138"))
        assert outcome == QueueOutcome("c1", "callback", None, "13912345678")
        assert trio.current_time() - t0 == 40
        rec = await sink.wait_for(R.CALLBACK_REQUESTED)
        assert rec.details["wait_s"] == 40
        stats = service.acd.statistics(trio.current_time()).queues[0]
        assert (stats.offered, stats.callbacks, stats.abandoned) == (1, 1, 0)
        nursery.cancel_scope.cancel()


async def test_the_caller_may_go_back_to_self_service(
    autojump_clock: trio.testing.MockClock,
) -> None:
    service, log, sink = _service(_queue(), [], {})
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        caller = ScriptedCaller(log)
        caller.press("5")  # not a key of this queue: ignored
        caller.press("*")
        outcome = await service.queue_call(caller, "water", m.Caller("c1"))
        assert outcome.outcome == "left"
        nursery.cancel_scope.cancel()


async def test_a_caller_who_hangs_up_is_abandoned_with_their_wait(
    autojump_clock: trio.testing.MockClock,
) -> None:
    service, log, sink = _service(_queue(), [], {})
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        t0 = trio.current_time()
        outcome = await service.queue_call(
            ScriptedCaller(log, hangup_after=25), "water", m.Caller("c1")
        )
        assert outcome.outcome == "abandoned" and trio.current_time() - t0 == 25
        assert sink.records[-1].kind is R.ABANDONED
        assert sink.records[-1].details["wait_s"] == 25
        nursery.cancel_scope.cancel()


async def test_max_wait_returns_the_caller_to_whoever_queued_them(
    autojump_clock: trio.testing.MockClock,
) -> None:
    service, log, sink = _service(_queue(max_wait_s=90), [], {})
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        t0 = trio.current_time()
        outcome = await service.queue_call(ScriptedCaller(log), "water", m.Caller("c1"))
        assert outcome.outcome == "max_wait" and trio.current_time() - t0 == 90
        nursery.cancel_scope.cancel()


async def test_a_cancelled_queue_call_is_counted_not_lost(
    autojump_clock: trio.testing.MockClock,
) -> None:
    service, log, sink = _service(_queue(), [], {})
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        with trio.move_on_after(12):
            await service.queue_call(ScriptedCaller(log), "water", m.Caller("c1"))
        assert service.acd.call_phase("c1") is CallPhase.ENDED
        assert sink.records[-1].kind is R.ABANDONED and sink.records[-1].details["wait_s"] == 12
        nursery.cancel_scope.cancel()


async def test_hold_and_transfer_reach_the_caller_leg(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = _queue(music="moh")
    billing = m.QueueConfig("billing", {"billing": 1}, announce_every_s=None, music="moh-bill")
    log = Log()
    sink = WatchingSink()
    acd = Acd(
        [queue, billing], [m.AgentConfig("a1", {"water": 1}), m.AgentConfig("b", {"billing": 1})]
    )
    stations = ScriptedStations(
        log, {"a1": Behaviour(answer_s=1), "b": Behaviour(answer_s=2, talk_s=5)}
    )
    service = AcdService(acd, stations, sink)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        t0 = trio.current_time()
        service.feed(m.AgentLogin("a1", "s1", ready=True))
        service.feed(m.AgentLogin("b", "s2", ready=True))
        service.feed(m.AgentNotReady("b", "meal"))
        caller = ScriptedCaller(log)

        async def agent_side() -> None:
            await sink.wait_for(R.ANSWERED)
            await trio.sleep(10)
            service.feed(m.Hold("a1"))
            await trio.sleep(5)
            service.feed(m.Unhold("a1"))
            await trio.sleep(5)
            service.feed(m.AgentReady("b"))
            service.feed(m.TransferToQueue("a1", "billing"))

        nursery.start_soon(agent_side)
        outcome = await service.queue_call(caller, "water", m.Caller("c1"))
        assert outcome == QueueOutcome("c1", "completed", "b")
        times = {w: [t - t0 for t, _ in log.of(w)] for w in ("hold", "unhold", "bridge", "music")}
        assert times == {"hold": [11], "unhold": [16], "bridge": [1, 23], "music": [0, 21]}
        assert log.of("music")[1][1] == ("moh-bill",)
        assert [(t - t0, a) for t, a in log.of("agent_hangup")] == [(21, ("a1",))]
        assert trio.current_time() - t0 == 28  # b answered at 23 and talked 5 s
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("answer_s", [0.0, 4.0])
async def test_ring_all_bridges_the_first_to_answer_and_stops_the_others(
    autojump_clock: trio.testing.MockClock, answer_s: float
) -> None:
    queue = _queue(strategy=m.Strategy.RING_ALL)
    behaviour = {
        "slow": Behaviour(answer_s=answer_s + 3),
        "fast": Behaviour(answer_s=answer_s, talk_s=9),
    }
    service, log, sink = _service(queue, ["slow", "fast"], behaviour)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        t0 = trio.current_time()
        service.feed(m.AgentLogin("slow", "s1", ready=True))
        service.feed(m.AgentLogin("fast", "s2", ready=True))
        outcome = await service.queue_call(ScriptedCaller(log), "water", m.Caller("c1"))
        assert outcome.agent == "fast" and trio.current_time() - t0 == answer_s + 9
        assert [a for _, a in log.of("ring_cancelled")] == [("slow", "c1")]
        assert service.acd.agent_state("slow") == (S.READY, None)
        nursery.cancel_scope.cancel()


async def test_the_same_call_cannot_be_queued_twice(autojump_clock: trio.testing.MockClock) -> None:
    from ccd.acd.errors import DuplicateCall

    service, log, sink = _service(_queue(), [], {})
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        nursery.start_soon(
            service.queue_call, ScriptedCaller(log, hangup_after=30), "water", m.Caller("c1")
        )
        await trio.sleep(1)
        with pytest.raises(DuplicateCall):
            await service.queue_call(ScriptedCaller(Log()), "water", m.Caller("c1"))
        await sink.wait_for(R.ABANDONED)  # the first one is still served: it abandons at 30
        assert sink.records[-1].details["wait_s"] == 30
        nursery.cancel_scope.cancel()
