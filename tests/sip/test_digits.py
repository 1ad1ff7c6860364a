"""Daemon-side leg logic without a worker: DigitBuffer timing on MockClock, event delivery."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from hw.base import Digit, Hangup, LegInfo
from hw.sipworker import protocol as p
from hw.sipworker.channel import DigitBuffer, LegGone, SipChannel
from hw.sipworker.link import WorkerLink


async def _feed(buffer: DigitBuffer, script: list[tuple[float, str]]) -> None:
    for delay, digit in script:
        await trio.sleep(delay)
        buffer.push(digit)


@pytest.fixture
def mock_clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0)


async def test_timeout_for_the_first_digit(mock_clock: trio.testing.MockClock) -> None:
    buffer = DigitBuffer()
    t0 = trio.current_time()
    assert await buffer.collect(4, timeout=5, inter_digit_timeout=3, terminator="#") == ""
    assert trio.current_time() - t0 == 5


async def test_inter_digit_timeout_ends_collection(mock_clock: trio.testing.MockClock) -> None:
    buffer = DigitBuffer()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_feed, buffer, [(1, "1"), (2, "2")])
        t0 = trio.current_time()
        got = await buffer.collect(4, timeout=5, inter_digit_timeout=3, terminator="#")
    assert got == "12"
    assert trio.current_time() - t0 == 1 + 2 + 3


async def test_terminator_and_max_digits(mock_clock: trio.testing.MockClock) -> None:
    buffer = DigitBuffer()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_feed, buffer, [(0.5, "4"), (0.5, "2"), (0.5, "#"), (0.5, "9")])
        t0 = trio.current_time()
        assert await buffer.collect(10, timeout=5, inter_digit_timeout=3, terminator="#") == "42"
        assert trio.current_time() - t0 == 1.5
        assert await buffer.collect(1, timeout=5, inter_digit_timeout=3, terminator="#") == "9"
        assert trio.current_time() - t0 == 2


async def test_typed_ahead_digits_are_collected_at_once(mock_clock: trio.testing.MockClock) -> None:
    buffer = DigitBuffer()
    for d in "123":
        buffer.push(d)
    t0 = trio.current_time()
    assert await buffer.collect(3, timeout=5, inter_digit_timeout=3, terminator="#") == "123"
    assert trio.current_time() - t0 == 0


async def test_hangup_while_waiting_raises_but_buffered_digits_are_kept(
    mock_clock: trio.testing.MockClock,
) -> None:
    buffer = DigitBuffer()
    buffer.push("5")

    async def hang_up() -> None:
        await trio.sleep(2)
        buffer.close(LegGone(200, "remote"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(hang_up)
        t0 = trio.current_time()
        with pytest.raises(LegGone):
            await buffer.collect(3, timeout=5, inter_digit_timeout=3, terminator="#")
        assert trio.current_time() - t0 == 2
    buffer.push("6")  # a late digit is still readable after the hang-up
    assert await buffer.collect(1, timeout=1, inter_digit_timeout=1, terminator="") == "6"


def test_remove_last() -> None:
    buffer = DigitBuffer()
    for d in "1#2#":
        buffer.push(d)
    buffer.remove_last("#")
    buffer.remove_last("9")
    assert [buffer.peek(), len(buffer)] == ["1", 3]


async def test_a_watcher_that_stopped_listening_does_not_break_delivery() -> None:
    """Events reach a leg in the worker link's reader task: nothing there may raise."""
    link = WorkerLink([], lambda event: None)  # never started: no process needed here
    leg = SipChannel(link, 7, LegInfo("sip/0.1/7", "138", "95598", "in", "sip"))
    events = leg.events()
    leg.deliver(p.Digit(leg=7, digit="1", method="info"))
    assert await events.__anext__() == Digit("1", "info")
    await events.aclose()  # the watcher goes away
    leg.deliver(p.Digit(leg=7, digit="2", method="info"))
    leg.lose()
    assert leg.ended == Hangup(500, "worker-lost")
    assert await leg.collect(2, timeout=1, inter_digit_timeout=1, terminator="") == "12"
    with pytest.raises(LegGone):
        await leg.collect(1, timeout=1, inter_digit_timeout=1, terminator="")
    late = [e async for e in leg.events()]  # a watcher that comes late still learns the end
    assert late == [Hangup(500, "worker-lost")]
