"""Callers in the running ACD: queue an answered leg, serve it until it leaves, keep its recording.

Part of `ccd.acd.runtime.AcdRuntime` (read that module's docstring first). The IVR hands a caller
over with `enqueue` (shaped like its `Services.enqueue`) or the daemon with `queue_channel`; the
service does the waiting, ringing and bridging, and this part keeps what only telephony knows
about callers: which channel carries each call and the caller's number.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
import trio

from ccd.acd import model as m
from ccd.acd import tables
from ccd.acd.adapters import Announcer, CallRecording, ChannelCaller, quietly
from ccd.acd.core import Acd
from ccd.acd.service import AcdService, QueueOutcome
from ccd.acd.settings import AcdSettings
from ccd.acd.supervision import Supervision
from ccd.calls import CallLog, new_call_id
from ccd.errors import CcdError
from hw.base import Channel, Driver

log = logging.getLogger("ccd.acd")

CallbackHandler = Callable[[str, str, str, str], Awaitable[None]]  # caller, number, queue, call
# What `enqueue` tells the IVR for each way a call leaves the ACD.
IVR_OUTCOMES = {
    "completed": "connected",
    "abandoned": "connected",
    "callback": "connected",
    "max_wait": "failed",
    "left": "left",
}


@dataclass
class QueuedCaller:
    """A caller in the ACD: their leg, their number, and the leg's ACD adapter."""

    channel: Channel
    number: str
    leg: ChannelCaller


class CallerQueueing:
    """The runtime's caller-facing methods (mixed into `AcdRuntime`, which sets these fields)."""

    db: sqlite_utils.Database
    driver: Driver | None
    directory: tables.StationDirectory
    settings: AcdSettings
    acd: Acd
    service: AcdService
    call_log: CallLog
    announcer: Announcer
    supervision: Supervision
    recordings_dir: Path
    music_dir: Path
    language: str
    callback_handler: CallbackHandler | None
    _callers: dict[str, QueuedCaller]
    _conferences: dict[str, tuple[str, str]]
    _default_music: Path | None

    def _caller_of(self, call_id: str) -> tuple[Channel, str] | None:
        caller = self._callers.get(call_id)
        return (caller.channel, caller.number) if caller else None

    def _music(self, music: str | None) -> Path | None:
        if not music:
            return self._default_music
        path = Path(music)
        return path if path.is_absolute() else self.music_dir / path

    async def queue_channel(
        self,
        channel: Channel,
        queue: str,
        *,
        call_id: str | None = None,
        priority: int = 0,
        lang: str | None = None,
    ) -> QueueOutcome:
        """Queue an answered caller and serve them until they leave the ACD.

        channel: the caller's leg; queue: the queue's name; call_id: the `calls` row of this
        call (None: one is made, and closed when the call leaves); priority: the IVR's priority
        (at or above `vip_priority`: a VIP); lang: the caller's language (default: the site's).
        A completed call and a callback request end with the caller's leg hung up; otherwise
        the leg goes back to whoever queued it. Raises `no-such-queue` before queueing.
        """
        self.acd.queue_config(queue)  # no-such-queue before anything else
        if not self._any_station_reaches(channel):
            return await self.callback_only(channel, queue, call_id=call_id, lang=lang)
        own_row = call_id is None
        if call_id is None:
            call_id = new_call_id()
            self.call_log.start(
                call_id, src=channel.caller, dst=channel.called, channel=channel.info.leg_id
            )
        flags = tables.caller_flags(self.db, channel.caller, call_id, self.settings)
        caller = m.Caller(
            call_id,
            channel.caller,
            vip=flags["vip"] or priority >= self.settings.vip_priority,
            repeat_caller=flags["repeat_caller"],
            outage_area=flags["outage_area"],
        )
        recording = None
        if self.settings.record_calls:
            recording = CallRecording(self.recordings_dir / f"{_safe(call_id)}-acd.wav")
        leg = ChannelCaller(
            channel,
            announcer=self.announcer,
            lang=lang or self.language,
            music=self._music,
            recording=recording,
        )
        self._callers[call_id] = QueuedCaller(channel, channel.caller, leg)
        outcome = QueueOutcome(call_id, "abandoned")
        try:
            outcome = await self.service.queue_call(leg, queue, caller)
            if outcome.outcome == "callback" and self.callback_handler is not None:
                await self.callback_handler(
                    channel.caller, outcome.callback_number or "", queue, call_id
                )
        finally:
            del self._callers[call_id]
            self._conferences.pop(call_id, None)
            with trio.CancelScope(shield=True):
                await self.supervision.end_call(call_id)
                if outcome.outcome in ("completed", "callback"):
                    with quietly("hang up the caller", channel):
                        await channel.hangup()
                if recording is not None and recording.started:
                    await self.keep_recording(call_id, channel, recording)
                if own_row:
                    by = "agent" if outcome.outcome == "completed" else "caller"
                    self.call_log.end(call_id, hangup_by=by)
        return outcome

    def _any_station_reaches(self, channel: Channel) -> bool:
        """Whether some station could be bridged with `channel` at all. An analog caller on a
        site whose stations are all SIP cannot be (see hw.drivers): ringing agents for them
        would only mark every agent 'missed'."""
        can_bridge = getattr(self.driver, "can_bridge", None)
        stations = self.directory.all().values()
        if can_bridge is None or not stations:
            return True  # nothing to judge by: the caller waits as anyone would
        return any(can_bridge(channel, st.uri) for st in stations)

    async def callback_only(self, channel: Channel, queue: str, *, call_id: str | None = None,
                            lang: str | None = None) -> QueueOutcome:
        """Offer the caller a callback instead of a place in the queue (their line cannot
        reach an agent's station). 'callback' with the number, or 'left' if they give none."""
        if call_id is not None:
            self.call_log.event(call_id, "acd_callback_offered",
                                {"queue": queue, "reason": "no-station-on-this-line"})
        call_id = call_id or new_call_id()
        leg = ChannelCaller(channel, announcer=self.announcer, lang=lang or self.language,
                            music=self._music)
        log.info("call %s on %s cannot reach a station; offering a callback", call_id,
                 channel.info.leg_id)
        number = await leg.ask_callback_number()
        if not number:
            return QueueOutcome(call_id, "left")
        if self.callback_handler is not None:
            await self.callback_handler(channel.caller, number, queue, call_id)
        with quietly("hang up the caller", channel):
            await channel.hangup()
        return QueueOutcome(call_id, "callback", callback_number=number)

    async def keep_recording(
        self, call_id: str, channel: Channel, recording: CallRecording
    ) -> None:
        """Stop the call's recording and note it on the call (or unattached if it has no row)."""
        seconds = await recording.stop(channel)
        self.call_log.recording(  # unattached if the call has no row
            call_id, str(recording.path), kind="call", seconds=round(seconds, 3)
        )

    async def enqueue(
        self,
        channel: Channel,
        queue: str,
        priority: int = 0,
        *,
        call_id: str | None = None,
        lang: str | None = None,
    ) -> str:
        """The IVR's `Services.enqueue`: serve the caller, then say how it ended for the flow.

        Returns 'connected' when the call is over (answered, the caller hung up, or a callback
        was registered), 'failed' for an unknown queue or the maximum wait, 'left' when the
        caller chose to go back to self-service. Arguments as for `queue_channel`.
        """
        try:
            outcome = await self.queue_channel(
                channel, queue, call_id=call_id, priority=priority, lang=lang
            )
        except CcdError as exc:
            log.warning("call %s not queued in %s: %s", call_id, queue, exc.message)
            return "failed"
        return IVR_OUTCOMES.get(outcome.outcome, "failed")

    def caller_channel(self, call_id: str) -> Channel | None:
        caller = self._callers.get(call_id)
        return caller.channel if caller else None

    def caller_number(self, call_id: str) -> str | None:
        caller = self._callers.get(call_id)
        return caller.number if caller else None


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:80] or "call"
