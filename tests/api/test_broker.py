"""The event broker on its own: topics, bounded buffers, dropping slow subscribers."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from ccd.api.broker import Broker
from ccd.api.protocol import Event, decode_server_message


def _events(lines: list[bytes]) -> list[Event]:
    out = []
    for line in lines:
        message = decode_server_message(line.rstrip(b"\n"))
        assert isinstance(message, Event)
        out.append(message)
    return out


async def test_exact_topics_and_counts() -> None:
    broker = Broker()
    a = broker.subscribe(["queue.waiting"])
    b = broker.subscribe(["queue.waiting", "agent.state"])
    assert broker.publish("queue.waiting", {"n": 1}) == 2
    assert broker.publish("agent.state", "ready") == 1
    assert broker.publish("queue", None) == 0  # no prefix matching
    assert _events(a.take_all()) == [Event("queue.waiting", {"n": 1})]
    assert _events(b.take_all()) == [
        Event("queue.waiting", {"n": 1}),
        Event("agent.state", "ready"),
    ]
    b.remove(["queue.waiting"])
    assert broker.publish("queue.waiting", 2) == 1
    stats = broker.statistics()
    assert (
        stats.subscribers,
        stats.topics,
        stats.published,
        stats.delivered,
        stats.dropped_subscribers,
    ) == (2, 2, 4, 4, 0)


async def test_full_buffer_drops_the_subscriber_and_calls_back() -> None:
    broker = Broker(buffer=3)
    dropped: list[str] = []
    slow = broker.subscribe(["t"], on_drop=lambda: dropped.append("slow"))
    other = broker.subscribe(["t"])
    for n in range(3):
        assert broker.publish("t", n) == 2
        other.take_all()
    assert broker.publish("t", 3) == 1  # slow is full: dropped, the other still served
    assert dropped == ["slow"] and slow.dropped and slow.closed
    assert slow.take_all() == []
    assert broker.publish("t", 4) == 1
    assert broker.statistics().dropped_subscribers == 1
    assert broker.statistics().subscribers == 1


async def test_values_json_cannot_carry_fail_in_the_publisher() -> None:
    broker = Broker()
    broker.subscribe(["t"])
    with pytest.raises(TypeError):
        broker.publish("t", {"x": object()})
    with pytest.raises(TypeError):  # even with nobody listening: the bug is found early
        broker.publish("nobody", object())


async def test_iteration_waits_for_events_and_ends_on_close() -> None:
    broker = Broker()
    sub = broker.subscribe(["t"])
    got: list[Event] = []

    async def consume() -> None:
        async for line in sub:
            got.extend(_events([line]))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume)
        await trio.testing.wait_all_tasks_blocked()
        broker.publish("t", 1)
        broker.publish("t", 2)
        await trio.testing.wait_all_tasks_blocked()
        assert [e.data for e in got] == [1, 2]
        sub.close()
    assert broker.publish("t", 3) == 0
    assert await sub.wait() is False
