"""customer.screen_pop, customer.search and agent.tasks through the real daemon's socket."""

from __future__ import annotations

import pytest

from ccd.errors import CcdError
from tests.agent_console.conftest import admin, run
from tests.wallboard.conftest import WallboardDaemon
from tui.client import AsyncioClient


def test_screen_pop_and_search(daemon: WallboardDaemon) -> None:
    async def scenario() -> None:
        agent = await AsyncioClient.connect(daemon.socket)
        await agent.login("agent1006", "agent1006")
        pop = await agent.call("customer.screen_pop", phone="+86 138-0000-0001")
        assert pop["customer"]["id"] == 1 and pop["customer"]["name"] == "陈建国"
        assert [o["id"] for o in pop["outages"]] == [1]  # the water outage in 西湖区
        assert pop["customer"]["accounts"][0]["district_code"] == "330106"
        vip = await agent.call("customer.screen_pop", customer_id=2)
        assert vip["customer"]["vip"] is True and vip["outages"] == []
        blocked = await agent.call("customer.screen_pop", phone="13800000003")
        assert blocked["customer"]["blocked"] is True
        unknown = await agent.call("customer.screen_pop", phone="13911112222")
        assert unknown["customer"] is None and unknown["phone"] == "13911112222"
        lead = await admin(daemon.socket)
        await lead.call("testing.call", call_id="pop-1", queue="general", number="13800000004")
        by_call = await agent.call("customer.screen_pop", call_id="pop-1")
        assert by_call["customer"]["id"] == 4
        assert by_call["customer"]["accounts"][0]["arrears_fen"] == 12345
        assert by_call["call"]["src"] == "13800000004" and by_call["call"]["queue"] == "general"
        with pytest.raises(CcdError) as refused:
            await agent.call("customer.screen_pop", call_id="no-such")
        assert refused.value.error_id == "no-such-call"
        with pytest.raises(CcdError) as bad:
            await agent.call("customer.screen_pop")
        assert bad.value.error_id == "bad-params"
        found = await agent.call("customer.search", text="刘芳")
        assert 4 in [c["id"] for c in found] and found[0]["matched_on"] == "name"
        assert isinstance(await agent.call("agent.tasks"), list)
        await lead.close()
        await agent.close()

    run(scenario)
