"""Agents and team leads over the real socket, with the real runtime and a real SQLite file.

No telephony here (the runtime has no driver, so a station that is rung is unreachable): these
check states, their rows, events, audit and refusals. Calls over SIP are in test_sip_*.py.
"""

from __future__ import annotations

import json

import trio

from ccd.acd.store import agent_topic
from tests.acd_runtime.conftest import Site, rows, wait_until


async def test_login_ready_not_ready_logout_are_stored_with_station_and_pushed(site: Site) -> None:
    agent = await site.client("agent1001")
    await agent.call("subscribe", topics=[agent_topic("agent1001")])
    # every agent's state changes are the team lead's to watch, not another agent's
    assert await agent.error("subscribe", topics=["acd.agent"]) == "forbidden-topic"
    lead = await site.client("lead1")
    await lead.call("subscribe", topics=["acd.agent"])
    state = await agent.call("agent.login", station="seat01")
    assert (state["state"], state["reason"], state["station"]) == ("not_ready", "login", "seat01")
    assert (await agent.call("agent.ready"))["state"] == "ready"
    state = await agent.call("agent.not_ready", reason="meal")
    assert (state["state"], state["reason"]) == ("not_ready", "meal")
    assert (await agent.call("agent.logout"))["state"] == "logged_out"
    # Committed before each reply: a second connection sees every row.
    log = rows(
        site.db,
        "SELECT state, reason, station, by_user FROM agent_state_log WHERE agent = ? ORDER BY id",
        ["agent1001"],
    )
    assert log == [
        {"state": "not_ready", "reason": "login", "station": "seat01", "by_user": "agent1001"},
        {"state": "ready", "reason": "", "station": "seat01", "by_user": "agent1001"},
        {"state": "not_ready", "reason": "meal", "station": "seat01", "by_user": "agent1001"},
        {"state": "logged_out", "reason": "", "station": "seat01", "by_user": "agent1001"},
    ]
    # Pushed on both topics, in order, before the replies that caused them.
    mine = [e.data["details"]["to"] for e in agent.events if e.event == "agent.agent1001"]
    await lead.call("ping")  # events published before this reply arrive before it
    board = [e.data["details"]["to"] for e in lead.events if e.event == "acd.agent"]
    assert mine == board == ["not_ready", "ready", "not_ready", "logged_out"]
    assert all(e.data["station"] == "seat01" for e in agent.events + lead.events)
    await agent.aclose()
    await lead.aclose()


async def test_refusals_carry_machine_readable_codes(site: Site) -> None:
    a1 = await site.client("agent1001")
    a2 = await site.client("agent1002")
    assert await a1.error("agent.login", station="nowhere") == "no-such-station"
    await a1.call("agent.login", station="seat01")
    assert await a2.error("agent.login", station="seat01") == "station-in-use"
    assert await a1.error("agent.login", station="seat02") == "bad-agent-transition"
    assert await a1.error("agent.hold") == "bad-agent-transition"
    assert await a1.error("agent.answer") == "bad-agent-transition"
    assert await a1.error("agent.transfer", target="water") == "bad-agent-transition"
    assert await a1.error("agent.dial", number="95598") == "no-outbound-route"
    assert await a1.error("agent.not_ready", reason="") == "bad-params"
    reply = await a1.request("agent.login", station="seat09")
    assert reply.error.message  # rendered from the catalogue (Chinese for this user)
    await a1.aclose()
    await a2.aclose()


async def test_unreachable_station_makes_the_agent_not_ready_missed_and_the_caller_waits(
    site: Site,
) -> None:
    """With no telephony every station is unreachable: the ACD must say so at once, set the
    agent not ready ('missed') and keep the caller waiting (nobody is lost)."""
    agent = await site.client("agent1001")
    await agent.call("agent.login", station="seat01", ready=True)

    from tests.ivr.fakes import FakeChannel

    caller = FakeChannel(caller="13900000001")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(site.acd.queue_channel, caller, "water")
        await wait_until(site.services.broker,
                         lambda: site.acd.acd.agent_state("agent1001")[1] == "missed", 5)
        assert (await agent.call("agent.state"))["reason"] == "missed"
        snapshot = site.acd.snapshot()
        water = next(q for q in snapshot["queues"] if q["queue"] == "water")
        assert water["waiting"] == 1  # still queued
        caller.far_end_hangs_up()
    await site.acd.store.flush()
    events = [r["event"] for r in rows(site.db, "SELECT event FROM queue_events ORDER BY id")]
    assert events == ["enter_queue", "offered", "station_unreachable", "returned_to_queue",
                      "abandoned"]
    (unreachable,) = rows(site.db, "SELECT data FROM queue_events WHERE event = ?",
                          ["station_unreachable"])
    assert json.loads(unreachable["data"])["cause"] == "unreachable"
    await agent.aclose()


async def test_team_lead_snapshot_and_audited_force_state(site: Site) -> None:
    agent = await site.client("agent1002")
    await agent.call("agent.login", station="seat02", ready=True)
    lead = await site.client("lead1")
    snap = await lead.call("acd.snapshot")
    assert {q["queue"] for q in snap["queues"]} == {"water", "billing"}
    water = next(q for q in snap["queues"] if q["queue"] == "water")
    assert (water["agents_staffed"], water["agents_ready"]) == (1, 1)
    mine = next(a for a in snap["agents"] if a["agent"] == "agent1002")
    assert (mine["state"], mine["station"]) == ("ready", "seat02")

    state = await lead.call("supervisor.force_state", agent="agent1002", state="not_ready",
                            reason="meeting")
    assert (state["state"], state["reason"]) == ("not_ready", "meeting")
    assert (await agent.call("agent.state"))["reason"] == "meeting"
    (row,) = rows(site.db, "SELECT * FROM audit_log WHERE action = 'supervisor.force_state'")
    assert (row["actor"], row["target"]) == ("lead1", "agent1002")
    assert json.loads(row["details"]) == {"from": "ready", "reason": "meeting",
                                          "to": "not_ready"}
    last = rows(site.db, "SELECT state, by_user FROM agent_state_log ORDER BY id DESC LIMIT 1")
    assert last == [{"state": "not_ready", "by_user": "lead1"}]
    await lead.call("supervisor.force_state", agent="agent1002", state="logged_out")
    assert (await agent.call("agent.state"))["state"] == "logged_out"
    assert await lead.error("supervisor.listen", agent="agent1002",
                            uri="sip:lead@127.0.0.1") == "agent-not-on-call"
    assert await lead.error("supervisor.listen", agent="agent1002") == "bad-params"
    await agent.aclose()
    await lead.aclose()


async def test_wrap_up_code_and_note_land_on_the_last_call(site: Site) -> None:
    agent = await site.client("agent1003")
    await agent.call("agent.login", station="seat03")
    site.db.execute("INSERT INTO calls (id, start) VALUES ('c-1', '2026-01-01T00:00:00.000Z')")
    site.acd._last_call["agent1003"] = "c-1"  # as if the agent had just answered it
    result = await agent.call("agent.wrap_up", code="billing", note="已解释账单")
    assert result["wrapped_call"] == "c-1"
    assert rows(site.db, "SELECT wrap_code, note FROM calls WHERE id = 'c-1'") == [
        {"wrap_code": "billing", "note": "已解释账单"}
    ]
    await agent.aclose()


async def test_queues_and_stations_admin_methods(site: Site) -> None:
    admin = await site.client("admin1")
    added = await admin.call("queues.add", name="gas", skills={"gas": 3}, wrap_up_s=15,
                             strategy="best_skill",
                             overflow=[{"after_s": 30, "to_queue": "water"}])
    assert added["applies"] == "now"
    assert "gas" in site.acd.acd.queue_names()  # the running ACD takes callers there already
    listed = {q["name"]: q for q in await admin.call("queues.list")}
    assert listed["gas"]["skills"] == {"gas": 3} and listed["gas"]["wrap_up_s"] == 15
    assert listed["gas"]["overflow"] == [{"after_s": 30.0, "to_queue": "water"}]
    assert await admin.error("queues.add", name="gas") == "queue-exists"
    assert await admin.error("queues.add", name="Bad Name") == "bad-name"
    assert await admin.error("queues.add", name="x", overflow=[{"after_s": 1,
                                                               "to_queue": "nowhere"}]) == "bad-queue"
    assert await admin.error("queues.remove", name="water") == "queue-in-use"
    changed = await admin.call("queues.set", name="gas", wrap_up_s=45, overflow=[])
    assert changed["applies"] == "now"  # the running queue takes it at once
    gas = site.acd.acd.queue_config("gas")
    assert gas is not None and gas.wrap_up_s == 45 and gas.overflow == ()
    assert next(q for q in await admin.call("queues.list") if q["name"] == "gas")["wrap_up_s"] == 45
    await admin.call("queues.remove", name="gas")
    assert "gas" not in {q["name"] for q in await admin.call("queues.list")}

    await admin.call("stations.add", name="seat09", uri="sip:desk9@10.0.0.9")
    agent = await site.client("agent1001")
    await agent.call("agent.login", station="seat09")
    stations = {s["name"]: s for s in await agent.call("stations.list")}
    assert stations["seat09"]["uri"] == "sip:desk9@10.0.0.9"
    assert stations["seat09"]["agent"] == "agent1001"
    assert await admin.error("stations.add", name="seat10", uri="http://x") == "bad-params"
    await admin.call("stations.remove", name="seat09")
    actions = [r["action"] for r in rows(site.db, "SELECT action FROM audit_log ORDER BY id")
               if r["action"].startswith(("queues.", "stations."))]
    assert actions == ["queues.add", "queues.set", "queues.remove", "stations.add",
                       "stations.remove"]
    await admin.aclose()
    await agent.aclose()


async def test_status_shows_the_acd(site: Site) -> None:
    agent = await site.client("agent1001")
    await agent.call("agent.login", station="seat01", ready=True)
    status = await agent.call("status")
    assert status["acd"]["agents_logged_in"] == 1 and status["acd"]["agents_ready"] == 1
    await agent.aclose()
