"""The small interfaces the ACD service talks to the outside world through.

The real implementations wrap `hw.base.Channel` legs and a `hw.base.Driver` (ringing a station is
`driver.originate(station_uri, timeout=..., near=caller_channel)`); the simulator plugs in
simulated legs; tests plug in either. Everything that waits is `async`; cancellation means "stop":
a cancelled `ring` must stop ringing the station.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ccd.acd.model import AcdRecord


class StationUnavailable(Exception):
    """The station could not be rung or refused (unreachable, busy, declined, no answer).

    `cause` is a short machine-readable word ('unreachable', 'busy', 'declined', 'no_answer').
    """

    def __init__(self, cause: str = "unreachable") -> None:
        super().__init__(cause)
        self.cause = cause


class AgentLeg(Protocol):
    """An answered leg to an agent's station."""

    async def wait_hangup(self) -> None:
        """Return when the agent's side hangs up (or the leg drops)."""
        ...

    async def hangup(self) -> None:
        """Hang up the leg; hanging up a leg that is gone is not an error."""
        ...

    async def bridge(self, other: AgentLeg) -> None:
        """Connect this agent with another agent's leg (a consultation)."""
        ...


class CallerLeg(Protocol):
    """The caller's leg while the ACD holds it. The caller's IVR task owns it before and after."""

    async def start_music(self, music: str | None) -> None:
        """Start music on hold (`music`: a queue's music class or file; None: the default) and
        return; the music goes on until an announcement, `bridge` or `hold` replaces it."""
        ...

    async def announce(self, position: int, expected_wait_s: float | None) -> None:
        """Tell the caller their place and expected wait (None: unknown), then resume music."""
        ...

    async def wait_digit(self) -> str:
        """Wait for the next DTMF digit the caller presses while waiting."""
        ...

    async def ask_callback_number(self) -> str | None:
        """Ask which number to call back (default: the caller's own); None if they cancel."""
        ...

    async def wait_hangup(self) -> None:
        """Return when the caller hangs up."""
        ...

    async def bridge(self, agent: AgentLeg) -> None:
        """Stop the music and connect the caller with the agent's leg; return once connected."""
        ...

    async def hold(self, music: str | None) -> None:
        """The agent put the caller on hold: play `music`."""
        ...

    async def unhold(self) -> None:
        """Back to the agent."""
        ...


class AgentStations(Protocol):
    """Rings agents' stations."""

    async def ring(self, agent: str, station: str, call_id: str, timeout_s: float) -> AgentLeg:
        """Ring `station` for `call_id` and return the answered leg.

        Raise `StationUnavailable` when it cannot be rung. The ACD enforces `timeout_s` itself
        by cancelling this call; an implementation may also stop a little after it.
        """
        ...


class RecordSink(Protocol):
    """Where the service puts every record the core produced (the store, the API's push)."""

    def store(self, records: Sequence[AcdRecord]) -> None:
        """Take records without blocking (queue them for a writer task if storing can wait)."""
        ...


class ListSink:
    """A sink that keeps records in a list (tests, the simulator's debug runs)."""

    def __init__(self) -> None:
        self.records: list[AcdRecord] = []

    def store(self, records: Sequence[AcdRecord]) -> None:
        self.records.extend(records)
