"""Commands and events between the daemon and a SIP media worker: plain data, no I/O.

Every message is a msgspec struct sent as one frame: a 4-byte big-endian length followed by that
many bytes of msgpack. The struct's tag (`"t"` field) names its kind.

Commands (daemon -> worker) carry an `id` chosen by the daemon. The worker answers each one exactly
once, as soon as it has executed it, with `Done(id, leg)` or `Failed(id, code, message)`; a
`stats` command is answered with `StatsReply(id, ...)`. Long operations finish later with their own
event naming the command id (`PlayDone`, `RecordDone`), or with `Answered` / `Hangup` for an
originated leg.

Legs are small integers chosen by the worker, unique for the life of that worker process.
"""

from __future__ import annotations

import struct

import msgspec

PASSWORD_ENV = "CCD_SIPWORKER_REG_PASSWORD"
"""The registration password reaches a worker in this environment variable, never in argv."""

MAX_FRAME = 1 << 20
"""Largest frame either side accepts; a longer length prefix is a protocol error."""

_LENGTH = struct.Struct(">I")


class Msg(msgspec.Struct, tag_field="t", forbid_unknown_fields=False, omit_defaults=True):
    """Base of every message."""


# --- commands ---------------------------------------------------------------------------------


class Answer(Msg, tag="answer"):
    id: int
    leg: int
    code: int = 200  # 180/183 send a provisional response instead of answering


class HangupLeg(Msg, tag="hangup"):
    """Hang up a leg: a final response with `cause` if it was not answered yet, else a BYE."""

    id: int
    leg: int
    cause: int = 200


class Play(Msg, tag="play"):
    """Play WAV files in order to a leg; a new play replaces the current one."""

    id: int
    leg: int
    files: list[str]
    barge_in: bool = False  # the first received digit stops playback (PlayDone reason 'digit')
    loop: bool = False  # play forever until stop_play (no PlayDone 'eof')


class StopPlay(Msg, tag="stop_play"):
    id: int
    leg: int


class Record(Msg, tag="record"):
    """Record what the leg's far end says (plus, with `include_peers`, what is sent to it)."""

    id: int
    leg: int
    path: str
    max_seconds: float = 0.0  # 0: no limit
    silence_seconds: float = 0.0  # 0: no silence detection
    stop_digits: str = ""
    include_peers: bool = False


class StopRecord(Msg, tag="stop_record"):
    id: int
    leg: int


class SendDtmf(Msg, tag="send_dtmf"):
    """Send digits; Done comes once they have gone out, so methods can be mixed in order."""

    id: int
    leg: int
    digits: str
    method: str = "rfc4733"  # or 'info'


class Bridge(Msg, tag="bridge"):
    id: int
    a: int
    b: int


class Unbridge(Msg, tag="unbridge"):
    id: int
    a: int
    b: int


class Spy(Msg, tag="spy"):
    """Route `supervisor` onto the caller-agent pair: listen, whisper (to the agent) or barge."""

    id: int
    caller: int
    agent: int
    supervisor: int
    mode: str  # 'listen' | 'whisper' | 'barge'


class Unspy(Msg, tag="unspy"):
    id: int
    supervisor: int


class Hold(Msg, tag="hold"):
    """Cut the leg off from its peers and play `music` (looped) to it; '' plays silence."""

    id: int
    leg: int
    music: str = ""


class Unhold(Msg, tag="unhold"):
    id: int
    leg: int


class Originate(Msg, tag="originate"):
    """Place an outbound leg. Done carries the new leg; Answered or Hangup follow."""

    id: int
    uri: str
    caller_id: str = ""
    timeout: float = 30.0
    near: int = 0  # a leg of the call this one belongs to (uses that call's reserved room)


class Admission(Msg, tag="admission"):
    """Change admission settings at run time (config reload)."""

    id: int
    extra_legs: int = 2
    allowed_peers: list[str] = []
    max_cps: float = 0.0  # 0: keep the current rate cap


class Stats(Msg, tag="stats"):
    id: int
    objects: bool = False  # also count live pjsua2 Python objects (walks the heap)
    media: bool = False  # also report RTP counters of every leg with audio


class Shutdown(Msg, tag="shutdown"):
    id: int


Command = (
    Answer
    | HangupLeg
    | Play
    | StopPlay
    | Record
    | StopRecord
    | SendDtmf
    | Bridge
    | Unbridge
    | Spy
    | Unspy
    | Hold
    | Unhold
    | Originate
    | Admission
    | Stats
    | Shutdown
)


# --- events -----------------------------------------------------------------------------------


class Limits(msgspec.Struct, omit_defaults=True):
    """What the worker can really hold, read from the pjsua2 build at start."""

    pj_max_calls: int  # pjsua_call_get_max_count() after init: our request, clamped by the build
    conf_ports: int  # pjsua_conf_get_max_ports()
    max_calls: int  # the call cap this worker enforces (legs, all directions)
    max_cps: float  # new legs per second it accepts
    extra_legs: int  # legs kept free for each inbound call's follow-ups
    max_players: int
    max_recorders: int
    ioqueue_handles: int
    followup_pool: int = 0  # legs kept free per worker for follow-ups
    caller_capacity: int = 0  # callers an idle worker takes


class Ready(Msg, tag="ready"):
    pid: int
    mode: str
    sip_address: str
    sip_port: int
    rtp_port: int
    rtp_range: int
    uri: str  # this worker's own SIP URI (what a peer dials)
    limits: Limits
    pj_version: str


class Done(Msg, tag="done"):
    id: int
    leg: int = 0


class Failed(Msg, tag="error"):
    """A command failed. `code` is machine-readable (see ERROR_CODES); `status` a pj status."""

    id: int
    code: str
    message: str
    status: int = 0


class LegMedia(msgspec.Struct, omit_defaults=True):
    """RTP counters of one leg since it started (from pjsua2's stream statistics)."""

    leg: int
    rx_packets: int
    tx_packets: int
    rx_lost: int
    rx_jitter_ms: float


class StatsReply(Msg, tag="stats_reply"):
    id: int
    legs: int
    pj_calls: int
    conf_ports_active: int
    players: int
    recorders: int
    routes: int
    arrivals_last_second: int
    accepted: int
    refused: int
    python_threads: int
    gc_enabled: bool
    gc_frozen: int
    uptime: float
    objects: dict[str, int] = {}
    media: list[LegMedia] = []


class Incoming(Msg, tag="incoming"):
    leg: int
    caller: str  # user part of From (the calling number)
    called: str  # user part of the request URI (the number dialled)
    caller_uri: str
    called_uri: str
    source: str  # 'ip:port' the INVITE came from
    call_id: str = ""
    overflow: bool = False  # admitted beyond capacity, only for the busy announcement


class Refused(Msg, tag="refused"):
    """An inbound call was turned away by admission (no leg was created for the daemon)."""

    source: str
    code: int
    reason: str  # 'forbidden-peer' | 'over-capacity' | 'over-rate'


class Progress(Msg, tag="progress"):
    leg: int
    code: int  # 180 / 183 from the far end of an originated leg


class Answered(Msg, tag="answered"):
    leg: int


class Digit(Msg, tag="digit"):
    leg: int
    digit: str
    method: str  # 'rfc4733' | 'info'


class PlayDone(Msg, tag="play_done"):
    leg: int
    id: int
    reason: str  # 'eof' | 'digit' | 'stopped' | 'hangup' | 'replaced'
    digit: str = ""


class RecordDone(Msg, tag="record_done"):
    leg: int
    id: int
    path: str
    seconds: float
    reason: str  # 'max' | 'silence' | 'digit' | 'stopped' | 'hangup'
    digit: str = ""


class Hangup(Msg, tag="hangup"):
    leg: int
    cause: int
    reason: str  # 'remote' | 'local' | 'timeout' | 'rejected' | 'cancelled' | 'shutdown'


class Registration(Msg, tag="registration"):
    state: str  # 'registered' | 'unregistered' | 'failed'
    code: int
    reason: str = ""
    expires: int = 0


Event = (
    Ready
    | Done
    | Failed
    | StatsReply
    | Incoming
    | Refused
    | Progress
    | Answered
    | Digit
    | PlayDone
    | RecordDone
    | Hangup
    | Registration
)

ERROR_CODES = {
    "no-such-leg": "the leg does not exist (any more)",
    "bad-state": "the leg is not in a state that allows this command",
    "bad-wav": "a prompt file is missing, unreadable, too short or of mixed formats",
    "bad-argument": "an argument is out of range",
    "over-capacity": "the worker has no room for another leg",
    "over-rate": "the worker's new-leg rate cap is reached; retry after a moment",
    "pj-error": "pjsua2 refused the operation (status and pj message in the error)",
    "internal": "an unexpected error inside the worker",
}


class ProtocolError(Exception):
    """A frame that cannot be decoded: the peer is misbehaving; drop the link."""


_command_decoder = msgspec.msgpack.Decoder(Command)
_event_decoder = msgspec.msgpack.Decoder(Event)
_encoder = msgspec.msgpack.Encoder()


def encode(message: Msg) -> bytes:
    """One message as a complete frame (length prefix included)."""
    body = _encoder.encode(message)
    if len(body) > MAX_FRAME:
        raise ProtocolError(f"frame of {len(body)} bytes exceeds {MAX_FRAME}")
    return _LENGTH.pack(len(body)) + body


def decode_command(body: bytes) -> Command:
    try:
        return _command_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise ProtocolError(str(exc)) from None


def decode_event(body: bytes) -> Event:
    try:
        return _event_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise ProtocolError(str(exc)) from None


class FrameReader:
    """Splits a byte stream into frame bodies. Feed it what the socket gave; take whole frames."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.broken: ProtocolError | None = None

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the bodies of every frame now complete, in order.

        Frames before a bad length prefix are still returned; the fault is kept in `broken`
        and raised by the next call (so a caller handles what came first, then stops)."""
        if self.broken is not None:
            raise self.broken
        self._buffer += data
        frames: list[bytes] = []
        while len(self._buffer) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(self._buffer)
            if length > MAX_FRAME:
                self.broken = ProtocolError(f"frame length {length} exceeds {MAX_FRAME}")
                if not frames:
                    raise self.broken
                break
            end = _LENGTH.size + length
            if len(self._buffer) < end:
                break
            frames.append(bytes(self._buffer[_LENGTH.size : end]))
            del self._buffer[:end]
        return frames

    @property
    def pending(self) -> int:
        """Bytes held that do not yet make a whole frame."""
        return len(self._buffer)
