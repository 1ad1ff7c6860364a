"""End to end over real SIP on loopback: callers reach agents' desk phones through the ACD.

The caller and the agents' phones are pjsua2 softphones, each in its own process; the ACD rings a
station with the SIP driver, bridges it with the caller inside the caller's media worker and
records the call. Tones tell who hears whom: the caller plays 1 kHz, the agent 2 kHz, the queue's
music is 500 Hz.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
import trio

from ccd.acd.model import AgentState as S
from ccd.acd.settings import AcdSettings, QueueSettings
from hw.sip import LegGone
from tests.acd_runtime.conftest import AcdServices, rows
from tests.acd_runtime.sip_site import levels, sip_site
from tests.sip.audio import ABSENT, PRESENT, hears

pytestmark = pytest.mark.sip


def _events(db, call_id: str) -> list[tuple[str, str | None]]:
    return [
        (r["event"], r["agent"])
        for r in rows(db, "SELECT event, agent FROM queue_events WHERE call_id = ? ORDER BY id",
                      [call_id])
    ]


async def test_caller_reaches_an_agent_both_tones_cross_and_are_recorded(
    services: AcdServices, tmp_path: Path
) -> None:
    settings = AcdSettings(
        ring_timeout_s=2.0,
        wrap_up_s=1.0,
        announce_every_s=0,
        queues={"water": QueueSettings(skills={"water": 1}, wrap_up_s=1.0, ring_timeout_s=2.0)},
    )
    phones = {"caller": False, "agent1001": True, "deaf": False}
    async with sip_site(services, tmp_path, settings, phones) as site:
        site.set_station("seat01", site.phones["agent1001"].uri)
        site.set_station("seat02", site.phones["deaf"].uri)  # rings, nobody ever answers
        # agent1002 has been ready longest, so the ACD tries the deaf station first.
        site.runtime.login("agent1002", "seat02", ready=True)
        await trio.sleep(0.01)
        site.runtime.login("agent1001", "seat01", ready=True)

        call = await site.call("water")
        await call.phone.start_play([site.tones[1000]])
        with trio.fail_after(10):
            desk = await site.phones["agent1001"].incoming()  # auto-answered
        await desk.start_play([site.tones[2000]])
        await site.until(lambda: site.state("agent1001")[0] is S.TALKING)
        assert site.state("agent1002") == (S.NOT_READY, "missed")

        heard = await site.record({"caller": call.phone, "agent": desk})
        hears(heard["caller"], present=[2000], absent=[1000, 500])
        hears(heard["agent"], present=[1000], absent=[2000, 500])

        await call.phone.hangup()  # the caller ends the call
        with trio.fail_after(10):
            await call.done.wait()
        assert call.outcome is not None and call.outcome.outcome == "completed"
        await site.until(lambda: site.state("agent1001")[0] is S.READY, 5)
        await site.runtime.store.flush()

        (row,) = rows(site.db, "SELECT * FROM calls WHERE id = ?", [call.call_id])
        assert (row["queue"], row["agent"], row["station"]) == ("water", "agent1001", "seat01")
        assert 2.0 <= row["wait_s"] < 4.0  # 2 s on the deaf station, then the good one
        assert row["talk_s"] > 1.6  # at least the recorded stretch
        assert row["wrap_s"] == 1.0  # the queue's wrap-up, to the (trio clock's) millisecond
        assert row["hold_s"] == 0.0

        assert _events(site.db, call.call_id) == [
            ("enter_queue", None),
            ("offered", "agent1002"),
            ("ring_no_answer", "agent1002"),
            ("returned_to_queue", None),
            ("offered", "agent1001"),
            ("answered", "agent1001"),
            ("completed", "agent1001"),
            ("wrap_up_start", "agent1001"),
            ("wrap_up_end", "agent1001"),
        ]
        deaf = rows(site.db, "SELECT state, reason FROM agent_state_log WHERE agent = ? "
                    "ORDER BY id", ["agent1002"])
        assert [(r["state"], r["reason"]) for r in deaf] == [
            ("ready", ""), ("ringing", ""), ("not_ready", "missed")]

        (rec,) = rows(site.db, "SELECT * FROM recordings WHERE call_id = ?", [call.call_id])
        assert rec["kind"] == "call" and rec["seconds"] >= 1.6
        both = levels(Path(rec["path"]), 1000, 2000, 700, skip=0.0)
        assert both[1000] > PRESENT / 2 and both[2000] > PRESENT / 2, both
        assert both[700] < ABSENT, both


async def test_caller_who_hangs_up_in_the_queue_is_abandoned_with_their_wait(
    services: AcdServices, tmp_path: Path
) -> None:
    """Nobody is ready: the caller hears the queue's announcement, then its music, and hangs up."""
    prompts = tmp_path / "prompts"
    (prompts / "zh" / "acd").mkdir(parents=True)
    settings = AcdSettings(announce_every_s=30, queues={"water": QueueSettings(skills={"water": 1})})
    async with sip_site(services, tmp_path, settings, {"caller": False},
                        prompts=_tone_prompts(prompts)) as site:
        call = await site.call("water")
        heard = await site.record({"caller": call.phone}, 2.4)
        first = levels(heard["caller"], 700, 500, skip=0.0)
        assert first[700] > PRESENT / 2, first  # "you are number 1 in the queue" (a 700 Hz tone)
        assert levels(heard["caller"], 500, 700, skip=1.6)[500] > PRESENT  # then the music
        t0 = trio.current_time()
        await call.phone.hangup()
        with trio.fail_after(10):
            await call.done.wait()
        assert call.outcome is not None and call.outcome.outcome == "abandoned"
        await site.runtime.store.flush()
        (abandoned,) = rows(site.db, "SELECT * FROM queue_events WHERE event = 'abandoned'")
        data = json.loads(abandoned["data"])
        assert abandoned["queue"] == "water" and abandoned["call_id"] == call.call_id
        assert 2.4 <= data["wait_s"] <= 2.4 + (trio.current_time() - t0) + 1.0
        (row,) = rows(site.db, "SELECT queue, wait_s, agent FROM calls WHERE id = ?",
                      [call.call_id])
        assert row["queue"] == "water" and row["agent"] is None
        assert row["wait_s"] == round(data["wait_s"], 3)
        water = next(q for q in site.runtime.snapshot()["queues"] if q["queue"] == "water")
        assert (water["offered"], water["abandoned"], water["waiting"]) == (1, 1, 0)


def _tone_prompts(root: Path):
    from ccd.ivr.prompts import PromptStore
    from tests.sip.audio import write_tone

    write_tone(root / "zh" / "acd" / "position_before.wav", 700, 1.0)
    return PromptStore(root)


async def test_unreachable_station_is_skipped_at_once_and_keys_while_waiting(
    services: AcdServices, tmp_path: Path
) -> None:
    """A station nobody listens on fails at once (TCP refused): the agent is not ready
    ('missed'), the caller keeps waiting. Then the caller presses 1 and confirms their number:
    a callback request; a second caller presses * and goes back to self-service."""
    settings = AcdSettings(announce_every_s=0,
                           queues={"billing": QueueSettings(skills={"billing": 1})})
    async with sip_site(services, tmp_path, settings, {"caller": False}) as site:
        site.set_station("seat03", "sip:agent1003@127.0.0.1:9;transport=tcp")
        site.runtime.login("agent1003", "seat03", ready=True)
        t0 = trio.current_time()
        call = await site.call("billing")
        await site.until(lambda: site.state("agent1003") == (S.NOT_READY, "missed"), 5)
        assert trio.current_time() - t0 < 3.0  # at once, not after the ring time-out
        await site.runtime.store.flush()
        assert _events(site.db, call.call_id) == [
            ("enter_queue", None), ("offered", "agent1003"),
            ("station_unreachable", "agent1003"), ("returned_to_queue", None)]

        await call.phone.send_dtmf("1")
        await trio.sleep(0.5)
        assert not call.done.is_set()  # asked which number to call back
        with contextlib.suppress(LegGone):  # ccd may hang up before the phone's send returns
            await call.phone.send_dtmf("1")  # "call me back on this number": confirm
        with trio.fail_after(10):
            await call.done.wait()
            await call.phone.wait_gone()  # ccd hung up after taking the request
        assert call.outcome is not None and call.outcome.outcome == "callback"
        assert call.outcome.callback_number == "13800000001"
        await site.runtime.store.flush()
        (req,) = rows(site.db, "SELECT data FROM queue_events WHERE event = 'callback_requested'")
        assert json.loads(req["data"])["number"] == "13800000001"

        second = await site.call("billing", caller="13800000002")
        await second.phone.send_dtmf("*")
        with trio.fail_after(10):
            await second.done.wait()
        assert second.outcome is not None and second.outcome.outcome == "left"


async def test_console_answer_rings_the_auto_answering_phone_only_when_the_agent_answers(
    services: AcdServices, tmp_path: Path
) -> None:
    settings = AcdSettings(announce_every_s=0, wrap_up_s=0,
                           queues={"water": QueueSettings(skills={"water": 1})})
    async with sip_site(services, tmp_path, settings, {"caller": False, "agent1001": True}) as site:
        site.set_station("seat01", site.phones["agent1001"].uri)
        site.runtime.login("agent1001", "seat01", ready=True, answer="console")
        call = await site.call("water")
        await site.until(lambda: site.state("agent1001")[0] is S.RINGING)
        with trio.move_on_after(0.5) as quiet:
            await site.phones["agent1001"].incoming()
        assert quiet.cancelled_caught  # offered on the console; the phone is not rung yet
        site.runtime.answer("agent1001")
        with trio.fail_after(10):
            desk = await site.phones["agent1001"].incoming()
        await site.until(lambda: site.state("agent1001")[0] is S.TALKING)
        await desk.hangup()
        with trio.fail_after(10):
            await call.done.wait()
        assert call.outcome is not None and call.outcome.outcome == "completed"
