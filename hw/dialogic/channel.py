"""`DialogicChannel`: a call on one voice-board channel (hw.base.Channel) over the R4 API.

Every operation is started asynchronously (`EV_ASYNC`) and ends with an event from
`sr_waitevt`, which the driver's event task routes here (`completed`); `ATDX_TERMMSK` then says
why it ended. The ctypes structures an operation hands the library (DX_IOTT chain, DV_TPT,
DV_DIGIT, DX_XPB) are kept alive until its completion event, also when the caller's task is
cancelled (then `dx_stopch` ends it first): the library writes into them until then.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import wave
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from hw import base
from hw.base import Channel, DriverFault, HangupCause, LegInfo, Recording, SpyMode
from hw.dialogic import r4
from hw.sipworker.channel import DigitBuffer, LegGone

if TYPE_CHECKING:
    from hw.dialogic.driver import DialogicDriver

log = logging.getLogger("hw.dialogic")

LOST_REASON = "board-lost"


class DialogicChannel(Channel):
    def __init__(self, driver: DialogicDriver, dev: int, info: LegInfo) -> None:
        self.driver = driver
        self.dev = dev
        self.info = info
        self.state = "ringing"
        self.digits = DigitBuffer()
        self.ended: base.Hangup | None = None
        self._gone = trio.Event()
        self._subscribers: list[trio.MemorySendChannel[base.ChannelEvent]] = []
        self._done: trio.Event | None = None
        self._termmsk = 0
        self._listening: DialogicChannel | None = None

    # --- from the driver's event task ---------------------------------------------------------

    def completed(self, termmsk: int) -> None:
        self._termmsk = termmsk
        if self._done is not None:
            self._done.set()

    def far_end_gone(self, reason: str = "loop-current") -> None:
        if self.ended is not None:
            return
        self.end(HangupCause.NORMAL, reason)
        self.driver.nursery_start(self._on_hook)

    def end(self, cause: int, reason: str) -> None:
        if self.ended is not None:
            return
        self.ended = base.Hangup(cause, reason)
        self.state = "ended"
        self.digits.close(LegGone(cause, reason))
        for send in self._subscribers:
            try:
                send.send_nowait(self.ended)
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                pass
            send.close()
        self._subscribers.clear()
        self._gone.set()

    async def _on_hook(self) -> None:
        try:
            if self._listening is not None:
                await self.unbridge(self._listening)
            await self.driver.call(self.driver.rt.dx.dx_sethook, self.dev, r4.DX_ONHOOK,
                                   r4.EV_SYNC, check=self)
        except DriverFault as e:
            log.warning("%s could not go on hook: %s", self.info.leg_id, e)
        finally:
            self.driver.released(self)

    # --- helpers ------------------------------------------------------------------------------

    def _check(self) -> None:
        if self.ended is not None:
            raise LegGone(self.ended.cause, self.ended.reason)

    async def _run(self, start: Any, *args: Any) -> int:
        """Start an asynchronous operation and wait for its completion; its termination mask.
        `args` (the ctypes structures) stay referenced here until the library is done."""
        self._check()
        done = self._done = trio.Event()
        await self.driver.call(start, self.dev, *args, r4.EV_ASYNC, check=self)
        try:
            await done.wait()
        finally:
            if not done.is_set():  # cancelled: stop it, and keep `args` alive until it stops
                with trio.CancelScope(shield=True):
                    await self.driver.call(self.driver.rt.dx.dx_stopch, self.dev, r4.EV_ASYNC)
                    with trio.move_on_after(5):
                        await done.wait()
            self._done = None
        del args
        if self._termmsk & r4.TM_LCOFF:
            self.far_end_gone()
        return self._termmsk

    # --- Channel ------------------------------------------------------------------------------

    @property
    def is_up(self) -> bool:
        return self.state == "up"

    async def wait_gone(self) -> None:
        await self._gone.wait()

    async def answer(self) -> None:
        self._check()
        await self.driver.call(self.driver.rt.dx.dx_sethook, self.dev, r4.DX_OFFHOOK, r4.EV_SYNC,
                               check=self)
        self.state = "up"
        self.driver.set_state(self, "talking")

    async def hangup(self, cause: int = HangupCause.NORMAL) -> None:
        if self.ended is not None:
            return
        self.end(cause, "local")
        await self._on_hook()

    async def play(self, prompts: Sequence[Path], barge_in: bool = True) -> str | None:
        self._check()
        if barge_in and self.digits.peek() is not None:
            return self.digits.peek()
        pieces, fds = [], []
        try:
            for path in prompts:
                offset, length = _pcm_extent(Path(path))
                fd = os.open(path, os.O_RDONLY)
                fds.append(fd)
                pieces.append((fd, offset, length))
            if not pieces:
                return None
            iott = r4.iott_chain(pieces)
            conditions = [(r4.DX_LCOFF, 1, r4.TF_LEVEL)]
            if barge_in:
                conditions.insert(0, (r4.DX_MAXDTMF, 1, r4.TF_EDGE))
            tpt = r4.tpt_chain(*conditions)
            xpb = _pcm16()
            termmsk = await self._run(self.driver.rt.dx.dx_playiottdata, iott, tpt, xpb)
        finally:
            for fd in fds:
                os.close(fd)
        self._check()
        if termmsk & (r4.TM_MAXDTMF | r4.TM_DIGIT):
            await self._fetch_digits(1)
            return self.digits.peek()
        return None

    async def _fetch_digits(self, count: int) -> None:
        """Move up to `count` digits the board holds into our buffer (for barge-in)."""
        tpt = r4.tpt_chain((r4.DX_MAXDTMF, count, r4.TF_EDGE), (r4.DX_IDDTIME, 1, r4.TF_EDGE))
        digits = r4.DV_DIGIT()
        await self._run(self.driver.rt.dx.dx_getdig, tpt, digits)
        for d in digits.dg_value.decode("ascii", "replace"):
            self.digits.push(d)

    async def collect(self, max_digits: int, timeout: float,  # noqa: ASYNC109
                      inter_digit_timeout: float = 3.0, terminator: str = "#") -> str:
        self._check()
        got = ""
        while len(self.digits) and len(got) < max_digits:  # keys that barged in come first
            d = await self.digits.wait_digit(trio.current_time())
            if d is None:
                break
            if terminator and d in terminator:
                return got
            got += d
        if len(got) >= max_digits:
            return got
        conditions = [(r4.DX_MAXDTMF, max_digits - len(got), r4.TF_EDGE),
                      (r4.DX_MAXTIME, max(1, round(timeout * 10)), r4.TF_EDGE),
                      (r4.DX_IDDTIME, max(1, round(inter_digit_timeout * 10)), r4.TF_EDGE),
                      (r4.DX_LCOFF, 1, r4.TF_LEVEL)]
        if terminator:
            conditions.append((r4.DX_DIGMASK, r4.digit_mask(terminator), r4.TF_EDGE))
        tpt = r4.tpt_chain(*conditions)
        digits = r4.DV_DIGIT()
        await self._run(self.driver.rt.dx.dx_getdig, tpt, digits)
        self._check()
        for d in digits.dg_value.decode("ascii", "replace"):
            if terminator and d in terminator:
                break
            got += d
        return got

    async def record(self, path: Path, max_seconds: float, silence_seconds: float = 5.0,
                     stop_digits: str = "#") -> Recording:
        self._check()
        raw_fd, raw_name = tempfile.mkstemp(suffix=".pcm", dir=path.parent if path.parent.exists()
                                            else None)
        try:
            iott = r4.iott_chain([(raw_fd, 0, -1)])
            conditions = [(r4.DX_MAXTIME, max(1, round(max_seconds * 10)), r4.TF_EDGE),
                          (r4.DX_MAXSIL, max(1, round(silence_seconds * 10)), r4.TF_EDGE),
                          (r4.DX_LCOFF, 1, r4.TF_LEVEL)]
            if stop_digits:
                conditions.append((r4.DX_DIGMASK, r4.digit_mask(stop_digits), r4.TF_EDGE))
            termmsk = await self._run(self.driver.rt.dx.dx_reciottdata, iott,
                                      r4.tpt_chain(*conditions), _pcm16())
            os.lseek(raw_fd, 0, os.SEEK_SET)
            pcm = b""
            while chunk := os.read(raw_fd, 65536):
                pcm += chunk
        finally:
            os.close(raw_fd)
            os.unlink(raw_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(pcm)
        seconds = len(pcm) / 16000
        if termmsk & r4.TM_LCOFF:
            self._check()
        digit = ""
        ended_by = "max"
        if termmsk & (r4.TM_DIGIT | r4.TM_MAXDTMF):
            ended_by = "digit"
            fetched = r4.DV_DIGIT()
            await self._run(self.driver.rt.dx.dx_getdig,
                            r4.tpt_chain((r4.DX_MAXDTMF, 1, r4.TF_EDGE),
                                         (r4.DX_IDDTIME, 1, r4.TF_EDGE)), fetched)
            digit = fetched.dg_value.decode("ascii", "replace")[:1]
        elif termmsk & r4.TM_MAXSIL:
            ended_by = "silence"
        return Recording(path, seconds, ended_by, digit)

    async def send_dtmf(self, digits: str) -> None:
        raise DriverFault("sending digits on a Dialogic channel is not bound in this version")

    async def bridge(self, other: Channel) -> None:
        """Connect the two channels on the CT bus: each listens to the other's time slot."""
        if not isinstance(other, DialogicChannel):
            raise DriverFault(f"{self.info.leg_id} can only be bridged with another board "
                              f"channel, not {other.info.leg_id}")
        self._check()
        other._check()
        dx = self.driver.rt.dx
        for talker, listener in ((self, other), (other, self)):
            slot = (r4.c_long * 1)()
            info = r4.SC_TSINFO(1, slot)
            await self.driver.call(dx.dx_getxmitslot, talker.dev, info, check=talker)
            await self.driver.call(dx.dx_listen, listener.dev, info, check=listener)
            listener._listening = talker

    async def unbridge(self, other: Channel) -> None:
        for channel in (self, other):
            if isinstance(channel, DialogicChannel) and channel._listening is not None:
                channel._listening = None
                await self.driver.call(self.driver.rt.dx.dx_unlisten, channel.dev)

    async def hold(self, music: Path | None = None) -> None:
        await trio.lowlevel.checkpoint()  # the board plays silence to a held caller

    async def unhold(self) -> None:
        await trio.lowlevel.checkpoint()

    async def spy(self, supervisor: Channel, agent: Channel, mode: SpyMode) -> None:
        raise DriverFault("listening to a board channel is not bound in this version")

    def events(self) -> AsyncIterator[base.ChannelEvent]:
        send, receive = trio.open_memory_channel[base.ChannelEvent](math.inf)
        if self.ended is not None:
            send.send_nowait(self.ended)
            send.close()
        else:
            self._subscribers.append(send)
        return _iterate(receive)


async def _iterate(receive: trio.MemoryReceiveChannel[base.ChannelEvent]
                   ) -> AsyncIterator[base.ChannelEvent]:
    async with receive:
        async for event in receive:
            yield event


def _pcm16() -> r4.DX_XPB:
    return r4.DX_XPB(r4.FILE_FORMAT_VOX, r4.DATA_FORMAT_PCM, r4.DRT_8KHZ, 16)


def _pcm_extent(path: Path) -> tuple[int, int]:
    """Where the samples of an 8 kHz mono 16-bit WAV start in the file, and how many bytes."""
    with open(path, "rb") as f, wave.open(f) as w:
        if w.getframerate() != 8000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise DriverFault(f"{path}: a board channel plays 8000 Hz mono 16-bit WAV")
        return f.tell(), w.getnframes() * 2
