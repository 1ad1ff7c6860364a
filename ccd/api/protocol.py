"""The socket API's wire format, without any I/O (in the manner of h11).

Everything that decides what bytes on the socket mean lives in this module: framing, the message
structs, decoding with clear errors, and the client-side bookkeeping (`ClientProtocol`). The trio
server, the blocking CLI client and the asyncio TUI client are thin transports around it.

Wire format: one JSON object per line (UTF-8, `\\n`-terminated; a trailing `\\r` is ignored).

    client → server   {"id": 7, "method": "status", "params": {}}
    server → client   {"id": 7, "result": {...}}
                      {"id": 7, "error": {"code": "forbidden", "message": "...", "details": {...}}}
                      {"event": "queue.waiting", "data": {...}}          (subscribed topics only)

An error reply with `"id": null` concerns the connection, not one request (login time-out, line
too long, too many connections, a request whose id could not be read); a connection-level error
is the last line before the server closes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec

from ccd.errors import CcdError, ClientError, Forbidden, NotFound

PROTOCOL_VERSION = 1

# Request ids are chosen by the client and echoed back; keep them small.
RequestId = (
    Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
    | Annotated[str, msgspec.Meta(max_length=128)]
)
MethodName = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class Request(msgspec.Struct, forbid_unknown_fields=True):
    """A call: `method` with `params` (a JSON object); the reply carries the same `id`."""

    id: RequestId
    method: MethodName
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class Reply(msgspec.Struct):
    """The successful answer to request `id`."""

    id: RequestId
    result: Any


class ErrorBody(msgspec.Struct):
    """`code` is machine-readable (see ccd/api/catalogue.py); `message` is for people."""

    code: str
    message: str
    details: dict[str, Any] = msgspec.field(default_factory=dict)


class ErrorReply(msgspec.Struct):
    """The refusal of request `id`; `id` is None for an error about the whole connection."""

    id: RequestId | None
    error: ErrorBody


class Event(msgspec.Struct):
    """A pushed event on a topic the connection subscribed to."""

    event: str
    data: Any = None


ServerMessage = Reply | ErrorReply | Event


class _Incoming(msgspec.Struct):
    """Any line from the server, before deciding which kind it is (msgspec needs tags otherwise)."""

    id: RequestId | None = None
    result: Any = msgspec.UNSET
    error: ErrorBody | msgspec.UnsetType = msgspec.UNSET
    event: str | msgspec.UnsetType = msgspec.UNSET
    data: Any = None


class _IdOnly(msgspec.Struct):
    id: RequestId | None = None


class BadRequest(ClientError):
    """A line that is not a valid request. `request_id` is its id if it could be read."""

    error_id = "bad-request"

    def __init__(self, reason: str, request_id: int | str | None = None) -> None:
        super().__init__(f"malformed request: {reason}", reason=reason)
        self.request_id = request_id


class ConnectionClosed(CcdError):
    """The daemon closed the connection (or it broke); `details` holds the daemon's last word."""

    error_id = "connection-closed"


class ProtocolViolation(CcdError):
    """The daemon sent something this client cannot understand (a bug on one side or the other)."""

    error_id = "protocol-error"


class ServerError(CcdError):
    """The daemon failed on our request (`internal`): its log has the traceback."""

    error_id = "internal"


# Decoding raises all of these on garbage: msgspec's errors, ValueError (older msgspec raised
# UnicodeDecodeError for invalid UTF-8 inside strings), RecursionError for deeply nested arrays.
_GARBAGE = (msgspec.DecodeError, ValueError, RecursionError)

_encoder = msgspec.json.Encoder()
_request_decoder = msgspec.json.Decoder(Request)
_id_decoder = msgspec.json.Decoder(_IdOnly)
_incoming_decoder = msgspec.json.Decoder(_Incoming)


def _valid_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _reason(exc: BaseException, line: bytes) -> str:
    # Checked on the error path only, and by us: msgspec's wording for bad UTF-8 changes between
    # releases (a ValueError before 0.19, a DecodeError "Invalid UTF-8" in 0.23).
    if not _valid_utf8(line):
        return "not valid UTF-8"
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply"
    if isinstance(exc, msgspec.ValidationError):
        return f'a request is {{"id", "method", "params"}}: {exc}'
    return f"not valid JSON ({exc})"


def decode_request(line: bytes) -> Request:
    """Parse one line (without its newline) into a Request.

    Raises BadRequest with a readable reason for anything else; its `request_id` is the line's
    id when the line was JSON with a readable id, so the error reply can still be matched.
    """
    try:
        return _request_decoder.decode(line)
    except _GARBAGE as exc:
        request_id = None
        if isinstance(exc, msgspec.ValidationError):
            try:
                request_id = _id_decoder.decode(line).id
            except _GARBAGE:
                pass
        raise BadRequest(_reason(exc, line), request_id) from None


def encode(message: Request | ServerMessage) -> bytes:
    """One message as one line, newline included. Raises TypeError/UnicodeEncodeError if a
    result holds something JSON cannot carry (the server answers that with `internal`)."""
    return _encoder.encode(message) + b"\n"


def encode_error(
    request_id: int | str | None, code: str, message: str, details: Mapping[str, Any]
) -> bytes:
    """An error reply line; details that JSON cannot carry are dropped rather than failing."""
    try:
        return encode(ErrorReply(request_id, ErrorBody(code, message, dict(details))))
    except (TypeError, ValueError, OverflowError):
        return encode(ErrorReply(request_id, ErrorBody(code, message, {})))


def decode_server_message(line: bytes) -> ServerMessage:
    """Parse one line from the daemon; raises ProtocolViolation for anything unexpected."""
    try:
        msg = _incoming_decoder.decode(line)
    except _GARBAGE as exc:
        reason = _reason(exc, line)
        raise ProtocolViolation(
            f"cannot read a line from the daemon: {reason}", reason=reason
        ) from None
    if not isinstance(msg.event, msgspec.UnsetType):
        return Event(msg.event, msg.data)
    if not isinstance(msg.error, msgspec.UnsetType):
        return ErrorReply(msg.id, msg.error)
    if msg.result is not msgspec.UNSET and msg.id is not None:
        return Reply(msg.id, msg.result)
    reason = "a line that is neither a reply, an error nor an event"
    raise ProtocolViolation(f"the daemon sent {reason}", reason=reason)


# Codes whose errors the client raises as these classes; everything else is a ClientError
# (the daemon refused the request) carrying the code as its error_id.
_ERROR_CLASSES: dict[str, type[CcdError]] = {
    "forbidden": Forbidden,
    "not-found": NotFound,
    "no-such-user": NotFound,
    "internal": ServerError,
    "connection-closed": ConnectionClosed,
}
# Connection-level codes: the server closes after sending one of these.
CLOSING_CODES = frozenset(
    {
        "login-timeout",
        "idle-timeout",
        "line-too-long",
        "flood",
        "too-many-connections",
        "too-many-failures",
        "slow-consumer",
    }
)


def error_from_body(body: ErrorBody) -> CcdError:
    """The exception a client raises for an error reply: `error_id` is the reply's code."""
    cls = _ERROR_CLASSES.get(body.code)
    if cls is None:
        cls = ConnectionClosed if body.code in CLOSING_CODES else ClientError
    return cls(body.message, error_id=body.code, **body.details)


@dataclass(frozen=True)
class TooLong:
    """A line longer than the limit was cut off; `seen` bytes of it had arrived when noticed."""

    limit: int
    seen: int


class LineBuffer:
    """Cuts a byte stream into lines of at most `max_line_bytes` bytes (newline not counted).

    `feed` returns complete lines (without `\\n` or a trailing `\\r`) and, for a line over the
    limit, one `TooLong` as soon as the limit is passed; the rest of that line, up to its
    newline, is discarded, so a peer that keeps talking stays in sync. Whether to close the
    connection after a TooLong is the transport's policy (the server does).
    """

    def __init__(self, max_line_bytes: int) -> None:
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be at least 1")
        self.max_line_bytes = max_line_bytes
        self._buffer = bytearray()
        self._discarding = False

    @property
    def partial_bytes(self) -> int:
        """Bytes of an unfinished line held back (a half line when the peer closes)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes | TooLong]:
        out: list[bytes | TooLong] = []
        *complete, tail = data.split(b"\n")
        for index, piece in enumerate(complete):
            if index == 0:
                if self._discarding:
                    self._discarding = False  # the end of a line already reported as TooLong
                    continue
                line = bytes(self._buffer) + piece
                self._buffer.clear()
            else:
                line = piece
            if len(line) > self.max_line_bytes:
                out.append(TooLong(self.max_line_bytes, len(line)))
            else:
                out.append(line[:-1] if line.endswith(b"\r") else line)
        if self._discarding:
            return out
        self._buffer += tail
        if len(self._buffer) > self.max_line_bytes:
            out.append(TooLong(self.max_line_bytes, len(self._buffer)))
            self._buffer.clear()
            self._discarding = True
        return out


class ClientProtocol:
    """The client half of the protocol, shared by every transport: no sockets, no waiting.

    A transport calls `request()` and writes the bytes it returns, feeds whatever it reads to
    `receive_data()`, and hands each returned message on: replies to whoever waits for that id
    (`result()` turns one into a value or raises), events to the event consumer. At EOF it calls
    `connection_lost()` for the exception to fail every pending request with.
    """

    def __init__(self, max_line_bytes: int = 64 * 1024 * 1024) -> None:
        """max_line_bytes: the longest line accepted from the daemon (replies can be large)."""
        self._framer = LineBuffer(max_line_bytes)
        self._next_id = 1
        self._pending: dict[int | str, str] = {}
        self.closing_error: ErrorBody | None = None

    @property
    def pending(self) -> dict[int | str, str]:
        """Request ids sent and not yet answered, with their method names."""
        return dict(self._pending)

    def request(self, method: str, params: Mapping[str, Any] | None = None) -> tuple[int, bytes]:
        """A fresh id and the line to send for calling `method` with `params`."""
        request_id = self._next_id
        self._next_id += 1
        line = encode(Request(request_id, method, dict(params or {})))
        self._pending[request_id] = method
        return request_id, line

    def receive_data(self, data: bytes) -> list[ServerMessage]:
        """Messages completed by `data`, in order. Replies are matched to pending ids; an error
        with a null id (about the whole connection) is kept in `closing_error` too.

        Raises ProtocolViolation for garbage, over-long lines or replies nobody asked for.
        """
        out: list[ServerMessage] = []
        for line in self._framer.feed(data):
            if isinstance(line, TooLong):
                raise ProtocolViolation(
                    f"the daemon sent a line over {line.limit} bytes", reason="line too long"
                )
            if not line.strip():
                continue
            message = decode_server_message(line)
            if isinstance(message, (Reply, ErrorReply)):
                if message.id is None:
                    assert isinstance(message, ErrorReply)
                    self.closing_error = message.error
                elif self._pending.pop(message.id, None) is None:
                    reason = f"a reply to request {message.id!r}, which is not pending"
                    raise ProtocolViolation(f"the daemon sent {reason}", reason=reason)
            out.append(message)
        return out

    @staticmethod
    def result(message: Reply | ErrorReply) -> Any:
        """The reply's result, or raise the CcdError its error stands for."""
        if isinstance(message, ErrorReply):
            raise error_from_body(message.error)
        return message.result

    def connection_lost(self) -> CcdError:
        """Forget pending requests; the error to fail them with (the daemon's last word if any)."""
        self._pending.clear()
        if self.closing_error is not None:
            return error_from_body(self.closing_error)
        return ConnectionClosed("the connection to the ccd daemon was closed")
