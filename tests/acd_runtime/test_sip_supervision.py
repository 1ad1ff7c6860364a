"""Listen, whisper and barge over real SIP, asked for through the socket API by a team lead.

Three pjsua2 phones and tones: the caller plays 700 Hz, the agent 1100 Hz, the team lead 1700 Hz;
each phone records what it hears in each mode.
"""

from __future__ import annotations

import json
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

CALLER, AGENT, LEAD = 700, 1100, 1700
# mode: (caller hears, agent hears, lead hears), each as (present, absent)
EXPECTED = {
    "listen": (([AGENT], [LEAD]), ([CALLER], [LEAD]), ([CALLER, AGENT], [])),
    "whisper": (([AGENT], [LEAD]), ([CALLER, LEAD], []), ([CALLER, AGENT], [])),
    "barge": (([AGENT, LEAD], []), ([CALLER, LEAD], []), ([CALLER, AGENT], [])),
}


async def test_listen_whisper_barge_with_a_team_leads_phone(
    services: AcdServices, config: Config, tmp_path: Path
) -> None:
    settings = AcdSettings(announce_every_s=0, wrap_up_s=0,
                           queues={"water": QueueSettings(skills={"water": 1})})
    phones = {"caller": False, "agent1001": True, "lead": True}
    async with sip_site(services, tmp_path, settings, phones) as site:
        await site.nursery.start(serve_api, config, services)
        site.set_station("seat01", site.phones["agent1001"].uri)
        site.runtime.login("agent1001", "seat01", ready=True)
        call = await site.call("water")
        with trio.fail_after(10):
            desk = await site.phones["agent1001"].incoming()
        await site.until(lambda: site.state("agent1001")[0] is S.TALKING)
        await call.phone.start_play([site.tones[CALLER]])
        await desk.start_play([site.tones[AGENT]])

        lead = await TrioClient.connect(config.socket_path)
        await lead.call("login", username="lead1", password=PASSWORD)
        lead_phone = None
        for mode, wants in EXPECTED.items():
            with trio.fail_after(10):
                result = await lead.call(f"supervisor.{mode}", agent="agent1001",
                                         uri=site.phones["lead"].uri)
            assert (result["mode"], result["call_id"]) == (mode, call.call_id)
            if lead_phone is None:  # rung once; later modes switch on the same leg
                lead_phone = await site.phones["lead"].incoming()
                await lead_phone.start_play([site.tones[LEAD]])
            heard = await site.record({"caller": call.phone, "agent": desk, "lead": lead_phone})
            for who, (present, absent) in zip(("caller", "agent", "lead"), wants, strict=True):
                hears(heard[who], present=present, absent=absent)
        snapshot = await lead.call("acd.snapshot")
        assert snapshot["spies"] == [{"lead": "lead1", "agent": "agent1001",
                                      "call_id": call.call_id, "mode": "barge"}]

        assert (await lead.call("supervisor.stop", agent="agent1001"))["stopped"] is True
        with trio.fail_after(5):
            await lead_phone.wait_gone()  # ccd hung up the team lead's phone
        heard = await site.record({"caller": call.phone})
        hears(heard["caller"], present=[AGENT], absent=[LEAD])
        assert call.leg.is_up  # the call itself goes on

        audit = rows(site.db, "SELECT action, target, details FROM audit_log WHERE actor = "
                     "'lead1' AND action LIKE 'supervisor.%' ORDER BY id")
        assert [(a["action"], a["target"]) for a in audit] == [
            ("supervisor.listen", "agent1001"), ("supervisor.whisper", "agent1001"),
            ("supervisor.barge", "agent1001"), ("supervisor.stop", "agent1001")]
        assert json.loads(audit[0]["details"])["call_id"] == call.call_id
        await call.phone.hangup()
        with trio.fail_after(10):
            await call.done.wait()
        await lead.aclose()
