"""The ACD's ports on real telephony: callers and stations as `hw.base` Channels and a Driver.

- `ChannelCaller` (a `CallerLeg`): music on hold while the caller waits (the channel's own hold
  with the queue's music), position and expected-wait announcements from the IVR's prompt files,
  keys, the callback-number question, bridging with the agent, and the recording of the bridged
  call.
- `DriverStations` (`AgentStations`): rings a station with `driver.originate(uri, near=caller)`
  so the agent's leg lives beside the caller's (audio is bridged inside one media worker); a
  leg that cannot be placed is `StationUnavailable` with the SIP cause as a word.
- `ChannelAgentLeg` (an `AgentLeg`): the answered station.

A caller who hangs up is not an error here: every operation on a gone leg returns quietly and
`wait_hangup` reports it, so the service sees one hang-up, at one place.
"""

from __future__ import annotations

import logging
import math
import struct
import wave
from collections.abc import Awaitable, Callable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import trio

from ccd.acd.ports import AgentLeg, StationUnavailable
from ccd.acd.tables import NoSuchStation, StationDirectory
from ccd.ivr import say
from ccd.ivr.prompts import PromptStore
from hw.base import Channel, ChannelGone, Driver, DriverFault, Hangup

log = logging.getLogger("ccd.acd")

# SIP status -> StationUnavailable cause.
CAUSES = {486: "busy", 600: "busy", 480: "no_answer", 408: "no_answer", 487: "no_answer",
          603: "declined", 403: "declined"}
# Stations ring this much longer than the ACD's ring time-out: the ACD's own time-out ends the
# ring first and counts it as 'ring no answer', not as a failure of the station.
RING_GRACE_S = 2.0
# Said as "under a minute" only below this (an estimate, with room for its error).
UNDER_A_MINUTE_S = 40.0


@contextmanager
def quietly(what: str, leg: Channel):
    """Contain a leg that has gone (or a media worker that failed) during `what`.

    A gone caller or station is reported once, by `wait_hangup`; a driver fault costs only
    this leg's operation. Both are logged, neither stops the ACD.
    """
    try:
        yield
    except ChannelGone:
        log.debug("%s: %s is gone", what, leg.info.leg_id)
    except DriverFault as fault:
        log.warning("%s on %s failed: %s", what, leg.info.leg_id, fault)


async def wait_gone(channel: Channel) -> None:
    """Return when `channel` has ended."""
    gone = getattr(channel, "wait_gone", None)
    if gone is not None:
        await gone()
        return
    async for event in channel.events():
        if isinstance(event, Hangup):
            return


def cause_of(exc: ChannelGone) -> str:
    """A failed originate as StationUnavailable's cause word."""
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return CAUSES.get(code, "unreachable")
    return {"busy": "busy", "timeout": "no_answer", "declined": "declined"}.get(
        str(exc.cause), "unreachable"
    )


# ---------------------------------------------------------------- prompts


class Announcer:
    """The prompt files of what the ACD says to a waiting caller (names in the IVR catalogue).

    prompts: the prompt store (None: say nothing); files that do not exist are left out, so a
    site without built prompts still queues callers, with music only.
    """

    def __init__(self, prompts: PromptStore | None) -> None:
        self.prompts = prompts

    def files(self, names: Sequence[str], lang: str) -> list[Path]:
        if self.prompts is None:
            return []
        paths = [self.prompts.path(name, lang) for name in names]
        return [p for p in paths if p.exists()]

    @staticmethod
    def position_names(position: int, expected_wait_s: float | None, lang: str) -> list[str]:
        """'You are number N in the queue; expected wait about M minutes' as prompt names.

        The estimate is rounded up, never down, and 'under a minute' is said only below
        UNDER_A_MINUTE_S: a caller told less than they then wait stops trusting the line."""
        names = ["acd/position_before", *say.number(position, lang), "acd/position_after"]
        if expected_wait_s is not None:
            minutes = max(1, math.ceil(expected_wait_s / 60))
            if expected_wait_s < UNDER_A_MINUTE_S:
                names.append("acd/wait_under_minute")
            elif minutes <= 1:
                names.append("acd/wait_one_minute")
            else:
                names += ["acd/wait_before", *say.count(minutes, lang), "acd/wait_after"]
        names.append("acd/options")
        return names


def write_default_music(path: Path, seconds: float = 8.0) -> Path:
    """A quiet pentatonic melody (8 kHz mono 16-bit WAV) as the music on hold nobody chose."""
    notes = [523.25, 587.33, 659.25, 783.99, 880.0, 783.99, 659.25, 587.33]
    rate, note_s, amplitude = 8000, seconds / len(notes), 2500
    frames = bytearray()
    per_note = int(rate * note_s)
    fade = int(rate * 0.03)
    for freq in notes:
        for i in range(per_note):
            envelope = min(1.0, i / fade, (per_note - i) / fade)
            frames += struct.pack(
                "<h", int(amplitude * envelope * math.sin(2 * math.pi * freq * i / rate))
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    tmp.replace(path)
    return path


# ---------------------------------------------------------------- agents


class ChannelAgentLeg:
    """An answered station leg. `on_gone(leg)` runs once it has ended (before `wait_hangup`
    returns), so the runtime can act on a hang-up before the service does."""

    def __init__(
        self,
        channel: Channel,
        agent: str,
        call_id: str,
        on_gone: Callable[[ChannelAgentLeg], None] | None = None,
    ) -> None:
        self.channel = channel
        self.agent = agent
        self.call_id = call_id
        self.on_gone = on_gone

    async def wait_hangup(self) -> None:
        await wait_gone(self.channel)
        if self.on_gone is not None:
            self.on_gone(self)

    async def hangup(self) -> None:
        with quietly("hangup", self.channel):
            await self.channel.hangup()

    async def bridge(self, other: AgentLeg) -> None:
        if isinstance(other, ChannelAgentLeg):
            with quietly("consultation bridge", self.channel):
                await self.channel.bridge(other.channel)


class CallerLookup(Protocol):
    """Finds the caller's channel and number for a call in the ACD (None: not ours)."""

    def __call__(self, call_id: str) -> tuple[Channel, str] | None: ...


class DriverStations:
    """Rings stations through a Driver. See the module docstring.

    driver: places legs (None: every station is unreachable); directory: station name -> URI;
    caller_of: the caller's channel and number for a call; caller_id: the number shown on the
    station ('' shows the caller's); gate: awaited before ringing, for stations the agent answers
    from the console (returns at once otherwise); on_answer / on_gone: the runtime's hooks.
    """

    def __init__(
        self,
        driver: Driver | None,
        directory: StationDirectory,
        caller_of: CallerLookup,
        *,
        caller_id: str = "",
        gate: Callable[[str, str], Awaitable[None]] | None = None,
        on_answer: Callable[[ChannelAgentLeg], None] | None = None,
        on_gone: Callable[[ChannelAgentLeg], None] | None = None,
    ) -> None:
        self.driver = driver
        self.directory = directory
        self.caller_of = caller_of
        self.caller_id = caller_id
        self.gate = gate
        self.on_answer = on_answer
        self.on_gone = on_gone

    async def ring(self, agent: str, station: str, call_id: str, timeout_s: float) -> AgentLeg:
        if self.driver is None:
            await trio.lowlevel.checkpoint()
            raise StationUnavailable("unreachable")
        try:
            uri = self.directory.get(station).uri
        except NoSuchStation:
            await trio.lowlevel.checkpoint()
            raise StationUnavailable("unreachable") from None
        found = self.caller_of(call_id)
        near, number = found if found is not None else (None, "")
        if self.gate is not None:
            await self.gate(agent, call_id)
        try:
            channel = await self.driver.originate(
                uri,
                caller_id=self.caller_id or number,
                timeout=timeout_s + RING_GRACE_S,
                near=near,
            )
        except ChannelGone as gone:
            raise StationUnavailable(cause_of(gone)) from None
        except DriverFault as fault:
            log.warning("ringing %s for %s failed: %s", station, agent, fault)
            raise StationUnavailable("unreachable") from None
        leg = ChannelAgentLeg(channel, agent, call_id, self.on_gone)
        if self.on_answer is not None:
            self.on_answer(leg)
        return leg


# ---------------------------------------------------------------- callers


class CallRecording:
    """The recording of one bridged call: both sides, on the caller's leg, into `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.started = False

    async def start(self, channel: Channel) -> None:
        start = getattr(channel, "start_record", None)
        if self.started or start is None:
            return  # started already (a transfer), or a driver without call recording
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await start(self.path, include_peers=True)
        self.started = True

    async def stop(self, channel: Channel) -> float:
        """Stop recording (if the leg is still up) and return the recorded seconds."""
        stop = getattr(channel, "stop_record", None)
        if self.started and channel.is_up and stop is not None:
            with quietly("stop recording", channel):
                await stop()
        try:
            return max(0.0, (self.path.stat().st_size - 44) / 16000.0)
        except OSError:
            return 0.0


class ChannelCaller:
    """A waiting caller on a Channel (see the module docstring).

    channel: the caller's answered leg; announcer: prompt files; lang: the caller's language;
    music: queue music class or file -> WAV path (None: silence); recording: records the bridged
    call (None: not recorded).
    """

    def __init__(
        self,
        channel: Channel,
        *,
        announcer: Announcer,
        lang: str,
        music: Callable[[str | None], Path | None],
        recording: CallRecording | None = None,
    ) -> None:
        self.channel = channel
        self.announcer = announcer
        self.lang = lang
        self.music_of = music
        self.recording = recording
        self.agent_leg: ChannelAgentLeg | None = None
        self._music: Path | None = None
        self._lock = trio.Lock()  # one of music / announcement / question / bridge at a time

    async def _play(self, names: Sequence[str]) -> None:
        files = self.announcer.files(names, self.lang)
        if files:
            await self.channel.play(files, barge_in=False)

    async def start_music(self, music: str | None) -> None:
        self._music = self.music_of(music)
        async with self._lock:
            with quietly("music on hold", self.channel):
                await self.channel.hold(self._music)

    async def announce(self, position: int, expected_wait_s: float | None) -> None:
        names = self.announcer.position_names(position, expected_wait_s, self.lang)
        if not self.announcer.files(names, self.lang):
            return
        async with self._lock:
            try:
                await self.channel.unhold()
                await self._play(names)
                await self.channel.hold(self._music)
            except (ChannelGone, DriverFault):
                pass  # the caller left, or the worker failed: wait_hangup reports it
            except Exception:
                # Contained: an announcement that cannot be played (a bad prompt file) must not
                # cost the caller their place. Back to the music.
                log.exception("announcement for %s failed", self.channel.info.leg_id)
                with quietly("music after a failed announcement", self.channel):
                    await self.channel.hold(self._music)

    async def wait_digit(self) -> str:
        while True:
            try:
                digit = await self.channel.collect(1, 3600.0, 3600.0, terminator="")
            except ChannelGone:
                await trio.sleep_forever()
            if digit:
                return digit

    async def ask_callback_number(self) -> str | None:
        number = self.channel.caller
        async with self._lock:
            try:
                await self.channel.unhold()
                if number.isdigit():
                    await self._play(
                        ["callback/offer", *say.digits(number, self.lang), "callback/choose"]
                    )
                    choice = await self.channel.collect(1, 8.0, terminator="")
                else:
                    choice = "2"
                if choice == "2":
                    await self._play(["callback/enter_number"])
                    number = await self.channel.collect(20, 15.0, 4.0, "#")
                elif choice != "1":
                    number = ""
                if number:
                    await self._play(["callback/confirmed"])
                else:
                    await self.channel.hold(self._music)
                return number or None
            except ChannelGone:
                return None

    async def wait_hangup(self) -> None:
        await wait_gone(self.channel)

    async def bridge(self, agent: AgentLeg) -> None:
        if not isinstance(agent, ChannelAgentLeg):
            raise TypeError(f"cannot bridge a channel with {type(agent).__name__}")
        async with self._lock:
            with quietly("bridge", self.channel):
                await self.channel.unhold()
                stop_play = getattr(self.channel, "stop_play", None)
                if stop_play is not None:
                    await stop_play()
                previous = self.agent_leg
                if previous is not None and previous is not agent and previous.channel.is_up:
                    with quietly("unbridge", previous.channel):
                        await self.channel.unbridge(previous.channel)
                await self.channel.bridge(agent.channel)
                self.agent_leg = agent
                if self.recording is not None:
                    try:
                        await self.recording.start(self.channel)
                    except (ChannelGone, DriverFault):
                        raise
                    except Exception:
                        # Contained: a recording that cannot start (disk, directory) must not
                        # keep the caller from the agent; the call goes on unrecorded.
                        log.exception("recording of %s failed", self.channel.info.leg_id)

    async def hold(self, music: str | None) -> None:
        async with self._lock:
            with quietly("hold", self.channel):
                await self.channel.hold(self.music_of(music))

    async def unhold(self) -> None:
        async with self._lock:
            with quietly("unhold", self.channel):
                await self.channel.unhold()


def describe(channel: Channel) -> dict[str, Any]:
    """What the API shows about a leg."""
    return {"leg": channel.info.leg_id, "caller": channel.caller, "called": channel.called}
