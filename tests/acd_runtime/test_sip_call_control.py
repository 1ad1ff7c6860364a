"""Hold, consultation, three-way conference and hand-over over real SIP, through the socket API.

Tones: caller 1000 Hz, agent A (agent1001) 2000 Hz, agent B (agent1002) 1100 Hz, music 500 Hz.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from ccd.acd.model import AgentState as S
from ccd.acd.settings import AcdSettings, QueueSettings
from ccd.api.server import serve_api
from ccd.config import Config
from tests.acd_runtime.conftest import AcdServices, rows
from tests.acd_runtime.sip_site import sip_site
from tests.api.conftest import PASSWORD, TrioClient
from tests.sip.audio import hears

pytestmark = pytest.mark.sip

CALLER, A, B, MUSIC = 1000, 2000, 1100, 500


async def _agent(config: Config, name: str) -> TrioClient:
    client = await TrioClient.connect(config.socket_path)
    await client.call("login", username=name, password=PASSWORD)
    return client


async def test_hold_consult_conference_and_hand_over(
    services: AcdServices, config: Config, tmp_path: Path
) -> None:
    settings = AcdSettings(announce_every_s=0, wrap_up_s=0,
                           queues={"water": QueueSettings(skills={"water": 1}, wrap_up_s=0)})
    phones = {"caller": False, "agent1001": True, "agent1002": True}
    async with sip_site(services, tmp_path, settings, phones) as site:
        await site.nursery.start(serve_api, config, services)
        site.set_station("seat01", site.phones["agent1001"].uri)
        site.set_station("seat02", site.phones["agent1002"].uri)
        a, b = await _agent(config, "agent1001"), await _agent(config, "agent1002")
        await a.call("agent.login", station="seat01", ready=True)
        call = await site.call("water")
        with trio.fail_after(10):
            desk_a = await site.phones["agent1001"].incoming()
        await site.until(lambda: site.state("agent1001")[0] is S.TALKING)
        await b.call("agent.login", station="seat02", ready=True)  # after A took the call
        await call.phone.start_play([site.tones[CALLER]])
        await desk_a.start_play([site.tones[A]])

        # Hold: the caller hears music, the agent hears nobody.
        assert (await a.call("agent.hold"))["state"] == "on_hold"
        heard = await site.record({"caller": call.phone, "a": desk_a})
        hears(heard["caller"], present=[MUSIC], absent=[A])
        hears(heard["a"], present=[], absent=[CALLER, MUSIC])
        assert (await a.call("agent.unhold"))["state"] == "talking"

        # Consult B: the caller holds (music), A and B talk.
        assert (await a.call("agent.transfer", mode="consult", target="agent1002"))[
            "transfer"] == "consulting"
        with trio.fail_after(10):
            desk_b = await site.phones["agent1002"].incoming()
        await desk_b.start_play([site.tones[B]])
        await site.until(lambda: site.state("agent1002")[0] is S.TALKING)
        await trio.sleep(0.3)  # the consultation bridge follows B's answer
        heard = await site.record({"caller": call.phone, "a": desk_a, "b": desk_b})
        hears(heard["caller"], present=[MUSIC], absent=[A, B])
        hears(heard["a"], present=[B], absent=[CALLER])
        hears(heard["b"], present=[A], absent=[CALLER])

        # Conference: all three hear each other.
        assert (await a.call("agent.conference"))["conference_with"] == "agent1002"
        heard = await site.record({"caller": call.phone, "a": desk_a, "b": desk_b})
        hears(heard["caller"], present=[A, B], absent=[MUSIC])
        hears(heard["a"], present=[CALLER, B], absent=[])
        hears(heard["b"], present=[CALLER, A], absent=[])

        # A leaves: the caller stays with B.
        await a.call("agent.hangup")
        with trio.fail_after(5):
            await desk_a.wait_gone()
        heard = await site.record({"caller": call.phone, "b": desk_b})
        hears(heard["caller"], present=[B], absent=[A, MUSIC])
        hears(heard["b"], present=[CALLER], absent=[A])
        assert site.state("agent1002")[0] is S.TALKING

        await desk_b.hangup()  # B ends the call: ccd hangs up the caller
        with trio.fail_after(10):
            await call.done.wait()
            await call.phone.wait_gone()
        assert call.outcome is not None and call.outcome.outcome == "completed"
        await site.runtime.store.flush()
        (row,) = rows(site.db, "SELECT agent, hold_s, talk_s FROM calls WHERE id = ?",
                      [call.call_id])
        assert row["agent"] == "agent1002"  # the agent who finished the call
        assert row["hold_s"] > 0
        events = [r["event"] for r in rows(
            site.db, "SELECT event FROM queue_events WHERE call_id = ? ORDER BY id",
            [call.call_id])]
        for kind in ("hold", "unhold", "consult_start", "consult_answered", "transferred",
                     "completed"):
            assert kind in events, events
        conference = rows(site.db, "SELECT data FROM call_events WHERE call_id = ? AND kind = "
                          "'conference'", [call.call_id])
        assert len(conference) == 1
        await a.aclose()
        await b.aclose()


async def test_agent_dials_out_from_their_desk_phone(
    services: AcdServices, config: Config, tmp_path: Path
) -> None:
    settings = AcdSettings(announce_every_s=0, wrap_up_s=0)
    phones = {"agent1001": True, "outside": True}
    async with sip_site(services, tmp_path, settings, phones) as site:
        await site.nursery.start(serve_api, config, services)
        site.set_station("seat01", site.phones["agent1001"].uri)
        host_port = site.phones["outside"].uri.rpartition("@")[2]
        site.runtime.settings.outbound_uri = f"sip:{{number}}@{host_port}"
        a = await _agent(config, "agent1001")
        await a.call("subscribe", topics=["agent.agent1001"])
        await a.call("agent.login", station="seat01")
        await a.call("agent.not_ready", reason="meeting")
        started = await a.call("agent.dial", number="13912345678")
        assert (started["state"], started["reason"]) == ("not_ready", "outbound")
        with trio.fail_after(10):
            desk = await site.phones["agent1001"].incoming()
            far = await site.phones["outside"].incoming()
        assert desk.caller == "13912345678"  # the desk phone shows whom it is calling
        await desk.start_play([site.tones[A]])
        await far.start_play([site.tones[CALLER]])
        await trio.sleep(0.3)
        heard = await site.record({"desk": desk, "far": far})
        hears(heard["desk"], present=[CALLER], absent=[A])
        hears(heard["far"], present=[A], absent=[CALLER])
        await far.hangup()
        with trio.fail_after(10):
            await desk.wait_gone()
            await site.until(lambda: site.state("agent1001") == (S.NOT_READY, "meeting"))
        (row,) = rows(site.db, "SELECT * FROM calls WHERE id = ?", [started["outbound"]])
        assert (row["direction"], row["dst"], row["agent"], row["disposition"],
                row["hangup_by"]) == ("out", "13912345678", "agent1001", "ANSWERED", "callee")
        assert row["talk_s"] >= 1.6 and row["end"] is not None
        (rec,) = rows(site.db, "SELECT * FROM recordings WHERE call_id = ?", [row["id"]])
        assert rec["seconds"] >= 1.6
        await a.call("agent.state")  # events pushed so far arrive before this reply
        progress = [e.data["event"] for e in a.events if e.data.get("kind") == "outbound"]
        assert progress == ["station_answered", "answered", "ended"]
        await a.aclose()
