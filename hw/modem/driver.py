"""`ModemDriver`: analog lines on V.253 voice modems as one hw.base Driver.

    driver = ModemDriver("modem", [ModemSettings(name="line1", port="/dev/ttyACM0")])
    await nursery.start(driver.run)
    channel = await driver.incoming()           # a ringing line, caller ID read
    leg = await driver.originate("modem:95598")  # any idle line; "modem:line2/95598" picks one

Each line runs and recovers on its own (`line.py`); the driver only gathers their calls and
numbers. Outbound: `AT+VLS` off hook, `ATDT<number>;` in voice mode; the modem answers `VCON`
when the far end picks up (or `OK` at once, and then ringback `DLE r`, busy `DLE b`, voice
`DLE v`); BUSY / NO ANSWER / NO DIALTONE become SIP-like causes 486 / 480 / 503.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import trio

from hw.base import Channel, Driver, DriverFault, HangupCause, LegInfo
from hw.modem.channel import ModemChannel
from hw.modem.line import ModemLine
from hw.modem.port import PortLost, SerialPort
from hw.modem.settings import ModemSettings
from hw.sipworker.channel import LegGone

log = logging.getLogger("hw.modem")

SCHEME = "modem:"
RESULT_CAUSES = {"BUSY": HangupCause.BUSY, "NO ANSWER": HangupCause.NO_ANSWER,
                 "NO CARRIER": HangupCause.NO_ANSWER, "NO DIALTONE": HangupCause.UNAVAILABLE,
                 "NO DIAL TONE": HangupCause.UNAVAILABLE}
RINGBACK_GONE_S = 7.0  # ringback silent this long after it was heard: the far end answered


def parse_uri(uri: str) -> tuple[str, str]:
    """'modem:line2/95598' -> ('line2', '95598'); 'modem:95598' -> ('', '95598')."""
    if not uri.startswith(SCHEME):
        raise ValueError(f"not a modem URI: {uri!r} (modem:NUMBER or modem:LINE/NUMBER)")
    rest = uri[len(SCHEME):]
    line, _, number = rest.rpartition("/")
    if not number or not all(ch in "0123456789*#,+ABCDW" for ch in number.upper()):
        raise ValueError(f"not a number to dial: {uri!r}")
    return line, number


class ModemDriver(Driver):
    def __init__(self, name: str, lines: Sequence[ModemSettings], opener: Any = SerialPort,
                 backlog: int = 16) -> None:
        self.name = name
        self._send, self._incoming = trio.open_memory_channel[ModemChannel](backlog)
        self.lines = [ModemLine(s, name, self._offer, opener) for s in lines]

    def line(self, name: str) -> ModemLine:
        for line in self.lines:
            if line.name == name:
                return line
        raise KeyError(name)

    def _offer(self, channel: ModemChannel) -> None:
        try:
            self._send.send_nowait(channel)
        except trio.WouldBlock:
            log.warning("%s: nobody takes calls; %s rings out", self.name, channel.info.leg_id)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            for line in self.lines:
                await nursery.start(line.run)
            task_status.started()

    async def incoming(self) -> ModemChannel:
        while True:
            channel = await self._incoming.receive()
            if channel.ended is None:
                return channel

    async def originate(self, uri: str, caller_id: str = "", timeout: float = 30.0,  # noqa: ASYNC109
                        near: Channel | None = None) -> ModemChannel:
        try:
            wanted, number = parse_uri(uri)
        except ValueError:
            await trio.lowlevel.checkpoint()
            raise LegGone(HangupCause.NOT_FOUND, "bad-uri") from None
        free = [ln for ln in self.lines if ln.state == "idle" and ln.channel is None
                and (not wanted or ln.name == wanted)]
        if not free:
            await trio.lowlevel.checkpoint()
            raise LegGone(HangupCause.UNAVAILABLE, "no-idle-line")
        line = free[0]
        info = LegInfo(leg_id=line.next_leg_id(), caller=caller_id, called=number,
                       direction="out", driver=self.name,
                       extra={"line": line.name, "port": line.settings.port, "called_uri": uri})
        channel = ModemChannel(line, info, "calling")
        line.channel = channel
        line.calls += 1
        line.set_state("dialling")
        cause: int = HangupCause.NO_ANSWER
        reason = "timeout"
        answered = False
        try:
            with trio.move_on_after(min(timeout, line.settings.dial_timeout_s)):
                cause, reason = await self._dial(line, channel, number, timeout)
                answered = cause == HangupCause.NORMAL
        except (DriverFault, PortLost) as e:
            cause, reason = HangupCause.FAILED, str(e)
        finally:
            if not answered:
                with trio.CancelScope(shield=True):
                    if channel.ended is None:
                        await channel.hangup()
        if not answered:
            raise LegGone(cause, reason)
        channel.state = "up"
        line.set_state("talking")
        channel._answered.set()
        return channel

    async def _dial(self, line: ModemLine, channel: ModemChannel, number: str,
                    timeout: float) -> tuple[int, str]:  # noqa: ASYNC109
        async with line.op_lock:
            await line.command(f"AT+VLS={line.settings.quirks.offhook}", accept=("OK", "VCON"))
            line.core.answered()
            reply = await line.command(f"ATDT{number};", accept=("OK", "VCON", *RESULT_CAUSES),
                                       timeout=timeout + 5)
        if reply.result == "VCON":
            return HangupCause.NORMAL, "answered"
        if reply.result in RESULT_CAUSES:
            return RESULT_CAUSES[reply.result], reply.result.lower().replace(" ", "-")
        heard_ringback: float | None = None
        while True:  # OK at once: listen for what the line does
            tones, channel._tones[:] = list(channel._tones), []
            now = trio.current_time()
            for code in tones:
                if code in ("b", "K"):
                    return HangupCause.BUSY, "busy"
                if code in ("d", "i"):
                    return HangupCause.UNAVAILABLE, "dialtone"
                if code in ("v", "V", "q"):
                    return HangupCause.NORMAL, "answered"
                if code == "r":
                    heard_ringback = now
            if channel.ended is not None:
                return channel.ended.cause, channel.ended.reason
            if heard_ringback is not None and now - heard_ringback >= RINGBACK_GONE_S:
                return HangupCause.NORMAL, "answered"
            await channel._wait_wake(now + 1.0)

    def statistics(self) -> dict[str, object]:
        lines = [line.statistics() for line in self.lines]
        return {
            "driver": self.name,
            "calls": sum(1 for ln in self.lines if ln.channel is not None),
            "lines_up": sum(1 for ln in self.lines if ln.state not in ("down", "starting")),
            "lines": lines,
        }

    async def wait_lines_up(self) -> None:
        for line in self.lines:
            await line.wait_up()


__all__ = ["ModemDriver", "parse_uri", "math"]
