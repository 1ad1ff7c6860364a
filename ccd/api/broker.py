"""Publish/subscribe for pushed events: daemon code publishes, API connections forward.

`publish` is a plain function that never waits: each subscriber has a bounded buffer, and a
subscriber whose buffer is full is dropped (its connection is closed with `slow-consumer`), so a
client that stops reading can never hold up the ACD or a call. Events are encoded once, at
publish time, so a value JSON cannot carry fails in the publisher, where the bug is.

Call `publish` from the trio thread (from another thread, go through `trio.from_thread`).
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import trio

from ccd.api.protocol import Event, encode

log = logging.getLogger("ccd.api")

DEFAULT_BUFFER = 1000


@dataclass(frozen=True)
class BrokerStatistics:
    subscribers: int
    topics: int
    published: int
    delivered: int
    dropped_subscribers: int


class Subscription:
    """One connection's topics and pending events (encoded lines, oldest first).

    The connection either iterates it (one line at a time) or, as the API server does, waits
    with `wait()` and writes everything from `take_all()` in one go, before any reply: so an
    event published before a reply is sent reaches the client before that reply.
    """

    def __init__(self, broker: Broker, buffer: int, on_drop: Callable[[], None] | None) -> None:
        self._broker = broker
        self.buffer = buffer
        self._pending: collections.deque[bytes] = collections.deque()
        self._wakeup = trio.Event()
        self._on_drop = on_drop
        self.topics: set[str] = set()
        self.dropped = False
        self.closed = False

    def add(self, topics: Iterable[str]) -> None:
        """Also receive events on `topics`."""
        self._broker._index(self, add=set(topics))

    def remove(self, topics: Iterable[str]) -> None:
        """Stop receiving events on `topics`."""
        self._broker._index(self, remove=set(topics))

    def close(self) -> None:
        """Stop receiving; pending events are discarded."""
        self._pending.clear()
        if not self.closed:
            self.closed = True
            self._broker._forget(self)
            self._wakeup.set()

    def take_all(self) -> list[bytes]:
        """Every pending event line, oldest first, removing them."""
        lines = list(self._pending)
        self._pending.clear()
        return lines

    async def wait(self) -> bool:
        """Wait until an event is pending (True) or the subscription is closed and empty."""
        while not self._pending and not self.closed:
            self._wakeup = trio.Event()
            await self._wakeup.wait()
        return bool(self._pending)

    def _offer(self, line: bytes) -> bool:
        if len(self._pending) >= self.buffer:
            return False
        self._pending.append(line)
        self._wakeup.set()
        return True

    def _drop(self) -> None:
        self.dropped = True
        self.close()
        if self._on_drop is not None:
            self._on_drop()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> bytes:
        if await self.wait():
            return self._pending.popleft()
        raise StopAsyncIteration


class Broker:
    """Topics are plain names (`queue.waiting`, `agent.state`); matching is exact."""

    def __init__(self, buffer: int = DEFAULT_BUFFER) -> None:
        """buffer: events held per subscriber before it counts as too slow and is dropped."""
        self.buffer = buffer
        self._by_topic: dict[str, set[Subscription]] = {}
        self._subscriptions: set[Subscription] = set()
        self._published = 0
        self._delivered = 0
        self._dropped = 0

    def subscribe(
        self, topics: Iterable[str] = (), *, on_drop: Callable[[], None] | None = None
    ) -> Subscription:
        """A new subscription to `topics`; `on_drop` is called (synchronously, from the
        publisher) if it is dropped for being too slow."""
        sub = Subscription(self, self.buffer, on_drop)
        self._subscriptions.add(sub)
        sub.add(topics)
        return sub

    def publish(self, topic: str, data: Any = None) -> int:
        """Send `data` to every subscriber of `topic` without waiting; returns how many got it."""
        line = encode(Event(topic, data))
        self._published += 1
        delivered = 0
        for sub in list(self._by_topic.get(topic, ())):
            if sub._offer(line):
                delivered += 1
            else:
                self._dropped += 1
                log.warning(
                    "dropping a subscriber too slow for %r (%d events pending)", topic, sub.buffer
                )
                sub._drop()
        self._delivered += delivered
        return delivered

    def statistics(self) -> BrokerStatistics:
        return BrokerStatistics(
            subscribers=len(self._subscriptions),
            topics=len(self._by_topic),
            published=self._published,
            delivered=self._delivered,
            dropped_subscribers=self._dropped,
        )

    def _index(
        self,
        sub: Subscription,
        add: AbstractSet[str] = frozenset(),
        remove: AbstractSet[str] = frozenset(),
    ) -> None:
        if sub.closed:
            return
        for topic in add - sub.topics:
            self._by_topic.setdefault(topic, set()).add(sub)
        for topic in remove & sub.topics:
            subs = self._by_topic.get(topic)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._by_topic[topic]
        sub.topics = (sub.topics | add) - remove

    def _forget(self, sub: Subscription) -> None:
        self._subscriptions.discard(sub)
        for topic in sub.topics:
            subs = self._by_topic.get(topic)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._by_topic[topic]
