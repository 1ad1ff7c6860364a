"""The media clock of a worker keeps running for as long as the worker lives.

pjsua2 2.10 closes an idle sound device `MediaConfig.sndAutoCloseTime` seconds (default 1) after
it was opened, without looking at calls that started meanwhile. Our workers use the null sound
device, which is also the conference bridge's clock: once it is closed, no stream sends anything
(audio, RFC 4733 events, RTCP) until something is connected in the bridge again. A phone that only
dials and presses keys connects nothing, so its digits stopped ~1 s after the worker started.
These tests place calls and press keys long after that second.
"""

from __future__ import annotations

import pytest
import trio

from hw.base import Digit
from hw.sip import SipChannel, SipDriver
from hw.sipphone import SipPhone
from tests.sip.conftest import connect

pytestmark = pytest.mark.sip

RTP_PER_SECOND = 50  # G.711 with 20 ms frames, no VAD


async def _press_at(
    call: SipChannel, leg: SipChannel, answered: float, at: float, key: str
) -> Digit:
    """At `at` seconds after `answered`, press `key` by RFC 4733 and return the Digit event."""
    events = leg.events()
    await trio.sleep_until(answered + at)
    await call.send_dtmf(key, "rfc4733")
    with trio.fail_after(3):
        async for event in events:
            if isinstance(event, Digit):
                return event
    raise AssertionError("the leg ended before the digit arrived")


async def test_rfc4733_digits_arrive_3_and_6_seconds_after_answer(
    driver: SipDriver, phone: SipPhone
) -> None:
    leg, call = await connect(driver, phone)
    answered = trio.current_time()
    assert await _press_at(call, leg, answered, 3.0, "5") == Digit("5", "rfc4733")
    assert await _press_at(call, leg, answered, 6.0, "8") == Digit("8", "rfc4733")
    assert await leg.collect(2, timeout=0.2) == "58"
    await call.hangup()


async def _rtp(driver: SipDriver) -> tuple[int, int]:
    """(rx, tx) RTP packets of the one leg of `driver`'s worker 0."""
    (media,) = (await driver.worker_stats(0, media=True)).media
    return media.rx_packets, media.tx_packets


async def test_rtp_flows_both_ways_with_nothing_connected_on_later_calls(
    driver: SipDriver, phone: SipPhone
) -> None:
    # Both workers idle for longer than the auto-close time before each call, and no prompt,
    # recording or bridge ever connects anything: only the media clock makes RTP go out.
    for key in "79":
        await trio.sleep(1.5)
        leg, call = await connect(driver, phone)
        await trio.sleep(2.5)
        sides = {"daemon": driver, "phone": phone.driver}
        before = {name: await _rtp(side) for name, side in sides.items()}
        await trio.sleep(1.0)
        for name, side in sides.items():
            (rx0, tx0), (rx1, tx1) = before[name], await _rtp(side)
            assert rx1 - rx0 >= 0.7 * RTP_PER_SECOND, f"{name} received {rx1 - rx0} RTP in 1 s"
            assert tx1 - tx0 >= 0.7 * RTP_PER_SECOND, f"{name} sent {tx1 - tx0} RTP in 1 s"
        await call.send_dtmf(key, "rfc4733")
        assert await leg.collect(1, timeout=3) == key
        await call.hangup()
        with trio.fail_after(5):
            await leg.wait_gone()
