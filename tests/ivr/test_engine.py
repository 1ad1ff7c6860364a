"""The engine on an in-memory Channel under trio's MockClock: exact virtual durations, hang-ups
in the middle of every node kind, transfers that really bridge, recordings that survive a hang-up.
(SIP end to end, with real pjsua2 phones, is tested with the SIP driver.)"""

from __future__ import annotations

import datetime as dt
import wave
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from ccd.ivr import say
from ccd.ivr.catalogue import load_catalogue
from ccd.ivr.engine import Engine
from ccd.ivr.flow import Flow, validate_flow
from ccd.ivr.prompts import PromptStore
from ccd.ivr.walker import Summary
from hw.base import DriverFault
from tests.ivr.fakes import OUTAGE, FakeChannel, FakeDriver, FakeServices

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = load_catalogue()
UTILITY = validate_flow(ROOT / "ccd" / "ivr" / "flows" / "utility.toml", CATALOGUE)
NOW = 1780275600.0  # 2026-06-01 09:00 in Shanghai

TOUR = """
[flow]
name = "tour"
start = "play1"

[nodes.play1]
kind = "play"
prompts = ["greeting/welcome"]
next = "say1"

[nodes.say1]
kind = "say"
prompts = ["balance/balance_is", { say = "amount", value = 12345 }]
next = "menu1"

[nodes.menu1]
kind = "menu"
prompts = ["menu/main"]
options = { "1" = "collect1" }

[nodes.collect1]
kind = "collect"
prompts = ["balance/enter_account"]
into = "account_no"
min_digits = 6
max_digits = 12
next = "lookup1"

[nodes.lookup1]
kind = "lookup"
source = "customer_by_account"
args = { account_no = "$account_no" }
into = "customer"
found = "branch1"
not_found = "branch1"

[nodes.branch1]
kind = "branch"
cases = [{ when = "vip", goto = "set1" }]
otherwise = "set1"

[nodes.set1]
kind = "set"
vars = { priority = 5 }
next = "record1"

[nodes.record1]
kind = "record"
prompts = ["repair/instructions"]
work_order = "repair"
account = "$customer.account_no?"
next = "status1"

[nodes.status1]
kind = "work_order_status"
next = "callback1"

[nodes.callback1]
kind = "callback"
next = "survey1"

[nodes.survey1]
kind = "survey"
questions = [{ key = "q1", prompts = ["survey/satisfaction"], max = 4 }]
next = "transfer1"

[nodes.transfer1]
kind = "transfer"
uri = "sip:agent@127.0.0.1"
prompts = ["transfer/connecting"]
failed = ["transfer/failed"]
on_fail = "queue1"

[nodes.queue1]
kind = "queue"
queue = "general"
prompts = ["common/please_hold"]
fallback = "sip:agent2@127.0.0.1"
failed = ["transfer/failed"]
on_fail = "bye"

[nodes.bye]
kind = "hangup"
prompts = ["common/goodbye"]
"""
TOUR_KEYS = {"menu/main": "1", "balance/enter_account": "10012345#",
             "wo/enter_number": "20260001#", "callback/offer": "1", "survey/satisfaction": "2"}


class FakePromptStore(PromptStore):
    """Speech without espeak-ng: engine tests are about the engine."""

    def find(self, name: str, lang: str) -> Path | None:
        return self.path(name, lang)  # the fake channel plays names, not files

    def speech_ready(self, text: str, lang: str) -> Path | None:
        return self.root / lang / "tts" / f"{text}.wav"


@pytest.fixture
def tour(tmp_path: Path) -> Flow:
    path = tmp_path / "tour.toml"
    path.write_text(TOUR, encoding="utf-8")
    return validate_flow(path, CATALOGUE)


async def keypad(channel: FakeChannel, keys: Mapping[str, str], after: float = 0.5) -> None:
    """A caller who presses `keys[prompt]` `after` seconds into a play holding that prompt."""
    seen = 0
    while True:
        while len(channel.played) <= seen:
            await channel._wait_change()
        names = channel.played[seen]
        seen += 1
        for prompt, digits in keys.items():
            if prompt in names:
                await trio.sleep(after)
                channel.press(digits)
                break


class Call:
    """One call through an Engine, with the caller's behaviour running beside it."""

    def __init__(self, tmp_path: Path, flow: Flow, *, caller: str = "13800138000",
                 services: FakeServices | None = None, driver: FakeDriver | None = None,
                 keys: Mapping[str, str] | None = None, agent_uri: str = "") -> None:
        self.prompts_root = tmp_path / "prompts"
        self.channel = FakeChannel(caller, prompts_root=self.prompts_root)
        self.services = services or FakeServices()
        self.driver = driver
        self.engine = Engine(flow, FakePromptStore(self.prompts_root), self.services,
                             recordings_dir=tmp_path / "recordings", driver=driver,
                             agent_uri=agent_uri, clock=lambda: NOW + trio.current_time())
        self.keys = keys or {}
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.on_node: dict[str, Callable[[], None]] = {}

    async def run(self) -> Summary:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(keypad, self.channel, self.keys)

            def on_event(kind: str, data: dict[str, Any]) -> None:
                self.events.append((kind, data))
                if kind == "node" and data["node"] in self.on_node:
                    self.on_node.pop(data["node"])()

            with trio.fail_after(3600):
                summary = await self.engine.run(self.channel, call_id="call-1",
                                                on_event=on_event)
            nursery.cancel_scope.cancel()
        return summary

    def hang_up_in(self, node: str, after: float, nursery: trio.Nursery) -> None:
        async def later() -> None:
            await trio.sleep(after)
            self.channel.far_end_hangs_up()

        self.on_node[node] = lambda: nursery.start_soon(later)

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [data for k, data in self.events if k == kind]


async def test_silence_at_the_menu_ends_politely_after_exactly_three_timeouts(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    call = Call(tmp_path, UTILITY)
    t0 = trio.current_time()
    summary = await call.run()
    # greeting 1 s; menu 2 s + 6 s; twice (no-input 1 s + menu 2 s + 6 s); goodbye 1 s.
    assert trio.current_time() - t0 == 1 + (2 + 6) + 2 * (3 + 6) + 1
    assert summary.disposition == "ivr_failed" and not summary.hung_up
    assert summary.ended_by == "ivr"
    assert call.channel.hangup_cause == 200 and call.channel.hung_up_by == "us"
    assert call.channel.played[-1] == ["common/too_many_failures"]
    assert call.kinds("hangup") == [{"by": "ivr", "cause": 200, "disposition": "ivr_failed"}]
    assert call.channel.answered


async def test_balance_call_plays_the_amount_and_leaves_a_record(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    call = Call(tmp_path, UTILITY, keys={"menu/main": "1", "menu/after": "*"})
    call.services.customers_by_phone["13800138000"]["balance_fen"] = 2000500
    async with trio.open_nursery() as nursery:

        async def leave() -> None:
            # Back at the main menu, the caller hangs up before pressing anything.
            await call.channel.heard("menu/main", count=2)
            await trio.sleep(0.2)
            call.channel.far_end_hangs_up()

        nursery.start_soon(leave)
        summary = await call.run()
    balance = ["balance/balance_is", *say.amount(2000500)]
    assert balance in call.channel.played
    assert say.amount(2000500) == ["num/liang", "num/10000", "num/0", "num/5", "money/yuan",
                                   "money/zheng"]  # 两万零五元整
    plays = [d["prompts"] for d in call.kinds("play")]
    assert plays == call.channel.played
    assert summary.digits == "1*"
    assert summary.disposition == "abandoned" and summary.hung_up
    assert summary.path[:5] == ["screen", "greeting", "outage_check", "menu_choice", "main"]
    assert summary.path[-1] == "main" and "say_reading" in summary.path
    assert summary.account_no == "10012345"
    assert [d["digits"] for d in call.kinds("dtmf")] == ["1", "*"]


async def test_outage_is_announced_with_synthesized_area_and_cause(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    services = FakeServices()
    services.outages_by_phone["13800138000"] = dict(OUTAGE)
    call = Call(tmp_path, UTILITY, services=services)
    async with trio.open_nursery() as nursery:
        call.hang_up_in("main", 0.5, nursery)
        await call.run()
    notice = call.channel.played[1]
    assert notice[:4] == ["outage/notice", "tts/和平路一带", "outage/because", "tts/管道抢修"]
    assert notice[5:] == ["date/today", *say.time(dt.time(18, 0)), "outage/apology"]
    assert call.kinds("play")[1]["prompts"][1] == "speech:和平路一带"


async def test_collect_ends_after_the_inter_digit_timeout(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    call = Call(tmp_path, UTILITY, caller="02100000000",
                keys={"menu/main": "1", "balance/enter_account": "100123"})
    async with trio.open_nursery() as nursery:
        call.hang_up_in("find_account", 0.0, nursery)
        t0 = trio.current_time()
        summary = await call.run()
    assert summary.inputs == [("main", "1"), ("ask_account", "100123")]
    # greeting 1, menu: key 0.5 s in; account prompt: keys 0.5 s in, then 3 s of silence.
    assert trio.current_time() - t0 == 1 + 0.5 + 0.5 + 3
    assert call.channel.collects[-1] == (12, 6.0, 3.0, "#")
    assert call.services.lookups[-1] == ("customer_by_account", {"account_no": "100123"})


async def test_the_whole_tour_of_node_kinds(
        tmp_path: Path, tour: Flow, autojump_clock: trio.testing.MockClock) -> None:
    driver = FakeDriver([("busy", 3.0), ("answer", 2.0)])
    call = Call(tmp_path, tour, driver=driver, keys=TOUR_KEYS)
    async with trio.open_nursery() as nursery:

        async def agent_leaves() -> None:
            await call.channel.heard("common/please_hold")
            await trio.sleep(1 + 2 + 10)  # the prompt, the agent's phone ringing, a talk
            driver.legs[0].far_end_hangs_up()

        nursery.start_soon(agent_leaves)
        summary = await call.run()
    expected = ["play1", "say1", "menu1", "collect1", "lookup1", "branch1", "set1", "record1",
                "status1", "status1.lookup", "status1.status", "callback1",
                "callback1.save_caller", "callback1.done", "survey1", "survey1.q1",
                "survey1.save", "survey1.thanks", "transfer1", "queue1"]
    assert summary.path == expected
    assert summary.disposition == "transferred"
    assert summary.digits == "110012345##20260001#12"
    assert [c["uri"] for c in driver.calls] == ["sip:agent@127.0.0.1", "sip:agent2@127.0.0.1"]
    assert all(c["near"] is call.channel for c in driver.calls)
    assert call.channel.bridged == driver.legs
    assert not driver.legs[0].is_up and not call.channel.is_up
    assert call.channel.hung_up_by == "us"  # the agent left first; the caller's leg follows
    assert summary.ended_by == "agent"
    assert call.kinds("unbridge") == [{"uri": "sip:agent2@127.0.0.1", "ended_by": "agent"}]
    (order,) = call.services.work_orders
    assert order["kind"] == "repair" and order["account"] == "10012345"
    assert order["recording"].exists()
    assert call.services.callbacks == [{"caller": "13800138000", "number": "13800138000",
                                        "account": "", "queue": ""}]
    assert call.services.surveys[0]["answers"] == {"survey1_q1": "2"}
    assert call.services.enqueued == [{"queue": "general", "priority": 5}]
    assert summary.priority == 5


TOUR_PATH = ["play1", "say1", "menu1", "collect1", "lookup1", "branch1", "set1", "record1",
             "status1", "status1.lookup", "status1.status", "callback1", "callback1.save_caller",
             "callback1.done", "survey1", "survey1.q1", "survey1.save", "survey1.thanks",
             "transfer1", "queue1", "bye"]
# Where to hang up: node, seconds after entering it, what is going on then, and the last node
# entered (a hang-up during a lookup or a set is noticed at the next node that uses the line).
HANGUPS = [
    ("play1", 0.5, "playing", "play1"),
    ("say1", 0.5, "playing", "say1"),
    ("menu1", 0.2, "playing the menu", "menu1"),
    ("collect1", 3.0, "waiting for digits", "collect1"),
    ("lookup1", 0.5, "looking up", "record1"),
    ("branch1", 0.5, "looking up the caller's flags", "record1"),
    ("set1", 0.0, "right after setting", "record1"),
    ("record1", 1.5, "playing the beep", "record1"),
    ("record1", 2.5, "recording", "record1"),
    ("status1", 3.0, "waiting for digits", "status1"),
    ("callback1", 0.2, "offering the callback", "callback1"),
    ("survey1", 1.5, "asking", "survey1.q1"),
    ("transfer1", 2.0, "ringing the agent", "transfer1"),
    ("queue1", 2.0, "ringing the fallback", "queue1"),
    ("queue1", 8.0, "talking to the agent", "queue1"),
    ("bye", 0.5, "saying goodbye", "bye"),
]


@pytest.mark.parametrize(("node", "after", "what", "last"), HANGUPS)
async def test_hang_up_in_the_middle_of_each_node_kind(
        tmp_path: Path, tour: Flow, autojump_clock: trio.testing.MockClock, node: str,
        after: float, what: str, last: str) -> None:
    services = FakeServices(lookup_seconds=1.0)
    driver = FakeDriver([("busy", 3.0), ("answer", 2.0)])
    if node == "bye":
        driver = FakeDriver([("busy", 3.0), ("busy", 3.0)])
    silent = {"collect1": "balance/enter_account", "status1": "wo/enter_number"}
    keys = {prompt: digits for prompt, digits in TOUR_KEYS.items()
            if what != "waiting for digits" or prompt != silent[node]}
    call = Call(tmp_path, tour, services=services, driver=driver, keys=keys)
    async with trio.open_nursery() as nursery:
        call.hang_up_in(node, after, nursery)
        summary = await call.run()
    assert summary.path == TOUR_PATH[:TOUR_PATH.index(last) + 1], what
    assert summary.ended_by == "caller"
    assert not call.channel.is_up and call.channel.hung_up_by == "far end"
    assert all(not leg.is_up for leg in driver.legs)  # no agent leg left behind
    assert len(services.work_orders) == (TOUR_PATH.index(last) > TOUR_PATH.index("record1"))
    if what == "talking to the agent":
        assert summary.disposition == "transferred" and not summary.hung_up
        assert call.kinds("unbridge")[0]["ended_by"] == "caller"
        assert driver.legs[0].hung_up_by == "us"
    else:
        assert summary.disposition == "abandoned" and summary.hung_up
        assert call.kinds("finish") == [{"disposition": "abandoned", "hangup": False,
                                         "cause": 200}]
    assert call.kinds("hangup")[-1]["by"] == "caller"
    assert not any(d.get("by") == "ivr" for d in call.kinds("hangup"))


async def test_hang_up_while_recording_keeps_the_report(
        tmp_path: Path, tour: Flow, autojump_clock: trio.testing.MockClock) -> None:
    call = Call(tmp_path, tour, keys=TOUR_KEYS)
    async with trio.open_nursery() as nursery:
        # Instructions 1 s, beep 1 s, then 2.5 s of speech before the caller hangs up.
        call.hang_up_in("record1", 4.5, nursery)
        summary = await call.run()
    assert summary.disposition == "abandoned"
    (order,) = call.services.work_orders
    assert summary.work_orders == [order["number"]]
    with wave.open(str(order["recording"]), "rb") as w:
        assert w.getnframes() == int(2.5 * 8000)
    assert call.kinds("record")[0]["ended_by"] == "hangup"


async def test_caller_hanging_up_while_the_agent_rings_cancels_the_leg(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    driver = FakeDriver([("answer", 20.0)])
    call = Call(tmp_path, UTILITY, driver=driver, agent_uri="sip:agent@127.0.0.1",
                keys={"menu/main": "0"})
    async with trio.open_nursery() as nursery:
        call.hang_up_in("agent_queue", 5.0, nursery)
        t0 = trio.current_time()
        summary = await call.run()
    assert trio.current_time() - t0 == 1 + 0.5 + 5  # greeting, key, then 5 s into the queue
    assert summary.disposition == "abandoned"
    assert driver.legs == [] and len(driver.calls) == 1
    assert driver.calls[0]["caller_id"] == "13800138000"


async def test_transfer_without_a_driver_fails_over_to_the_callback_offer(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    call = Call(tmp_path, UTILITY, agent_uri="sip:agent@127.0.0.1",
                keys={"menu/main": "0", "callback/offer": "1"})
    summary = await call.run()
    assert call.kinds("transfer")[0]["ok"] is False
    assert "no driver" in call.kinds("transfer")[0]["reason"]
    assert call.services.callbacks[0]["number"] == "13800138000"
    assert summary.disposition == "completed"
    assert call.channel.played[-1] == ["common/goodbye"]


async def test_failing_services_do_not_drop_the_caller(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    services = FakeServices()
    services.fail_sources = {"caller_flags", "outage_for_caller", "customer_by_phone"}
    call = Call(tmp_path, UTILITY, services=services,
                keys={"menu/main": "1", "balance/enter_account": "10012345#"})
    async with trio.open_nursery() as nursery:
        call.hang_up_in("say_balance", 0.5, nursery)
        summary = await call.run()
    assert "say_balance" in summary.path  # found by account number instead
    errors = [d["error"] for d in call.kinds("lookup") if d["error"]]
    assert errors == ["RuntimeError: caller_flags is down", "RuntimeError: outage_for_caller "
                      "is down", "RuntimeError: customer_by_phone is down"]


async def test_reloaded_flow_applies_to_new_calls_only(
        tmp_path: Path, tour: Flow, autojump_clock: trio.testing.MockClock) -> None:
    call = Call(tmp_path, UTILITY)
    call.engine.replace_flow(tour)
    async with trio.open_nursery() as nursery:
        call.hang_up_in("play1", 0.1, nursery)
        summary = await call.run()
    assert summary.path == ["play1"]


async def test_a_line_that_fails_ends_the_call_as_failed_with_its_path(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    call = Call(tmp_path, UTILITY, keys={"menu/main": "1"})

    original = call.channel.play

    async def play(prompts: Any, barge_in: bool = True) -> str | None:
        result = await original(prompts, barge_in)
        if "balance/balance_is" in prompts_names(call, prompts):
            raise DriverFault("media worker 1 died")
        return result

    call.channel.play = play  # type: ignore[method-assign]
    summary = await call.run()
    assert summary.disposition == "failed" and summary.ended_by == "driver"
    assert summary.path[-1] == "say_balance" and summary.digits == "1"
    assert call.kinds("driver_fault") == [{"error": "media worker 1 died",
                                           "node": "say_balance"}]


def prompts_names(call: Call, paths: Any) -> list[str]:
    return [call.channel._name(p) for p in paths]


async def test_a_silent_repair_report_never_opens_a_work_order(
        tmp_path: Path, tour: Flow, autojump_clock: trio.testing.MockClock) -> None:
    """The caller says nothing: each recording is 3 s of line silence ended by silence (long
    enough by the clock, empty by the ear). No work order; the caller is asked again, then the
    flow gives up as for any failed input."""
    call = Call(tmp_path, tour, keys=TOUR_KEYS)
    call.channel.silent = True
    summary = await call.run()
    assert call.services.work_orders == []
    records = call.kinds("record")
    assert records and all(r["seconds"] >= 3 and r["voiced_s"] == 0 for r in records)
    assert all(r["ended_by"] == "silence" for r in records)
    failed = [e for e in call.kinds("input_failed") if e["node"] == "record1"]
    assert [e["reason"] for e in failed] == ["too_short"] * len(records)
    assert "status1" not in summary.path  # it never went on as if a report had been made


async def test_a_silent_caller_who_hangs_up_while_recorded_leaves_no_work_order(
        tmp_path: Path, tour: Flow, autojump_clock: trio.testing.MockClock) -> None:
    call = Call(tmp_path, tour, keys=TOUR_KEYS)
    call.channel.silent = True
    async with trio.open_nursery() as nursery:
        call.hang_up_in("record1", 4.5, nursery)
        summary = await call.run()
    assert summary.disposition == "abandoned"
    assert call.services.work_orders == []


async def test_a_restricted_number_keeps_self_service_but_reaches_no_agent(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    call = Call(tmp_path, UTILITY, keys={"menu/main": "0"})
    call.services.flags["13800138000"] = {"vip": False, "blocked": False, "restricted": True,
                                          "customer_id": None}
    async with trio.open_nursery() as nursery:

        async def leave() -> None:
            await call.channel.heard("common/restricted")
            await call.channel.heard("menu/main", count=2)  # back to self-service
            call.channel.far_end_hangs_up()

        nursery.start_soon(leave)
        summary = await call.run()
    assert "restricted" in summary.path and "agent_queue" not in summary.path
    assert call.services.enqueued == []
