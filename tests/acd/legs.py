"""Legs for service tests: callers and stations that behave as a test scripts them.

They implement `ccd.acd.ports` the way the SIP adapters will, but in memory, and log what the
service asked of them with the (virtual) time it asked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import trio

from ccd.acd import model as m
from ccd.acd.ports import AgentLeg, StationUnavailable


class Log:
    def __init__(self) -> None:
        self.entries: list[tuple[float, str, tuple[object, ...]]] = []

    def add(self, what: str, *args: object) -> None:
        self.entries.append((trio.current_time(), what, args))

    def of(self, what: str) -> list[tuple[float, tuple[object, ...]]]:
        return [(t, a) for t, w, a in self.entries if w == what]


class ScriptedCaller:
    def __init__(self, log: Log, hangup_after: float | None = None, callback: str | None = None,
                 announce_s: float = 0.0):
        """announce_s: how long one announcement takes to play."""
        self.log = log
        self.hangup_after = hangup_after
        self.callback = callback
        self.announce_s = announce_s
        self.announcing = 0  # announcements playing right now (never more than one)
        self._gone = trio.Event()
        self._digits_in, self._digits = trio.open_memory_channel[str](math.inf)

    def press(self, digit: str) -> None:
        self._digits_in.send_nowait(digit)

    def hang_up(self) -> None:
        self._gone.set()

    async def start_music(self, music: str | None) -> None:
        self.log.add("music", music)

    async def announce(self, position: int, expected_wait_s: float | None) -> None:
        self.announcing += 1
        self.log.add("announce", position, expected_wait_s, self.announcing)
        await trio.sleep(self.announce_s)
        self.announcing -= 1

    async def wait_digit(self) -> str:
        return await self._digits.receive()

    async def ask_callback_number(self) -> str | None:
        self.log.add("ask_callback")
        return self.callback

    async def wait_hangup(self) -> None:
        with trio.move_on_after(math.inf if self.hangup_after is None else self.hangup_after):
            await self._gone.wait()

    async def bridge(self, agent: AgentLeg) -> None:
        self.log.add("bridge", getattr(agent, "name", "?"))

    async def hold(self, music: str | None) -> None:
        self.log.add("hold", music)

    async def unhold(self) -> None:
        self.log.add("unhold")


class ScriptedAgentLeg:
    def __init__(self, log: Log, name: str, talk_s: float) -> None:
        self.log = log
        self.name = name
        self.talk_s = talk_s
        self._gone = trio.Event()

    async def wait_hangup(self) -> None:
        with trio.move_on_after(self.talk_s):
            await self._gone.wait()

    async def hangup(self) -> None:
        self.log.add("agent_hangup", self.name)
        self._gone.set()

    async def bridge(self, other: AgentLeg) -> None:
        self.log.add("agent_bridge", self.name, getattr(other, "name", "?"))


@dataclass
class Behaviour:
    """How a station reacts: answer after `answer_s` (None: never) or fail with `fail`."""

    answer_s: float | None = 0.0
    talk_s: float = math.inf
    fail: str | None = None


class ScriptedStations:
    def __init__(self, log: Log, behaviour: dict[str, Behaviour]) -> None:
        self.log = log
        self.behaviour = behaviour

    async def ring(self, agent: str, station: str, call_id: str, timeout_s: float) -> AgentLeg:
        b = self.behaviour.get(agent, Behaviour())
        self.log.add("ring", agent, call_id)
        try:
            if b.fail is not None:
                await trio.lowlevel.checkpoint()
                raise StationUnavailable(b.fail)
            await trio.sleep(math.inf if b.answer_s is None else b.answer_s)
        except trio.Cancelled:
            self.log.add("ring_cancelled", agent, call_id)
            raise
        self.log.add("answer", agent, call_id)
        return ScriptedAgentLeg(self.log, agent, b.talk_s)


class WatchingSink:
    """Keeps records and lets a test wait for the next one that matches."""

    def __init__(self) -> None:
        self.records: list[m.AcdRecord] = []
        self._changed = trio.Event()

    def store(self, records: Sequence[m.AcdRecord]) -> None:
        self.records.extend(records)
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, kind: m.RecordKind, since: int = 0, **details: object) -> m.AcdRecord:
        """The first record of `kind` (from index `since`) whose fields/details match."""
        while True:
            for r in self.records[since:]:
                if r.kind is kind and all(
                    getattr(r, k, None) == v or r.details.get(k) == v for k, v in details.items()
                ):
                    return r
            await self._changed.wait()
