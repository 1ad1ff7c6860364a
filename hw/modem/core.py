"""The V.253 voice-modem line as an I/O-free state machine: bytes and `now` in, events out.

Everything that decides what the bytes from a modem mean lives here (h11's rule): command
replies, RING cadence and caller ID, DLE events, audio while recording, the end of a data
session. The line task (`line.py`) writes what `command`/`start_*`/`audio` return and feeds
back what it reads with `receive(data, now)` and the passing of time with `tick(now)`.

    core = ModemCore()
    wire = core.command("AT+VLS=1")           # b"AT+VLS=1\r"
    events = core.receive(b"\r\nVCON\r\n", now)   # [Reply('AT+VLS=1', 'VCON', [])]

Events:
- `Reply(command, result, lines)`: the final result code of the command in flight (OK, ERROR,
  CONNECT, VCON, NO CARRIER, BUSY, NO ANSWER, NO DIALTONE) and the lines before it.
- `Ringing(count, callerid)`: a RING; `callerid` holds what arrived before it (or None).
- `RingStopped()`: no RING for `ring_gap` seconds while ringing: the caller gave up.
- `Tone(code)`: a DLE event (digits, `l` loop-current break, `b` busy, `u` underrun...).
- `Audio(data)`: recorded audio (DLE shielding removed), only inside a recording.
- `DataEnded()`: `DLE ETX` from the modem (the end of a recording).
- `Unsolicited(line)`: any other line (logged by the driver, never an error).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from hw.modem import callerid as cid
from hw.modem.dle import (
    ABORT_PLAY,
    END_PLAY,
    STOP_DUPLEX,
    STOP_RECORD,
    DleDecoder,
    DleEvent,
    EndOfData,
)

RESULTS = frozenset({"OK", "ERROR", "CONNECT", "VCON", "NO CARRIER", "BUSY", "NO ANSWER",
                     "NO DIALTONE", "NO DIAL TONE"})
DIGITS = frozenset("0123456789*#ABCD")
# DLE events that mean the far end has gone: loop-current break, busy tone, dial tone.
GONE = {"l": "loop-current", "b": "busy", "K": "busy", "d": "dialtone", "i": "dialtone"}
END_OF_DATA = "<end of data>"  # what a Reply after a data session answers
RING_GAP = 8.0  # a new RING comes every 6 s in China (1 s on, 4 s off) and the US; 8 s: gave up


@dataclass(frozen=True)
class Reply:
    command: str
    result: str
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.result in ("OK", "VCON", "CONNECT")


@dataclass(frozen=True)
class Ringing:
    count: int
    callerid: cid.CallerId | None


@dataclass(frozen=True)
class RingStopped:
    rings: int


@dataclass(frozen=True)
class Tone:
    code: str

    @property
    def is_digit(self) -> bool:
        return self.code in DIGITS


@dataclass(frozen=True)
class Audio:
    data: bytes


@dataclass(frozen=True)
class DataEnded:
    pass


@dataclass(frozen=True)
class Unsolicited:
    line: str


Event = Reply | Ringing | RingStopped | Tone | Audio | DataEnded | Unsolicited


class Mode(enum.Enum):
    COMMAND = "command"  # lines and DLE events
    RECEIVE = "receive"  # after AT+VRX's CONNECT: audio until DLE ETX
    TRANSMIT = "transmit"  # after AT+VTX's CONNECT: we send audio; the modem sends events
    DUPLEX = "duplex"  # after AT+VTR's CONNECT: audio both ways until DLE ^ ... DLE ETX


class ModemMisuse(Exception):
    """Our own code asked for something the line cannot do now (a bug, not the modem's fault)."""


class ModemCore:
    """See the module docstring. `ring_gap`: seconds without RING that end the ringing."""

    def __init__(self, ring_gap: float = RING_GAP) -> None:
        self.ring_gap = ring_gap
        self.mode = Mode.COMMAND
        self.pending: str | None = None  # the command awaiting its result code
        self._lines: list[str] = []
        self._text = bytearray()
        self._decoder = DleDecoder()
        self._skip_lf = False
        self.rings = 0
        self._last_ring: float | None = None
        self._callerid: cid.CallerId | None = None
        self.rings_expected = True  # on hook: `DLE R` is a ring; off hook it is ringback

    # --- what we send ------------------------------------------------------------------------

    def command(self, text: str) -> bytes:
        """Bytes for an AT command; its `Reply` comes from a later `receive`."""
        if self.pending is not None:
            raise ModemMisuse(f"{text!r} sent while {self.pending!r} awaits its result")
        if self.mode is not Mode.COMMAND:
            raise ModemMisuse(f"{text!r} sent in {self.mode.value} mode")
        self.pending = text
        self._lines = []
        return text.encode("ascii") + b"\r"

    def end_transmit(self, abort: bool = False) -> bytes:
        """Bytes that end (or abort) a transmission; the modem's OK is a Reply to END_OF_DATA."""
        if self.mode is not Mode.TRANSMIT:
            raise ModemMisuse("no transmission to end")
        self.mode = Mode.COMMAND
        self.pending, self._lines = END_OF_DATA, []
        return ABORT_PLAY if abort else END_PLAY

    def stop_receive(self) -> bytes:
        """Bytes that stop a recording (or a duplex session); DataEnded then the Reply to
        END_OF_DATA follow."""
        if self.mode is Mode.DUPLEX:
            self.pending, self._lines = END_OF_DATA, []
            return STOP_DUPLEX
        if self.mode is not Mode.RECEIVE:
            raise ModemMisuse("no recording to stop")
        self.pending, self._lines = END_OF_DATA, []
        return STOP_RECORD

    def forget_pending(self) -> None:
        """The command in flight timed out; a late reply is then unsolicited."""
        self.pending = None

    def answered(self) -> None:
        """The line went off hook: ringing is over."""
        self.rings, self._last_ring, self._callerid = 0, None, None
        self.rings_expected = False

    def on_hook(self) -> None:
        """The line is back on hook: the next RING is a new call."""
        self.answered()
        self.rings_expected = True

    # --- what we receive ---------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> list[Event]:
        events: list[Event] = []
        for item in self._decoder.feed(data):
            if isinstance(item, DleEvent):
                if item.code == "R" and self.mode is Mode.COMMAND and self.rings_expected:
                    events.extend(self._line("RING", now))  # voice-mode ring: DLE R
                else:
                    events.append(Tone(item.code))
            elif isinstance(item, EndOfData):
                if self.mode in (Mode.RECEIVE, Mode.DUPLEX):
                    self.mode = Mode.COMMAND
                    if self.pending is None:  # the modem ended the recording by itself
                        self.pending = END_OF_DATA
                events.append(DataEnded())
            elif self.mode in (Mode.RECEIVE, Mode.DUPLEX):
                events.extend(self._audio(item))
            else:
                self._text += item
                events.extend(self._take_lines(now))
        return events

    def tick(self, now: float) -> list[Event]:
        if self._last_ring is not None and now - self._last_ring >= self.ring_gap:
            rings = self.rings
            self.rings, self._last_ring, self._callerid = 0, None, None
            return [RingStopped(rings)]
        return []

    def next_deadline(self) -> float | None:
        return None if self._last_ring is None else self._last_ring + self.ring_gap

    def _take_lines(self, now: float) -> list[Event]:
        events: list[Event] = []
        while True:
            cut = min((i for i in (self._text.find(b"\r"), self._text.find(b"\n")) if i >= 0),
                      default=-1)
            if cut < 0:
                return events
            raw, self._text = bytes(self._text[:cut]), self._text[cut + 1 :]
            line = raw.decode("ascii", "replace").strip()
            if line:
                events.extend(self._line(line, now))
            if self.mode in (Mode.RECEIVE, Mode.DUPLEX):  # after CONNECT: audio follows
                rest, self._text = bytes(self._text), bytearray()
                self._skip_lf = True
                events.extend(self._audio(rest))
                return events

    def _audio(self, data: bytes) -> list[Event]:
        if self._skip_lf and data:
            self._skip_lf = False
            if data[:1] == b"\n":  # the LF of CONNECT's CR LF
                data = data[1:]
        return [Audio(data)] if data else []

    def _line(self, line: str, now: float) -> list[Event]:
        if self.pending is not None and line == self.pending:
            return []  # the modem echoes commands when ATE1 is on
        if line == "RING" and self.rings_expected:
            self.rings += 1
            self._last_ring = now
            found, self._callerid = self._callerid, None
            return [Ringing(self.rings, found)]
        if cid.is_callerid_line(line) and self.pending is None and self.rings_expected:
            if self._callerid is None:
                self._callerid = cid.CallerId()
            cid.add_line(self._callerid, line)
            return []
        if line in RESULTS and self.pending is not None:
            command, self.pending = self.pending, None
            lines, self._lines = self._lines, []
            if line == "CONNECT" and command.startswith("AT+VRX"):
                self.mode = Mode.RECEIVE
            elif line == "CONNECT" and command.startswith("AT+VTX"):
                self.mode = Mode.TRANSMIT
            elif line == "CONNECT" and command.startswith("AT+VTR"):
                self.mode = Mode.DUPLEX
            return [Reply(command, line, lines)]
        if self.pending is not None:
            self._lines.append(line)
            return []
        return [Unsolicited(line)]
