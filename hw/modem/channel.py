"""`ModemChannel`: the call on an analog line, as the IVR and the ACD see it (hw.base.Channel).

Operations run in the caller's task and take the line's `op_lock` for each data session: play
(`AT+VTX`, audio paced at 8 kHz with ~100 ms writes and a small lead, `DLE ETX`), record
(`AT+VRX`, `DLE !`), DTMF (`AT+VTS`), hang-up (`ATH0` and a fresh initialisation). What the modem
reports arrives from the line's reader through `on_modem_event` (never blocking): digits go to a
buffer and the event stream; loop-current break, busy or dial tone end the call (`far_end_gone`),
and the line then goes on hook by itself, so a caller who hangs up never leaves the line off hook.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from hw import base
from hw.base import Channel, ChannelGone, DriverFault, HangupCause, LegInfo, Recording, SpyMode
from hw.modem import audio as au
from hw.modem import core as c
from hw.modem.callerid import CallerId
from hw.modem.dle import escape
from hw.modem.port import PortLost
from hw.sipworker.channel import DigitBuffer, LegGone

if TYPE_CHECKING:
    from hw.modem.line import ModemLine

log = logging.getLogger("hw.modem")

LOST_REASON = "line-lost"
CHUNK_S = 0.1  # audio written per write: the notes' "about 100 ms at a time"
LEAD_S = 0.2  # how far ahead of the modem's playing position we keep its buffer
SILENCE_LEVEL = 300.0  # mean |sample| below this is silence (about -40 dBFS)


class ModemChannel(Channel):
    """A call on `line`. Built by the line (inbound, at the configured RING) or the driver."""

    def __init__(self, line: ModemLine, info: LegInfo, state: str) -> None:
        self.line = line
        self.info = info
        self.state = state  # 'ringing', 'calling', 'up', 'ended'
        self.digits = DigitBuffer()
        self.ended: base.Hangup | None = None
        self.played = bytearray()  # every byte sent to the modem as audio (tests, bench)
        self._gone = trio.Event()
        self._answered = trio.Event()
        self._wake = trio.Event()
        self._subscribers: list[trio.MemorySendChannel[base.ChannelEvent]] = []
        self._rx = bytearray()
        self._recording = False
        self._data_ended = False
        self._tones: list[str] = []
        self._hold_scope: trio.CancelScope | None = None
        self._hold_done: trio.Event | None = None
        self._on_hook_done = trio.Event()
        self._bridge: tuple[trio.CancelScope, trio.Event] | None = None
        self._bridge_error: BaseException | None = None
        self._duplex_send: trio.MemorySendChannel[bytes] | None = None
        self._duplex_receive: trio.MemoryReceiveChannel[bytes] | None = None

    @classmethod
    def inbound(cls, line: ModemLine, leg_id: str, callerid: CallerId | None) -> ModemChannel:
        cid = callerid or CallerId()
        extra = {"line": line.name, "port": line.settings.port, "callerid_name": cid.name,
                 "callerid_raw": "\n".join(cid.raw), "callerid_withheld": cid.withheld,
                 "callerid_date": cid.date, "callerid_time": cid.time}
        info = LegInfo(leg_id=leg_id, caller=cid.number, called=line.settings.number or line.name,
                       direction="in", driver=line.driver, extra=extra)
        return cls(line, info, "ringing")

    def __repr__(self) -> str:
        return f"<ModemChannel {self.info.leg_id} {self.state}>"

    # --- from the line's reader (never blocking) ----------------------------------------------

    def on_modem_event(self, event: c.Event) -> None:
        if isinstance(event, c.Audio):
            if self._recording:
                self._rx += event.data
            elif self._duplex_send is not None:
                self._duplex_send.send_nowait(event.data)
        elif isinstance(event, c.DataEnded):
            self._data_ended = True
        elif isinstance(event, c.Tone):
            code = event.code
            if event.is_digit and self.state == "up":
                self.digits.push(code)
                self._publish(base.Digit(code, "inband"))
            elif code in c.GONE and self.state == "up":
                self.far_end_gone(c.GONE[code])
            elif code == "u":
                self.line.underruns += 1
            else:
                self._tones.append(code)
        self._poke()

    def far_end_gone(self, reason: str) -> None:
        """The caller hung up (or the network dropped the line): end, then go on hook."""
        if self.ended is not None:
            return
        self.end(HangupCause.NORMAL, reason)
        nursery = self.line._nursery
        if nursery is not None:
            nursery.start_soon(self._go_on_hook)

    def end(self, cause: int, reason: str) -> None:
        if self.ended is not None:
            return
        self.ended = base.Hangup(cause, reason)
        self.state = "ended"
        self.digits.close(LegGone(cause, reason))
        self._publish(self.ended)
        for send in self._subscribers:
            send.close()
        self._subscribers.clear()
        self._gone.set()
        self._answered.set()
        self._poke()

    def lose(self) -> None:
        """The line went down under the call."""
        self.end(HangupCause.FAILED, LOST_REASON)
        self._on_hook_done.set()

    def _poke(self) -> None:
        self._wake.set()
        self._wake = trio.Event()

    def _publish(self, event: base.ChannelEvent) -> None:
        for send in list(self._subscribers):
            try:
                send.send_nowait(event)
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers.remove(send)

    async def _go_on_hook(self) -> None:
        await self._stop_hold()
        try:
            async with self.line.op_lock:
                if self.line.port is not None and self.line.channel is self:
                    await self.line.on_hook()
        except (DriverFault, PortLost) as e:
            log.warning("line %s could not go on hook: %s", self.line.name, e)
        finally:
            self.line.released(self)
            self._on_hook_done.set()

    # --- helpers ------------------------------------------------------------------------------

    def _gone_error(self) -> LegGone:
        assert self.ended is not None
        return LegGone(self.ended.cause, self.ended.reason)

    def _check(self) -> None:
        if self.ended is not None:
            raise self._gone_error()

    async def _wait_wake(self, deadline: float) -> None:
        wake = self._wake
        with trio.move_on_at(deadline):
            await wake.wait()

    # --- Channel ------------------------------------------------------------------------------

    @property
    def is_up(self) -> bool:
        return self.state == "up"

    async def wait_gone(self) -> None:
        await self._gone.wait()

    async def wait_answered(self) -> None:
        await self._answered.wait()
        self._check()

    async def answer(self) -> None:
        self._check()
        async with self.line.op_lock:
            self._check()
            try:
                await self.line.command(f"AT+VLS={self.line.settings.quirks.offhook}",
                                        accept=("OK", "VCON"))
            except PortLost:
                self.lose()
                raise self._gone_error() from None
            self.line.core.answered()
            self.state = "up"
            self.line.set_state("talking")
            self._answered.set()

    async def hangup(self, cause: int = HangupCause.NORMAL) -> None:
        if self.ended is not None:
            with trio.move_on_after(15):
                await self._on_hook_done.wait()
            return
        offhook = self.state in ("up", "calling")
        self.end(cause, "local")
        if offhook:
            await self._go_on_hook()
        else:  # still ringing: an analog line cannot refuse a call, it lets it ring out
            self.line.released(self)
            self._on_hook_done.set()

    async def play(self, prompts: Sequence[Path], barge_in: bool = True) -> str | None:
        self._check()
        if barge_in and self.digits.peek() is not None:
            return self.digits.peek()
        try:
            data = b"".join(self.line.prompts.get(Path(p)) for p in prompts)
        except (OSError, au.AudioFormatError) as e:
            raise DriverFault(f"cannot play {list(map(str, prompts))}: {e}") from None
        await self._stop_hold()
        async with self.line.op_lock:
            self._check()
            await self._transmit(data, barge_in)
        if self.ended is not None:
            raise self._gone_error()
        if barge_in and self.digits.peek() is not None:
            return self.digits.peek()
        return None

    async def _transmit(self, data: bytes, barge_in: bool) -> None:
        """One `AT+VTX` session: `data` paced at 8 kHz; stops early on a digit (barge-in) or
        when the call ends. Leaves the modem in command mode whatever happens."""
        line = self.line
        rate = line.fmt.bytes_per_second
        chunk = int(rate * CHUNK_S)
        try:
            await line.command("AT+VTX", accept=("CONNECT",))
        except PortLost:
            self.lose()
            raise self._gone_error() from None
        t0 = trio.current_time()
        sent = 0
        abort = False
        try:
            while sent < len(data):
                if self.ended is not None or (barge_in and self.digits.peek() is not None):
                    abort = True
                    break
                due = t0 + sent / rate
                now = trio.current_time()
                if now < due - LEAD_S:
                    await self._wait_wake(due - LEAD_S)
                    continue
                if sent and now > due:  # the modem has run dry: a gap in what the caller hears
                    line.worst_gap_ms = max(line.worst_gap_ms, (now - due) * 1000)
                if sent:  # how close the modem's buffer came to running dry
                    line.tightest_lead_ms = min(line.tightest_lead_ms, (due - now) * 1000)
                piece = data[sent : sent + chunk]
                await line.write(escape(piece))
                self.played += piece
                sent += len(piece)
        except PortLost:
            self.lose()
            raise self._gone_error() from None
        finally:
            with trio.CancelScope(shield=True):
                await self._end_transmit(abort or sent < len(data), t0 + sent / rate)

    async def _end_transmit(self, abort: bool, played_until: float) -> None:
        line = self.line
        if line.port is None:
            return
        wait = max(0.0, played_until - trio.current_time()) + 5.0
        try:
            await line.end_data(line.core.end_transmit(abort), c.END_OF_DATA, wait)
        except (PortLost, DriverFault) as e:
            log.warning("line %s: ending playback failed: %s", line.name, e)
            line.reset(f"playback did not end: {e}")

    async def start_play(self, prompts: Sequence[Path], loop: bool = True) -> None:
        """Music on hold or a ringback tone: play in the background until `stop_play`."""
        await self.hold(prompts[0] if prompts else None)

    async def stop_play(self) -> None:
        await self._stop_hold()

    async def collect(self, max_digits: int, timeout: float,  # noqa: ASYNC109
                      inter_digit_timeout: float = 3.0, terminator: str = "#") -> str:
        self._check()
        return await self.digits.collect(max_digits, timeout, inter_digit_timeout, terminator)

    async def record(self, path: Path, max_seconds: float, silence_seconds: float = 5.0,
                     stop_digits: str = "#") -> Recording:
        self._check()
        await self._stop_hold()
        line = self.line
        async with line.op_lock:
            self._check()
            self._rx.clear()
            self._tones.clear()
            self._data_ended = False
            self._recording = True  # before the command: audio may follow CONNECT at once
            try:
                await line.command("AT+VRX", accept=("CONNECT",))
            except PortLost:
                self.lose()
            except DriverFault:
                self._recording = False
                raise
            ended_by, digit = "max", ""
            fmt = line.fmt
            rate = fmt.bytes_per_second
            chunk = int(rate * CHUNK_S)
            t0 = trio.current_time()
            checked, last_sound = 0, 0.0  # audio seconds: up to where checked, last non-silence
            try:
                while True:
                    if self.ended is not None:
                        ended_by = "hangup"
                        break
                    pressed = self.digits.peek()
                    if pressed is not None and pressed in stop_digits:
                        ended_by, digit = "digit", pressed
                        self.digits.remove_last(pressed)
                        break
                    if self._data_ended or "s" in self._tones or "q" in self._tones:
                        ended_by = "silence"
                        break
                    while len(self._rx) - checked >= chunk:
                        piece = fmt.decode(bytes(self._rx[checked : checked + chunk]))
                        checked += chunk
                        if au.level(piece) >= SILENCE_LEVEL:
                            last_sound = checked / rate
                    if checked / rate - last_sound >= silence_seconds:
                        ended_by = "silence"
                        break
                    now = trio.current_time()
                    if now - t0 >= max_seconds:
                        break
                    await self._wait_wake(min(t0 + max_seconds, now + CHUNK_S))
            finally:
                with trio.CancelScope(shield=True):
                    await self._end_receive()
                    self._recording = False
            pcm = fmt.decode(bytes(self._rx))
            self._rx.clear()
        path.parent.mkdir(parents=True, exist_ok=True)
        await trio.to_thread.run_sync(au.write_wav, path, pcm)
        if ended_by == "hangup":
            raise self._gone_error()
        return Recording(path, len(pcm) / au.RATE, ended_by, digit)

    async def _end_receive(self) -> None:
        line = self.line
        if line.port is None:
            return
        try:
            if not self._data_ended:
                await line.end_data(line.core.stop_receive(), c.END_OF_DATA, 5.0)
        except (PortLost, DriverFault) as e:
            log.warning("line %s: ending the recording failed: %s", line.name, e)
            line.reset(f"recording did not end: {e}")

    async def send_dtmf(self, digits: str) -> None:
        self._check()
        await self._stop_hold()
        async with self.line.op_lock:
            self._check()
            await self.line.command("AT+VTS=" + ",".join(digits), timeout=5 + len(digits))

    async def hold(self, music: Path | None = None) -> None:
        """Music on hold in the background (silence when `music` is None)."""
        self._check()
        await self._stop_hold()
        nursery = self.line._nursery
        if music is None or nursery is None:
            return
        try:
            data = self.line.prompts.get(Path(music))
        except (OSError, au.AudioFormatError) as e:
            raise DriverFault(f"cannot play music {music}: {e}") from None
        scope, done = trio.CancelScope(), trio.Event()
        self._hold_scope, self._hold_done = scope, done

        async def loop() -> None:
            try:
                with scope:
                    while self.ended is None:
                        async with self.line.op_lock:
                            if self.ended is not None:
                                break
                            await self._transmit(data, barge_in=False)
            except (ChannelGone, DriverFault, PortLost):
                pass
            finally:
                done.set()

        nursery.start_soon(loop)

    async def unhold(self) -> None:
        await self._stop_hold()

    async def _stop_hold(self) -> None:
        scope, done = self._hold_scope, self._hold_done
        self._hold_scope = self._hold_done = None
        if scope is not None and done is not None:
            scope.cancel()
            await done.wait()

    async def bridge(self, other: Channel) -> None:
        """Connect two analog lines in the daemon: both modems in full duplex (`AT+VTR`), what
        each hears written to the other, until either call ends or `unbridge`."""
        if not isinstance(other, ModemChannel):
            raise DriverFault(
                f"an analog line ({self.info.leg_id}) cannot be bridged with "
                f"{other.info.leg_id}: audio cannot cross drivers (see hw/drivers.py)")
        self._check()
        other._check()
        if self._bridge is not None:
            return
        await self._stop_hold()
        await other._stop_hold()
        nursery = self.line._nursery
        if nursery is None:
            raise self._gone_error() if self.ended else DriverFault("the line is down")
        scope, started, done = trio.CancelScope(), trio.Event(), trio.Event()
        self._bridge = other._bridge = (scope, done)
        self._bridge_error = None
        nursery.start_soon(self._run_bridge, other, scope, started, done)
        await started.wait()
        if self._bridge_error is not None:
            raise self._bridge_error

    async def _run_bridge(self, other: ModemChannel, scope: trio.CancelScope,
                          started: trio.Event, done: trio.Event) -> None:
        first, second = sorted((self, other), key=lambda ch: ch.line.name)  # lock order
        try:
            with scope:
                async with first.line.op_lock, second.line.op_lock:
                    try:
                        for channel in (first, second):
                            channel._check()
                            channel._duplex_send, receive = trio.open_memory_channel[bytes](
                                math.inf)
                            channel._duplex_receive = receive
                            await channel.line.command("AT+VTR", accept=("CONNECT",))
                        started.set()
                        async with trio.open_nursery() as pumps:
                            pumps.start_soon(_pump, self, other)
                            pumps.start_soon(_pump, other, self)
                            pumps.start_soon(_cancel_when_either_ends, self, other,
                                             pumps.cancel_scope)
                    finally:  # both modems back in command mode before anyone else goes on
                        with trio.CancelScope(shield=True):
                            for channel in (first, second):
                                channel._duplex_send = None
                                if channel.line.core.mode is c.Mode.DUPLEX:
                                    await channel._end_receive()
        except (ChannelGone, DriverFault, PortLost) as e:
            self._bridge_error = e
            log.info("bridge %s <-> %s ended: %s", self.info.leg_id, other.info.leg_id, e)
        finally:
            self._bridge = other._bridge = None
            started.set()
            done.set()

    async def unbridge(self, other: Channel) -> None:
        bridge = self._bridge
        if bridge is None:
            await trio.lowlevel.checkpoint()
            return
        scope, done = bridge
        scope.cancel()
        await done.wait()

    async def spy(self, supervisor: Channel, agent: Channel, mode: SpyMode) -> None:
        raise DriverFault("listening to an analog line is not supported")

    def events(self) -> AsyncIterator[base.ChannelEvent]:
        send, receive = trio.open_memory_channel[base.ChannelEvent](math.inf)
        if self.ended is not None:
            send.send_nowait(self.ended)
            send.close()
        else:
            self._subscribers.append(send)
        return _iterate(receive)


async def _iterate(
    receive: trio.MemoryReceiveChannel[base.ChannelEvent],
) -> AsyncIterator[base.ChannelEvent]:
    async with receive:
        async for event in receive:
            yield event


async def _pump(source: ModemChannel, sink: ModemChannel) -> None:
    """What `source`'s caller says, written to `sink`'s modem as it arrives."""
    receive = source._duplex_receive
    assert receive is not None
    async for data in receive:
        await sink.line.write(escape(data))


async def _cancel_when_either_ends(one: ModemChannel, two: ModemChannel,
                                   scope: trio.CancelScope) -> None:
    async with trio.open_nursery() as nursery:
        async def wait(channel: ModemChannel) -> None:
            await channel.wait_gone()
            nursery.cancel_scope.cancel()
        nursery.start_soon(wait, one)
        nursery.start_soon(wait, two)
    scope.cancel()
