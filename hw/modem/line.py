"""One analog line: its serial port, the V.253 core, and the supervision that keeps it alive.

`ModemLine.run` opens the port, initialises the modem, then reads forever, feeding the core and
routing its events: replies to the command in flight, rings to a new `ModemChannel`, tones and
audio to the channel of the call. A modem that vanishes (read error, end of file), answers
garbage or stops answering (a command without reply) marks the line down: its call is lost
(`Hangup(500, 'line-lost')`), the port is closed and reopened after `retry_s` (doubling up to
60 s), and the other lines never notice. Nothing a modem does escapes `run`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import trio

from hw.base import DriverFault
from hw.modem import audio as au
from hw.modem import core as c
from hw.modem.callerid import CallerId
from hw.modem.port import PortLost, SerialPort
from hw.modem.settings import ModemSettings

log = logging.getLogger("hw.modem")

MAX_RETRY_S = 60.0
COMMAND_TIMEOUT_S = 5.0


class CommandRefused(DriverFault):
    """The modem answered ERROR (or another result than expected) to a command."""


class LineReset(DriverFault):
    """The line is being reset (a command went unanswered, the port went away)."""


class ModemLine:
    """See the module docstring. `offer(channel)` hands a ringing call to the driver;
    `opener(path, baud)` opens the port (tests may pass another)."""

    def __init__(
        self,
        settings: ModemSettings,
        driver: str,
        offer: Callable[[Any], None],
        opener: Callable[[str, int], SerialPort] = SerialPort,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.driver = driver
        self.offer = offer
        self.opener = opener
        self.core = c.ModemCore()
        self.port: SerialPort | None = None
        self.state = "down"
        self.since = time.time()
        self.last_error = ""  # the latest reason the line went down (kept after it recovers)
        self.last_error_at = 0.0
        self.restarts = 0
        self.calls = 0
        self.underruns = 0
        self.worst_gap_ms = 0.0  # longest the modem went without audio during a play
        self.tightest_lead_ms = 1000.0 * 0.2  # least audio ahead of the modem at a write
        self.fmt: au.SampleFormat = au.format_named(settings.sample_format)
        self.prompts = au.PromptCache(self.fmt)
        self.channel: Any = None  # the ModemChannel of the call on the line
        self.op_lock = trio.Lock()  # one data session (play, record, hang-up) at a time
        self._command_lock = trio.Lock()
        self._replies_send, self._replies = trio.open_memory_channel[c.Reply](math.inf)
        self._scope: trio.CancelScope | None = None
        self._nursery: trio.Nursery | None = None
        self._callerid: CallerId | None = None
        self._seq = 0
        self._reset_reason = ""
        self._up = trio.Event()
        self._changed = trio.Event()

    # --- status --------------------------------------------------------------------------------

    def set_state(self, state: str) -> None:
        if state != self.state:
            self.state, self.since = state, time.time()
            self._changed.set()
            self._changed = trio.Event()

    async def wait_state(self, *states: str, restarts: int = 0) -> None:
        """Wait until the line is in one of `states`, restarted at least `restarts` times."""
        while self.state not in states or self.restarts < restarts:
            await self._changed.wait()

    def statistics(self) -> dict[str, Any]:
        channel = self.channel
        return {
            "line": self.name,
            "port": self.settings.port,
            "state": self.state,
            "since": round(self.since, 3),
            "caller": channel.caller if channel is not None else "",
            "calls": self.calls,
            "format": self.fmt.name,
            "restarts": self.restarts,
            "underruns": self.underruns,
            "worst_gap_ms": round(self.worst_gap_ms, 1),
            "tightest_lead_ms": round(self.tightest_lead_ms, 1),
            "last_error": self.last_error,
            "last_error_at": round(self.last_error_at, 3) if self.last_error else None,
        }

    async def wait_up(self) -> None:
        """Wait until the line is initialised and idle (tests, and originate on a fresh line)."""
        await self._up.wait()

    # --- supervision --------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep the line up until cancelled. Reports started at once: a modem missing at
        start-up is a line that is down, not a daemon that cannot start."""
        task_status.started()
        delay = self.settings.retry_s
        while True:
            self.set_state("starting")
            try:
                async with trio.open_nursery() as nursery:
                    self._scope, self._nursery = nursery.cancel_scope, nursery
                    self.port = self.opener(self.settings.port, self.settings.baud)
                    self.core = c.ModemCore()
                    nursery.start_soon(self._reader, self.port)
                    await self._initialise()
                    self.set_state("idle")
                    self._up.set()
                    delay = self.settings.retry_s
                    log.info("modem line %s ready on %s (%s)", self.name, self.settings.port,
                             self.fmt.name)
            except Exception as exc:
                # Contained (a supervisor boundary; Cancelled is not an Exception, also inside
                # groups): whatever the modem did costs this line its call and a restart, never
                # the driver or the daemon. A bug of ours is logged with its traceback.
                leaves = _leaves(exc)
                expected = (PortLost, DriverFault, OSError, au.AudioFormatError)
                if not all(isinstance(e, expected) for e in leaves):
                    log.error("modem line %s failed", self.name, exc_info=exc)
                self.last_error = self._reset_reason or "; ".join(str(e) for e in leaves)
            self.last_error, self._reset_reason = self.last_error[:300], ""
            self.last_error_at = time.time()
            self._down()
            log.warning("modem line %s down: %s; retrying in %.0f s", self.name,
                        self.last_error, delay)
            await trio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_S)
            self.restarts += 1

    def _down(self) -> None:
        self._up = trio.Event()
        self.set_state("down")
        port, self.port = self.port, None
        if port is not None:
            port.close()
        self._scope = self._nursery = None
        channel, self.channel = self.channel, None
        if channel is not None:
            channel.lose()
        self._drop_stale_replies()

    def _drop_stale_replies(self) -> None:
        """Replies nobody waits for (a data session the modem ended itself, an old session)."""
        while True:
            try:
                self._replies.receive_nowait()
            except trio.WouldBlock:
                break

    def reset(self, reason: str) -> None:
        """Give up on the modem's current state: close the port, reopen and initialise."""
        self._reset_reason = reason
        channel, self.channel = self.channel, None
        if channel is not None:
            channel.lose()
        if self.port is not None:
            self.port.close()  # the reader fails with PortLost, which ends the session

    async def _reader(self, port: SerialPort) -> None:
        while True:
            deadline = self.core.next_deadline()
            with trio.move_on_at(deadline if deadline is not None else math.inf):
                data = await port.read()
                self._dispatch(self.core.receive(data, trio.current_time()))
                continue
            self._dispatch(self.core.tick(trio.current_time()))

    # --- commands -----------------------------------------------------------------------------

    async def command(self, text: str, accept: tuple[str, ...] = ("OK",),
                      timeout: float = COMMAND_TIMEOUT_S) -> c.Reply:  # noqa: ASYNC109
        """Send an AT command and wait for its result code; CommandRefused if it is not one of
        `accept`. A modem that does not answer in `timeout` is reset (LineReset)."""
        async with self._command_lock:
            port = self._port()
            self._drop_stale_replies()
            await port.write(self.core.command(text))
            return await self._wait_reply(text, accept, timeout)

    async def end_data(self, wire: bytes, what: str, timeout: float) -> c.Reply:  # noqa: ASYNC109
        """Write the bytes that end a data session (`wire` from the core) and wait for OK."""
        async with self._command_lock:
            await self._port().write(wire)
            return await self._wait_reply(what, ("OK",), timeout)

    async def write(self, data: bytes) -> None:
        await self._port().write(data)

    def _port(self) -> SerialPort:
        if self.port is None:
            raise LineReset(f"line {self.name} is down")
        return self.port

    async def _wait_reply(self, text: str, accept: tuple[str, ...],
                          timeout: float) -> c.Reply:  # noqa: ASYNC109
        reply = None
        with trio.move_on_after(timeout):
            reply = await self._replies.receive()
        if reply is None:
            self.core.forget_pending()
            self.reset(f"no answer to {text} in {timeout:.0f} s")
            raise LineReset(f"modem line {self.name} did not answer {text}")
        if reply.result not in accept:
            raise CommandRefused(
                f"modem line {self.name} ({self.settings.port}) answered {reply.result} to {text}")
        return reply

    async def _initialise(self) -> None:
        s, q = self.settings, self.settings.quirks
        vcid = {"formatted": 1, "raw": 2, "off": 0}[s.caller_id]
        commands = [
            # ATH0 first: a line left off hook (the daemon killed mid-call) takes no calls
            "ATE0", "ATH0", "AT+FCLASS=8", f"AT+VSD={s.silence_sensitivity},{round(s.silence_s * 10)}",
            f"AT+VGT={s.transmit_gain}", f"AT+VGR={s.receive_gain}", "AT+IFC=2,2",
            f"AT+VCID={vcid}", "AT+VNH=0", "AT+VIT=60", "AT+VDR=1,5",
            f"AT+VTD={max(1, q.tone_duration_ms // 10)}", *q.init,
        ]
        for text in commands:
            try:
                await self.command(text)
            except CommandRefused:
                if text not in q.optional:
                    raise
                log.info("modem line %s: %s refused (optional)", self.name, text)
        reply = await self.command("AT+VSM=?")
        ident, self.fmt = au.choose_format(au.parse_vsm_list(reply.lines), s.sample_format)
        self.prompts = au.PromptCache(self.fmt)
        await self.command(f"AT+VSM={ident},8000")
        self.core.on_hook()

    async def on_hook(self) -> None:
        """Hang up and make the line ready for the next call (ATH0, then initialise again)."""
        try:
            await self.command("ATH0")
            await self.command("AT+FCLASS=0")
            await self._initialise()
        except CommandRefused as e:
            self.reset(str(e))
            raise
        if self.port is not None:
            self.set_state("idle")

    # --- events -------------------------------------------------------------------------------

    def _dispatch(self, events: list[c.Event]) -> None:
        for event in events:
            if isinstance(event, c.Reply):
                self._replies_send.send_nowait(event)
            elif isinstance(event, c.Ringing):
                self._ringing(event)
            elif isinstance(event, c.RingStopped):
                channel = self.channel
                if channel is not None and channel.state == "ringing":
                    self.channel = None
                    channel.end(480, "caller-gave-up")
                if self.state == "ringing":
                    self.set_state("idle")
            elif isinstance(event, c.Unsolicited):
                log.debug("modem line %s: %s", self.name, event.line)
                if event.line == "NO CARRIER" and self.channel is not None:
                    self.channel.far_end_gone("no-carrier")
            elif self.channel is not None:
                self.channel.on_modem_event(event)
            elif isinstance(event, c.Tone) and event.code == "u":
                self.underruns += 1

    def _ringing(self, event: c.Ringing) -> None:
        if self.state not in ("idle", "ringing"):
            return
        self.set_state("ringing")
        if event.callerid is not None:
            self._callerid = event.callerid
        if self.channel is not None or event.count < self.settings.rings:
            return
        from hw.modem.channel import ModemChannel  # the channel module imports this one

        found, self._callerid = self._callerid, None
        channel = ModemChannel.inbound(self, self.next_leg_id(), found)
        self.channel = channel
        self.calls += 1
        self.offer(channel)

    def next_leg_id(self) -> str:
        self._seq += 1
        return f"{self.driver}/{self.name}/{self._seq}"

    def released(self, channel: Any) -> None:
        """`channel`'s call has ended and the line is on hook again."""
        if self.channel is channel:
            self.channel = None


def _leaves(exc: BaseException) -> list[BaseException]:
    inner = getattr(exc, "exceptions", None)
    if inner is None:
        return [exc]
    return [leaf for e in inner for leaf in _leaves(e)]
