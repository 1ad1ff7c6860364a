"""`DialogicDriver`: voice-board channels through the R4 API as one hw.base Driver.

    driver = DialogicDriver("dialogic", [DialogicSettings(name="dxxxB1C1")])
    await nursery.start(driver.run)
    channel = await driver.incoming()     # rang `rings` times; caller ID read with dx_gtcallid

`run` loads libsrl and libdxxx; without them every channel is marked down with a message naming
the missing library, and the daemon carries on. Otherwise it opens each channel (`dx_open`),
enables caller ID and the ring and loop-current events (`dx_setevtmsk`), puts it on hook, and
runs one task that waits for events (`sr_waitevt` in a thread of its own) and routes them: rings
to new calls, operation completions to the channel waiting on them, loop-current drop to the
call it ends. Other library calls run one at a time in a second thread.
"""

from __future__ import annotations

import ctypes
import logging
import time
from collections.abc import Callable
from typing import Any

import trio

from hw.base import Channel, Driver, DriverFault, HangupCause, LegInfo
from hw.dialogic import r4
from hw.dialogic.channel import DialogicChannel
from hw.dialogic.settings import DialogicSettings
from hw.sipworker.channel import LegGone

log = logging.getLogger("hw.dialogic")

WAIT_MS = 100  # sr_waitevt's time-out: how soon the event thread notices a shutdown


class _Line:
    """One configured channel: its settings, handle and state for `ccd status`."""

    def __init__(self, settings: DialogicSettings) -> None:
        self.settings = settings
        self.dev = -1
        self.state = "down"
        self.since = time.time()
        self.calls = 0
        self.last_error = ""
        self.channel: DialogicChannel | None = None


class DialogicDriver(Driver):
    def __init__(self, name: str, channels: list[DialogicSettings],
                 loader: Callable[[str], r4.Runtime] = r4.load) -> None:
        self.name = name
        self.lines = [_Line(s) for s in channels]
        self.loader = loader
        self.rt: r4.Runtime = None  # type: ignore[assignment]  # set by run()
        self.error = ""
        self._calls = trio.CapacityLimiter(1)  # library calls, one at a time
        self._events = trio.CapacityLimiter(1)  # the sr_waitevt thread
        self._send, self._incoming = trio.open_memory_channel[DialogicChannel](16)
        self._nursery: trio.Nursery | None = None
        self._seq = 0
        self._changed = trio.Event()

    # --- library calls ----------------------------------------------------------------------

    async def call(self, fn: Any, *args: Any, check: DialogicChannel | None = None) -> int:
        """Run one library call in the call thread; -1 from it is a DriverFault with
        ATDV_ERRMSGP's text (when `check` names the channel)."""
        result = await trio.to_thread.run_sync(fn, *args, limiter=self._calls)
        if check is not None and result == -1:
            message = await trio.to_thread.run_sync(self.rt.error, check.dev,
                                                    limiter=self._calls)
            raise DriverFault(f"{fn.__name__} on {check.info.extra.get('board', '?')}: "
                              f"{message}")
        return int(result)

    def nursery_start(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(fn, *args)

    # --- service ----------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        directory = next((ln.settings.library_dir for ln in self.lines
                          if ln.settings.library_dir), "")
        try:
            self.rt = self.loader(directory)
        except r4.RuntimeMissing as e:
            self.error = str(e)
            log.error("%s", e)
            for line in self.lines:
                line.last_error = self.error
            task_status.started()
            await trio.sleep_forever()
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for line in self.lines:
                await self._open(line)
            nursery.start_soon(self._pump)
            task_status.started()

    async def _open(self, line: _Line) -> None:
        dx = self.rt.dx
        dev = await self.call(dx.dx_open, line.settings.name.encode(), 0)
        if dev < 0:
            line.last_error = f"dx_open({line.settings.name}) failed"
            log.error("dialogic %s", line.last_error)
            return
        line.dev = dev
        if line.settings.caller_id:
            enable = ctypes.c_int(r4.DX_CALLIDENABLE)
            await self.call(dx.dx_setparm, dev, r4.DXCH_CALLID, ctypes.byref(enable))
        await self.call(dx.dx_setevtmsk, dev, r4.DM_RINGS | r4.DM_LCOFF)
        await self.call(dx.dx_sethook, dev, r4.DX_ONHOOK, r4.EV_SYNC)
        self._set(line, "idle")

    async def _pump(self) -> None:
        while True:
            got = await trio.to_thread.run_sync(self._wait_event, limiter=self._events,
                                                abandon_on_cancel=True)
            if got is not None:
                self._dispatch(*got)

    def _wait_event(self) -> tuple[int, int, int, int] | None:
        srl = self.rt.srl
        if srl.sr_waitevt(WAIT_MS) == -1:
            return None
        dev, kind = int(srl.sr_getevtdev()), int(srl.sr_getevttype())
        event = data = 0
        if kind == r4.TDX_CST and srl.sr_getevtlen() >= ctypes.sizeof(r4.DX_CST):
            cst = r4.DX_CST.from_address(srl.sr_getevtdatap())
            event, data = cst.cst_event, cst.cst_data
        termmsk = int(self.rt.dx.ATDX_TERMMSK(dev)) if kind in (
            r4.TDX_PLAY, r4.TDX_RECORD, r4.TDX_GETDIG) else 0
        return dev, kind, event, data if kind == r4.TDX_CST else termmsk

    def _dispatch(self, dev: int, kind: int, event: int, value: int) -> None:
        line = next((ln for ln in self.lines if ln.dev == dev), None)
        if line is None:
            return
        channel = line.channel
        if kind == r4.TDX_CST and event == r4.DE_RINGS:
            if channel is None and line.state in ("idle", "ringing") and \
                    value >= line.settings.rings:
                self.nursery_start(self._offer, line)
            elif channel is None:
                self._set(line, "ringing")
        elif kind == r4.TDX_CST and event == r4.DE_LCOFF:
            if channel is not None:
                channel.far_end_gone()
        elif kind in (r4.TDX_PLAY, r4.TDX_RECORD, r4.TDX_GETDIG) and channel is not None:
            channel.completed(value)

    async def _offer(self, line: _Line) -> None:
        if line.channel is not None:
            return
        number = ""
        if line.settings.caller_id:
            buffer = ctypes.create_string_buffer(128)
            if await self.call(self.rt.dx.dx_gtcallid, line.dev, buffer) == 0:
                number = buffer.value.decode("ascii", "replace")
        self._seq += 1
        info = LegInfo(leg_id=f"{self.name}/{line.settings.name}/{self._seq}", caller=number,
                       called=line.settings.number or line.settings.name, direction="in",
                       driver=self.name, extra={"board": line.settings.name})
        channel = DialogicChannel(self, line.dev, info)
        line.channel = channel
        line.calls += 1
        self._set(line, "ringing")
        try:
            self._send.send_nowait(channel)
        except trio.WouldBlock:
            log.warning("%s: nobody takes calls; %s rings out", self.name, info.leg_id)

    def _set(self, line: _Line, state: str) -> None:
        if line.state != state:
            line.state, line.since = state, time.time()
            self._changed.set()
            self._changed = trio.Event()

    async def wait_state(self, name: str, state: str) -> None:
        """Wait until channel `name` is in `state` ('idle', 'ringing', 'talking', 'down')."""
        line = next(ln for ln in self.lines if ln.settings.name == name)
        while line.state != state:
            await self._changed.wait()

    def set_state(self, channel: DialogicChannel, state: str) -> None:
        for line in self.lines:
            if line.channel is channel:
                self._set(line, state)

    def released(self, channel: DialogicChannel) -> None:
        for line in self.lines:
            if line.channel is channel:
                line.channel = None
                self._set(line, "idle")

    # --- Driver -----------------------------------------------------------------------------

    async def incoming(self) -> DialogicChannel:
        while True:
            channel = await self._incoming.receive()
            if channel.ended is None:
                return channel

    async def originate(self, uri: str, caller_id: str = "", timeout: float = 30.0,  # noqa: ASYNC109
                        near: Channel | None = None) -> Channel:
        await trio.lowlevel.checkpoint()
        raise LegGone(HangupCause.UNAVAILABLE, "dialogic-outbound-not-bound")

    def statistics(self) -> dict[str, object]:
        return {
            "driver": self.name,
            "runtime": "missing" if self.error else "loaded",
            "lines": [{"line": ln.settings.name, "port": ln.settings.name, "state": ln.state,
                       "since": round(ln.since, 3), "calls": ln.calls,
                       "caller": ln.channel.caller if ln.channel else "",
                       "last_error": ln.last_error} for ln in self.lines],
        }


__all__ = ["DialogicDriver", "DriverFault"]
