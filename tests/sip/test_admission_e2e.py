"""Who gets in: allowed peers (403), the call cap and the arrival-rate cap (503), follow-up room."""

from __future__ import annotations

import pytest
import trio

from hw.sip import LegGone, SipChannel, open_sip_driver
from hw.sipphone import SipPhone, open_phone
from tests.sip.conftest import connect, driver_kwargs, free_rtp_block

pytestmark = pytest.mark.sip


async def test_a_call_from_a_peer_not_allowed_is_refused_403(phone: SipPhone) -> None:
    async with open_sip_driver(**driver_kwargs(allowed_peers=["10.9.9.0/24"])) as driver:
        with pytest.raises(LegGone) as refused, trio.fail_after(10):
            await phone.dial(driver.worker_uri(0, "95598"))
        assert refused.value.code == 403
        stats = driver.statistics()["workers"][0]  # type: ignore[index]
        assert stats["refused"] == 1 and stats["calls"] == 0
        # Allowing loopback at run time lets the same phone in.
        await driver.set_admission(extra_legs=2, allowed_peers=["127.0.0.1"])
        leg, call = await connect(driver, phone)
        assert leg.info.extra["source"].startswith("127.0.0.1:")
        await call.hangup()


async def test_the_call_after_the_cap_gets_503_and_room_is_kept_for_follow_ups(
    agent_phone: SipPhone,
) -> None:
    # max_calls 4 with 2 extra legs per call: one inbound call fits (1 + 2 <= 4); a second
    # would leave its own follow-ups no room, so it is refused - while the first call can
    # still add its agent and team lead.
    async with (
        open_sip_driver(**driver_kwargs(max_calls=4, extra_legs=2)) as driver,
        open_phone(rtp_port=free_rtp_block(), max_calls=4) as phone,
    ):
        stats = driver.statistics()
        assert (stats["legs_capacity"], stats["capacity"]) == (4, 1)  # legs, and callers
        leg, call = await connect(driver, phone)
        with pytest.raises(LegGone) as full, trio.fail_after(10):
            await phone.dial(driver.worker_uri(0, "95598"))
        assert full.value.code == 503
        with trio.fail_after(10):
            agent = await driver.originate(agent_phone.uri, near=leg, timeout=5)
            lead = await driver.originate(agent_phone.uri, near=leg, timeout=5)
        assert agent.is_up and lead.is_up
        # Three legs now; a fourth outbound leg still fits the cap of 4 ...
        extra = await driver.originate(agent_phone.uri, near=leg, timeout=5)
        # ... and a fifth does not.
        with pytest.raises(LegGone) as over:
            await driver.originate(agent_phone.uri, near=leg, timeout=5)
        assert (over.value.code, over.value.reason) == (503, "over-capacity")
        for channel in (extra, lead, agent):
            await channel.hangup()
        await call.hangup()
        with trio.fail_after(5):
            await leg.wait_gone()
        # Everything released: a new call is admitted again.
        leg2, call2 = await connect(driver, phone)
        await call2.hangup()


async def test_arrivals_above_the_rate_cap_get_503() -> None:
    async with (
        open_sip_driver(**driver_kwargs(max_calls=10, extra_legs=0, max_cps=2)) as driver,
        open_phone(rtp_port=free_rtp_block(), max_calls=6) as phone,
    ):
        outcomes: list[int] = []
        answered: list[SipChannel] = []

        async def answer_all() -> None:
            while True:
                leg = await driver.incoming()
                await leg.answer()
                answered.append(leg)

        async def dial() -> None:
            try:
                call = await phone.dial(driver.worker_uri(0, "95598"))
                outcomes.append(200)
                await call.hangup()
            except LegGone as gone:
                outcomes.append(gone.code)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(answer_all)
            with trio.fail_after(10):
                async with trio.open_nursery() as dials:
                    for _ in range(3):
                        dials.start_soon(dial)
            nursery.cancel_scope.cancel()
        assert sorted(outcomes) == [200, 200, 503]
        assert len(answered) == 2
