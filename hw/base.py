"""The one interface every telephony driver offers: a Channel per call leg, a Driver per line group.

The IVR and the ACD see only these classes. A SIP leg in a pjsua2 media worker, an analog line on a
V.253 modem and a Dialogic channel all look the same from here. Methods that wait are `async`;
everything a leg reports (digits, hang-up) also arrives on its event stream, so a task that is not
currently inside `play` or `collect` still learns that the caller left.

Errors are split by who is at fault (see STYLE.md): `ChannelGone` when the far end hung up or the
line dropped (nobody's bug, the caller left), `DriverFault` when the device or worker misbehaved,
and ordinary exceptions for misuse by our own code.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class ChannelGone(Exception):
    """The leg ended (far end hung up, line dropped) while an operation was waiting on it."""

    def __init__(self, cause: str = "hangup") -> None:
        super().__init__(cause)
        self.cause = cause


class DriverFault(Exception):
    """A device, modem or media worker misbehaved: the leg is lost, the daemon carries on."""


class PromptUnplayable(DriverFault):
    """A prompt file could not be played (missing, unreadable, bad format): nothing was played,
    and the leg is still up, so the caller can hear the rest of the call."""


class HangupCause(enum.IntEnum):
    """Why a leg ends, as a SIP status code (Q.850 causes map onto these in the drivers)."""

    NORMAL = 200
    BUSY = 486
    NO_ANSWER = 480
    DECLINED = 603
    UNAVAILABLE = 503
    FORBIDDEN = 403
    NOT_FOUND = 404
    FAILED = 500


class SpyMode(enum.Enum):
    LISTEN = "listen"  # the team lead hears both sides, nobody hears the team lead
    WHISPER = "whisper"  # the team lead hears both, only the agent hears the team lead
    BARGE = "barge"  # all three hear each other


@dataclass(frozen=True)
class Digit:
    """A DTMF digit received on a leg. `method` is 'rfc4733', 'info' or 'inband'."""

    digit: str
    method: str = "rfc4733"


@dataclass(frozen=True)
class Hangup:
    cause: int = HangupCause.NORMAL
    reason: str = ""


@dataclass(frozen=True)
class Answered:
    """An outbound (originated) leg was answered by the far end."""


ChannelEvent = Digit | Hangup | Answered


@dataclass(frozen=True)
class Recording:
    path: Path
    seconds: float
    ended_by: str  # 'silence', 'max', 'digit', 'hangup'
    digit: str = ""


@dataclass
class LegInfo:
    """Who is on a leg: numbers as the network presented them, plus driver specifics."""

    leg_id: str
    caller: str
    called: str
    direction: str  # 'in' or 'out'
    driver: str
    extra: dict[str, str] = field(default_factory=dict)


class Channel(abc.ABC):
    """One call leg, whatever carries it."""

    info: LegInfo

    @property
    def caller(self) -> str:
        return self.info.caller

    @property
    def called(self) -> str:
        return self.info.called

    @abc.abstractmethod
    async def answer(self) -> None: ...

    @abc.abstractmethod
    async def hangup(self, cause: int = HangupCause.NORMAL) -> None:
        """End the leg. Hanging up a leg that is already gone is not an error."""

    @abc.abstractmethod
    async def play(self, prompts: Sequence[Path], barge_in: bool = True) -> str | None:
        """Play WAV files in order; return the digit that interrupted them, or None.

        With `barge_in` the first digit stops playback and is left for the next `collect`.
        """

    @abc.abstractmethod
    async def collect(
        self,
        max_digits: int,
        timeout: float,
        inter_digit_timeout: float = 3.0,
        terminator: str = "#",
    ) -> str:
        """Wait for up to `max_digits` digits; '' when the caller keyed nothing before `timeout`."""

    @abc.abstractmethod
    async def record(
        self, path: Path, max_seconds: float, silence_seconds: float = 5.0, stop_digits: str = "#"
    ) -> Recording: ...

    @abc.abstractmethod
    async def send_dtmf(self, digits: str) -> None: ...

    @abc.abstractmethod
    async def bridge(self, other: Channel) -> None:
        """Connect audio both ways with `other` until either leg ends or `unbridge` is called."""

    @abc.abstractmethod
    async def unbridge(self, other: Channel) -> None: ...

    @abc.abstractmethod
    async def hold(self, music: Path | None = None) -> None: ...

    @abc.abstractmethod
    async def unhold(self) -> None: ...

    @abc.abstractmethod
    async def spy(self, supervisor: Channel, agent: Channel, mode: SpyMode) -> None:
        """Let `supervisor` listen to this (caller) leg and `agent` in the given mode."""

    @abc.abstractmethod
    def events(self) -> AsyncIterator[ChannelEvent]:
        """Digits, answer and hang-up as they happen, for tasks that watch a leg."""

    @property
    @abc.abstractmethod
    def is_up(self) -> bool: ...


class Driver(abc.ABC):
    """A group of lines: accepts incoming calls and originates outgoing ones."""

    name: str

    @abc.abstractmethod
    async def incoming(self) -> Channel:
        """Wait for the next inbound call (not yet answered)."""

    @abc.abstractmethod
    async def originate(
        self,
        uri: str,
        caller_id: str = "",
        timeout: float = 30.0,
        near: Channel | None = None,
    ) -> Channel:
        """Place an outbound leg and wait until it is answered.

        `near` is a leg the new one will be bridged with; drivers that can only bridge within one
        process (SIP media workers) place the new leg beside it. Raises `ChannelGone` with the
        cause when the far end is busy, does not answer within `timeout` or cannot be reached.
        """

    def statistics(self) -> dict[str, object]:
        """Live numbers for `ccd status` (calls, capacity, registration state)."""
        return {}
