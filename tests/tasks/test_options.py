"""agent.options, and not-ready reasons and wrap-up codes checked against `[console]`, through a
real socket, the daemon's services object and the running ACD."""

from __future__ import annotations

import logging

from ccd.api.protocol import ErrorReply
from tests.tasks.conftest import CONSOLE, Site, write_config


async def test_options_come_from_the_config_file_and_the_database(site: Site) -> None:
    a1 = await site.client("agent1001")
    await a1.call("agent.login", station="seat02")
    a2 = await site.client("agent1002")
    options = await a2.call("agent.options")
    assert options["not_ready_reasons"] == [
        {"code": "break", "zh": "小休", "en": "break"},
        {"code": "coaching", "zh": "辅导", "en": "coaching"},
    ]
    assert options["dispositions"] == [
        {"code": "water_quality", "zh": "水质问题", "en": "water quality"},
        {"code": "billing", "zh": "账单", "en": "billing"},
    ]
    survey = options["survey"]
    assert survey["intro_zh"] == "您好，这里是{site}，就工单 {number} 做个回访。"
    assert survey["closing_en"] == "Thank you, goodbye."
    assert [(q["id"], q["kind"]) for q in survey["questions"]] == [
        ("overall", "score"), ("fixed", "yes_no"), ("remarks", "text")]
    assert options["priorities"] == ["urgent", "high", "normal", "low"]
    # The same rows as wo.departments.
    departments = await a2.call("wo.departments")
    assert options["types"] == departments["types"]
    assert options["departments"] == departments["departments"]
    assert "repair" in [t["code"] for t in options["types"]]
    # Stations from the database (seat01..03) and ccd.toml (seat09), with who is at each.
    assert options["stations"] == [
        {"station": "seat01", "uri": "sip:agent1001@127.0.0.1:5070", "agent": None},
        {"station": "seat02", "uri": "sip:agent1002@127.0.0.1:5071", "agent": "agent1001"},
        {"station": "seat03", "uri": "sip:agent1003@127.0.0.1:5072", "agent": None},
        {"station": "seat09", "uri": "sip:desk09@127.0.0.1:5099", "agent": None},
    ]
    assert options["last_station"] is None  # agent1002 has never logged in
    await a1.call("agent.logout")
    mine = await a1.call("agent.options")
    assert mine["last_station"] == "seat02"
    assert all(s["agent"] is None for s in mine["stations"])
    lead = await site.client("lead1")
    assert (await lead.call("agent.options"))["last_station"] is None
    for client in (a1, a2, lead):
        await client.aclose()


async def test_reasons_outside_the_list_are_refused_and_change_nothing(site: Site) -> None:
    agent = await site.client("agent1001")
    await agent.call("agent.login", station="seat01")
    state = await agent.call("agent.not_ready", reason="coaching")
    assert (state["state"], state["reason"]) == ("not_ready", "coaching")
    reply = await agent.request("agent.not_ready", reason="meal")  # a default, not listed here
    assert isinstance(reply, ErrorReply)
    assert reply.error.code == "unknown-reason"
    assert reply.error.details["valid"] == ["break", "coaching"]
    assert "coaching" in reply.error.message and "meal" in reply.error.message
    near = await agent.request("agent.not_ready", reason="coachng")
    assert isinstance(near, ErrorReply)
    assert near.error.details["did_you_mean"] == ["coaching"]
    assert (await agent.call("agent.state"))["reason"] == "coaching"
    reasons = [r["reason"] for r in site.rows(
        "SELECT reason FROM agent_state_log WHERE agent = 'agent1001' ORDER BY id")]
    assert reasons == ["login", "coaching"]
    await agent.aclose()


async def test_dispositions_outside_the_list_are_refused(site: Site) -> None:
    agent = await site.client("agent1001")
    await agent.call("agent.login", station="seat01")
    done = await agent.call("agent.wrap_up", code="water_quality", note="水有异味")
    assert done["wrapped_call"] is None  # no call yet: accepted, nothing to write
    assert await agent.error("agent.wrap_up", code="enquiry") == "unknown-disposition"
    reply = await agent.request("agent.wrap_up", code="enquiry")
    assert isinstance(reply, ErrorReply)
    assert reply.error.details == {"code": "enquiry", "valid": ["water_quality", "billing"],
                                   "did_you_mean": []}
    await agent.aclose()


async def test_a_reloaded_config_changes_the_lists_at_once(site: Site) -> None:
    agent = await site.client("agent1001")
    await agent.call("agent.login", station="seat01")
    write_config(site.base, CONSOLE.replace('code = "billing", zh = "账单", en = "billing"',
                                            'code = "meter", zh = "抄表", en = "meter"'))
    root = logging.getLogger()
    level = root.level
    try:
        await site.daemon.reload()  # what SIGHUP runs
    finally:
        root.setLevel(level)
    options = await agent.call("agent.options")
    assert [d["code"] for d in options["dispositions"]] == ["water_quality", "meter"]
    assert (await agent.call("agent.wrap_up", code="meter"))["state"] == "not_ready"
    assert await agent.error("agent.wrap_up", code="billing") == "unknown-disposition"
    await agent.aclose()
