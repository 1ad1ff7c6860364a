"""Outbound legs: answered, busy, unanswered, caller ID."""

from __future__ import annotations

import pytest
import trio

from hw.base import Answered
from hw.sip import LegGone, SipDriver
from hw.sipphone import SipPhone, open_phone
from tests.sip.conftest import free_rtp_block

pytestmark = pytest.mark.sip


async def test_originate_with_caller_id_and_answered_event(driver: SipDriver) -> None:
    async with open_phone(rtp_port=free_rtp_block(), user="station") as station:
        async with trio.open_nursery() as nursery:
            got = []

            async def pick_up() -> None:
                call = await station.incoming()
                got.append(call)
                await call.answer()

            nursery.start_soon(pick_up)
            with trio.fail_after(10):
                leg = await driver.originate(station.uri, caller_id="95598", timeout=5)
        assert leg.is_up and leg.info.direction == "out" and leg.called == "station"
        assert got[0].caller == "95598"  # From carries the caller ID
        events = leg.events()
        await got[0].hangup()
        with trio.fail_after(5):
            assert await events.__anext__() is not None
        assert leg.ended is not None and leg.ended.reason == "remote"


async def test_busy_and_unanswered_originations_raise_with_the_cause(driver: SipDriver) -> None:
    async with open_phone(rtp_port=free_rtp_block(), user="station") as station:
        async with trio.open_nursery() as nursery:

            async def refuse() -> None:
                call = await station.incoming()
                await call.hangup(486)

            nursery.start_soon(refuse)
            with pytest.raises(LegGone) as busy, trio.fail_after(10):
                await driver.originate(station.uri, timeout=5)
        assert (busy.value.code, busy.value.reason) == (486, "rejected")

        rang = []

        async def let_it_ring() -> None:
            rang.append(await station.incoming())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(let_it_ring)
            t0 = trio.current_time()
            with pytest.raises(LegGone) as unanswered, trio.fail_after(10):
                await driver.originate(station.uri, timeout=1.0)
        assert (unanswered.value.code, unanswered.value.reason) == (480, "timeout")
        assert 0.9 < trio.current_time() - t0 < 3.0
        with trio.fail_after(5):
            await rang[0].wait_gone()  # the phone rang, then the INVITE was cancelled
        assert rang[0].ended is not None and rang[0].ended.cause == 487


async def test_originate_to_nowhere_fails_cleanly(driver: SipDriver) -> None:
    # UDP into the void: no provisional reply, so no CANCEL is possible; the leg is reported
    # unanswered at the time-out (pjsua2 itself lets the INVITE transaction run out later).
    with pytest.raises(LegGone) as silent, trio.fail_after(10):
        await driver.originate("sip:nobody@127.0.0.1:9", timeout=1)
    assert silent.value.code == 480
    # TCP to a closed port fails at once, and the leg is gone from the worker.
    with pytest.raises(LegGone) as refused, trio.fail_after(10):
        await driver.originate("sip:nobody@127.0.0.1:9;transport=tcp", timeout=5)
    assert refused.value.code >= 400
    with pytest.raises(Exception) as bad:
        await driver.originate("not a uri", timeout=2)
    assert getattr(bad.value, "code", "") == "bad-argument"
    stats = await driver.worker_stats(0)
    assert stats.legs == 1  # only the UDP INVITE still waiting for its transaction time-out


async def test_phone_auto_answer_reports_answered(driver: SipDriver, agent_phone: SipPhone) -> None:
    leg = await driver.originate(agent_phone.uri, timeout=5)
    events = leg.events()
    incoming = await agent_phone.incoming()
    assert incoming.info.direction == "in"
    await leg.hangup(200)
    seen = [e async for e in events]
    assert not any(isinstance(e, Answered) for e in seen)  # answered before we subscribed
    assert leg.ended is not None and leg.ended.reason == "local"


async def test_a_cancelled_originate_leaves_no_leg_behind(
    driver: SipDriver, agent_phone: SipPhone
) -> None:
    with trio.move_on_after(0):
        await driver.originate(agent_phone.uri, timeout=5)
    with trio.fail_after(10):
        rung = await agent_phone.incoming()  # the INVITE had gone out (auto-answered) ...
        await rung.wait_gone()  # ... and the leg is hung up, not left up forever
        await driver.wait_idle()
    assert (await driver.worker_stats(0)).legs == 0
