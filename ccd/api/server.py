"""The API server: a trio Unix-socket server speaking ccd/api/protocol.py.

    services = ...                       # anything that satisfies `Services`
    server = await nursery.start(serve_api, config, services)

Per connection, in order: the connection limit (one error line, then close), SO_PEERCRED, then a
read loop that frames lines, applies the rate limit, and answers each request in turn. Until
the connection logs in only public methods work and the login time-out runs; afterwards the idle
time-out does. Events on subscribed topics are forwarded by a second task per connection.

What can go wrong and where it stops:
- a bad line, params or method: an error reply; the connection carries on;
- a flood, an over-long line, a time-out, a slow subscriber: the connection is closed;
- a bug in a handler: an `internal` reply, traceback in the log, the connection carries on;
- a bug anywhere else in one connection's code: that connection closes, logged with traceback;
  the listener, the other connections and the daemon carry on.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import sqlite3
import stat
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils
import trio

import ccd.api.methods  # noqa: F401  (registers the methods on REGISTRY)
from ccd.api import auth, catalogue
from ccd.api.broker import Broker, Subscription
from ccd.api.gate import Gate
from ccd.api.limits import TokenBucket
from ccd.api.protocol import (
    BadRequest,
    LineBuffer,
    Reply,
    Request,
    TooLong,
    decode_request,
    encode,
    encode_error,
)
from ccd.api.registry import REGISTRY, Context, MethodSpec, Registry, Session
from ccd.config import ApiConfig, Config
from ccd.errors import CcdError, DatabaseBusy, Forbidden
from db.writer import is_busy

log = logging.getLogger("ccd.api")

RECEIVE_BYTES = 65536
LISTEN_BACKLOG = 128
# Time allowed for the last error line before closing, and for any write to a peer that does
# not read: a peer that stops reading must not hold a connection slot forever.
FAREWELL_TIMEOUT_S = 1.0
LINGER_BYTES = 1 << 20
WRITE_TIMEOUT_S = 30.0
# Failed password logins allowed on one connection before it is closed.
MAX_FAILED_LOGINS = 3


class Services(Protocol):
    """What the API server and the foundation methods need from the daemon.

    config: the current config (limits are read from `config.api` for each new connection, so a
    reload applies to new connections). db: the daemon's database (autocommit connection from
    db.connect/open_database). broker: where daemon code publishes events. status(): the numbers
    for the `status` method: at least `version`, `pid`, `uptime_s` and `database_bytes`; the
    server adds `connections` and `api` statistics itself.
    """

    config: Config
    db: sqlite_utils.Database
    broker: Broker

    def status(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ApiStatistics:
    connections: int
    logged_in: int
    accepted: int
    refused_connections: int
    requests: int


class ApiServer:
    """The listening socket's state: connections, counters, the registry in use."""

    def __init__(self, config: Config, services: Services, registry: Registry) -> None:
        self.config = config
        self.services = services
        self.registry = registry
        self.connections: set[Connection] = set()
        self.gate = Gate(config.api)
        self.accepted = 0
        self.refused = 0
        self.requests = 0

    def connection_count(self) -> int:
        """Open connections right now (logged in or not)."""
        return len(self.connections)

    def statistics(self) -> ApiStatistics:
        return ApiStatistics(
            connections=len(self.connections),
            logged_in=sum(1 for c in self.connections if c.session.logged_in),
            accepted=self.accepted,
            refused_connections=self.refused,
            requests=self.requests,
        )

    async def handle(self, stream: trio.SocketStream) -> None:
        api = self.services.config.api
        self.gate.reconfigure(api)
        peer = auth.peer_credentials(stream.socket)  # type: ignore[arg-type]
        same_uid = sum(1 for c in self.connections
                       if peer is not None and c.peer is not None and c.peer.uid == peer.uid)
        if len(self.connections) >= api.max_connections or same_uid >= api.max_connections_per_uid:
            self.refused += 1
            per_uid = len(self.connections) < api.max_connections
            if per_uid:
                self.gate.refused_connections_per_uid += 1
            limit = api.max_connections_per_uid if per_uid else api.max_connections
            self.gate.audit_refusal(
                self.services, peer, "anonymous", "connect", target=f"uid:{peer.uid}" if peer
                else "", details={"reason": "too-many-connections", "limit": limit,
                                  "per": "uid" if per_uid else "daemon"})
            await _refuse(stream, limit, self.config.site.language)
            return
        self.accepted += 1
        conn = Connection(self, stream, api)
        self.connections.add(conn)
        # The supervisor boundary of one connection (`except Exception`, not `except*`: ccd
        # still runs on Python 3.10; the connection's nursery raises ExceptionGroups).
        try:
            await conn.run()
        except Exception as exc:
            if _peer_gone(exc):
                # Contained: the peer vanished mid-write. Nothing to answer, nobody else hurt.
                log.debug("connection %s: peer went away", conn.name)
            else:
                # Contained: a bug in this connection's own code (handler bugs are already
                # answered as `internal`). It costs this one connection; the listener and the
                # others carry on: one bad client must never take the daemon down.
                log.error("connection %s failed; closed", conn.name, exc_info=exc)
        finally:
            self.connections.discard(conn)


_PEER_GONE = (trio.BrokenResourceError, trio.ClosedResourceError, ConnectionError)


def _peer_gone(exc: BaseException) -> bool:
    """True when `exc` (or every exception in a group) only says the peer went away."""
    members = getattr(exc, "exceptions", None)
    if members is not None:
        return all(_peer_gone(e) for e in members)
    return isinstance(exc, _PEER_GONE)


async def _refuse(stream: trio.SocketStream, limit: int, language: str) -> None:
    details = {"limit": limit}
    line = encode_error(
        None,
        "too-many-connections",
        catalogue.render("too-many-connections", language, details, "too many connections"),
        details,
    )
    await _last_word(stream, line)
    await stream.aclose()


async def _last_word(stream: trio.SocketStream, line: bytes) -> None:
    """Send a connection's last line, then read what the peer already sent before closing.

    Closing a Unix socket with unread input makes the peer's next read fail with ECONNRESET,
    and it would never see `line`; so shut down our side, and drain for a moment.
    """
    with trio.move_on_after(FAREWELL_TIMEOUT_S):
        try:
            await stream.send_all(line)
            await stream.send_eof()
            drained = 0
            while drained < LINGER_BYTES:
                data = await stream.receive_some(RECEIVE_BYTES)
                if not data:
                    break
                drained += len(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass


def _readable_id(line: bytes) -> int | str | None:
    try:
        return decode_request(line).id
    except BadRequest as exc:
        return exc.request_id


class Connection:
    """One client: its session, limits, subscription and the loop that answers it."""

    def __init__(self, server: ApiServer, stream: trio.SocketStream, api: ApiConfig) -> None:
        self.server = server
        self.stream = stream
        self.api = api
        self.peer = auth.peer_credentials(stream.socket)  # type: ignore[arg-type]
        self.name = f"pid {self.peer.pid} uid {self.peer.uid}" if self.peer else "unknown peer"
        self.session = Session(peer=self.peer)
        now = trio.current_time()
        self.login_deadline = now + api.login_timeout_s
        self.last_line_at = now
        self.bucket = TokenBucket(api.requests_per_second, api.burst, now)
        self.framer = LineBuffer(api.max_line_bytes)
        self.failed_logins = 0
        self.subscription: Subscription | None = None
        self._send_lock = trio.Lock()
        self._broken = False  # a write was interrupted: the stream may hold half a line
        self._close_reason: tuple[str, dict[str, Any]] | None = None
        self._nursery: trio.Nursery | None = None
        # Run once when the connection ends (an agent's console gone: ccd.acd.consoles).
        self.on_close: list[Callable[[], None]] = []

    @property
    def language(self) -> str:
        return self.session.language or self.server.config.site.language

    # -- the connection's life -------------------------------------------------------------

    async def run(self) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if self._close_reason is not None:  # closed before it started (users.disable)
                    nursery.cancel_scope.cancel()
                nursery.start_soon(self._read_loop)
            await self._farewell()
        finally:
            if self.subscription is not None:
                self.subscription.close()
            hooks, self.on_close = self.on_close, []
            for hook in hooks:
                hook()
            await self.stream.aclose()

    def close(self, code: str, **details: Any) -> None:
        """Close the connection, telling the peer `code` if the stream still allows it."""
        if self._close_reason is None:
            self._close_reason = (code, details)
        self._stop()

    async def _farewell(self) -> None:
        if self._close_reason is None or self._broken:
            return
        code, details = self._close_reason
        log.info("connection %s closed: %s", self.name, code)
        await _last_word(
            self.stream, self._error_line(None, CcdError(code, error_id=code, **details))
        )

    async def _read_loop(self) -> None:
        while True:
            if self.session.logged_in:
                deadline, code = self.last_line_at + self.api.idle_timeout_s, "idle-timeout"
                seconds = self.api.idle_timeout_s
            else:
                deadline, code = self.login_deadline, "login-timeout"
                seconds = self.api.login_timeout_s
            data = None
            with trio.move_on_at(deadline):
                data = await self.stream.receive_some(RECEIVE_BYTES)
            if data is None:
                return self.close(code, seconds=seconds)
            if not data:
                return self._stop()
            for line in self.framer.feed(data):
                if isinstance(line, TooLong):
                    return self.close("line-too-long", limit=line.limit)
                self.last_line_at = trio.current_time()
                await self._answer(line)
                if self._close_reason is not None:  # set by the request (too many failures)
                    return self._stop()

    def _stop(self) -> None:
        """Stop the connection's tasks; `_farewell` then sends the close reason, if any."""
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    # -- one request -----------------------------------------------------------------------

    async def _answer(self, line: bytes) -> None:
        """Answer one line: rate limit, decode, authorise, run the handler, reply."""
        if not self.bucket.take(trio.current_time()):
            if self.bucket.refused_in_a_row > self.api.burst:
                self.server.gate.audit_refusal(
                    self.server.services, self.peer, self.session.actor, "connection",
                    details={"reason": "flood", "rate": self.api.requests_per_second})
                return self.close("flood")
            if line.strip():
                await self._send_error(
                    _readable_id(line),
                    CcdError(
                        "rate limited",
                        error_id="rate-limited",
                        rate=self.api.requests_per_second,
                        burst=self.api.burst,
                    ),
                )
            return
        if not line.strip():
            return  # blank lines are allowed (and cost a token, like any line)
        self.server.requests += 1
        try:
            request = decode_request(line)
        except BadRequest as exc:
            return await self._send_error(exc.request_id, exc)
        await self._send(await self._call(request))

    async def _call(self, request: Request) -> bytes:
        """The reply line for `request`, whatever happens in the handler."""
        spec = self.server.registry.get(request.method)
        try:
            if spec is None:
                raise CcdError(
                    f"no method named {request.method!r}",
                    error_id="unknown-method",
                    method=request.method,
                    did_you_mean=self.server.registry.near(request.method),
                )
            self._authorise(spec)
            params = spec.parse_params(request.params)
            ctx = Context(self.session, self.server.services, self, self.server, spec.name)
            result = await self._run_retrying(spec, ctx, params)
            return encode(Reply(request.id, result))
        except Forbidden as exc:
            try:
                self._audit_refusal(request.method, exc)
            except Exception:
                return self._internal(request)
            return self._error_line(request.id, exc)
        except CcdError as exc:
            if exc.error_id == "login-required":  # a refusal before login: audited too
                self._audit_refusal(request.method, exc, outcome="refused")
            return self._error_line(request.id, exc)
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                return self._internal(request)
            # A statement outside a transaction met the lock: refuse cleanly (no retry, since an
            # earlier statement of the method may have committed).
            log.warning("API method %r: database locked mid-way", request.method)
            return self._error_line(request.id, DatabaseBusy(
                "the database is locked by another process; try again", method=request.method))
        except Exception:
            return self._internal(request)

    async def _run_retrying(self, spec: Any, ctx: Context, params: Any) -> Any:
        """Run the handler; while it fails with `DatabaseBusy` (its transaction could not begin,
        so nothing was written) run it again, with back-off, for up to
        `database.api_busy_wait_s`; then the refusal goes to the client."""
        settings = getattr(self.server.services.config, "database", None)
        budget = settings.api_busy_wait_s if settings is not None else 0.0
        deadline = trio.current_time() + budget
        delay = 0.05
        while True:
            try:
                return await spec.handler(ctx, params)
            except DatabaseBusy:
                if trio.current_time() + delay > deadline:
                    raise
                await trio.sleep(delay)
                delay = min(delay * 2, 1.0)

    def _internal(self, request: Request) -> bytes:
        """Log the exception being handled; the `internal` reply that points at the log entry.

        A bug in a handler (or a result JSON cannot carry, or a failing audit write) is our
        fault, not the client's: the connection carries on, the traceback goes to the log.
        """
        ref = uuid.uuid4().hex[:12]
        log.exception(
            "API method %r failed (ref %s) for %s", request.method, ref, self.session.actor
        )
        return self._error_line(
            request.id, CcdError("internal error", error_id="internal", ref=ref)
        )

    def _authorise(self, spec: MethodSpec) -> None:
        if spec.allows(self.session):
            return
        if not self.session.logged_in:
            raise CcdError(
                f"log in before calling {spec.name!r}", error_id="login-required", method=spec.name
            )
        raise Forbidden(
            f"not allowed to call {spec.name!r}",
            method=spec.name,
            required=sorted(spec.roles),
            roles=sorted(self.session.roles),
        )

    def _audit_refusal(self, method: str, exc: CcdError, outcome: str = "forbidden") -> None:
        details = {k: v for k, v in exc.details.items() if k != "target"}
        details["error"] = exc.error_id
        self.server.gate.audit_refusal(
            self.server.services, self.peer, self.session.actor, method,
            target=str(exc.details.get("target", "")), outcome=outcome, details=details,
        )

    # -- writing ---------------------------------------------------------------------------

    def _error_line(self, request_id: int | str | None, exc: CcdError) -> bytes:
        message = catalogue.render(exc.error_id, self.language, exc.details, exc.message)
        return encode_error(request_id, exc.error_id, message, exc.details)

    async def _send_error(self, request_id: int | str | None, exc: CcdError) -> None:
        await self._send(self._error_line(request_id, exc))

    async def _send(self, data: bytes) -> None:
        """Write pending events, then `data` (a reply; may be empty). Events published before a
        reply is written reach the client before it. A peer that does not read for
        WRITE_TIMEOUT_S loses its connection."""
        async with self._send_lock:
            if self._broken:
                raise trio.ClosedResourceError("an earlier write was interrupted")
            if self.subscription is not None:
                data = b"".join([*self.subscription.take_all(), data])
            if not data:
                return
            with trio.move_on_after(WRITE_TIMEOUT_S) as scope:
                try:
                    await self.stream.send_all(data)
                except BaseException:
                    self._broken = True
                    raise
            if scope.cancelled_caught:
                self._broken = True
                log.info("connection %s: peer stopped reading; closing", self.name)
                self._stop()

    # -- used by the session methods (ccd/api/methods/session.py) -----------------------------

    def log_in(self, session: Session) -> None:
        self.session = session
        self.last_line_at = trio.current_time()

    def log_out(self) -> None:
        self.session = Session(peer=self.peer)
        self.login_deadline = trio.current_time() + self.api.login_timeout_s
        if self.subscription is not None:
            self.subscription.close()
            self.subscription = None

    def login_failed(self) -> None:
        self.failed_logins += 1
        if self.failed_logins >= MAX_FAILED_LOGINS:
            self._close_reason = ("too-many-failures", {"failures": self.failed_logins})

    @property
    def topics(self) -> set[str]:
        """The topics this connection receives events on."""
        return set(self.subscription.topics) if self.subscription is not None else set()

    def subscribe(self, topics: Iterable[str]) -> list[str]:
        """Add `topics` to this connection's subscription; returns all subscribed topics."""
        if self.subscription is None:
            self.subscription = self.server.services.broker.subscribe(
                on_drop=lambda: self.close("slow-consumer")
            )
            assert self._nursery is not None
            self._nursery.start_soon(self._forward_events, self.subscription)
        self.subscription.add(topics)
        return sorted(self.subscription.topics)

    def unsubscribe(self, topics: Iterable[str]) -> list[str]:
        if self.subscription is None:
            return []
        self.subscription.remove(topics)
        return sorted(self.subscription.topics)

    async def _forward_events(self, subscription: Subscription) -> None:
        while await subscription.wait() and subscription is self.subscription:
            await self._send(b"")  # _send writes the pending events


def _bind(path: Path, api: ApiConfig) -> socket.socket:
    """A listening Unix socket at `path` with the configured mode and group.

    A stale socket file (no daemon answering on it) is removed; a live one, or a file that is
    not a socket, is an error rather than something to delete.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise CcdError(
                f"{path}: exists and is not a socket; remove it or change api.socket",
                error_id="socket-in-use",
                path=str(path),
            )
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # stale: left behind by a daemon that did not exit cleanly
        else:
            raise CcdError(
                f"{path}: another ccd daemon is listening on this socket",
                error_id="socket-in-use",
                path=str(path),
            )
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        hint = (
            " (Unix socket paths are limited to 107 bytes)" if len(str(path).encode()) > 107 else ""
        )
        raise CcdError(
            f"{path}: cannot create the API socket: {exc.strerror}{hint}",
            error_id="socket-bind",
            path=str(path),
            errno=exc.errno,
        ) from None
    os.chmod(path, api.socket_mode)
    gid = auth.group_id(api.group)
    if gid is not None:
        try:
            os.chown(path, -1, gid)
        except OSError as exc:
            if exc.errno != errno.EPERM:
                raise
            log.warning("%s: cannot give the socket to group %r (not a member)", path, api.group)
    sock.listen(LISTEN_BACKLOG)
    return sock


def _unlink_if_ours(path: Path, sock: socket.socket, inode: int) -> None:
    sock.close()
    try:
        if path.lstat().st_ino == inode:
            path.unlink()
    except FileNotFoundError:
        pass


async def serve_api(
    config: Config,
    services: Services,
    *,
    registry: Registry = REGISTRY,
    task_status: trio.TaskStatus[ApiServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Listen on `config.socket_path` until cancelled; the socket file is removed on the way out.

    config: where to listen (paths.run_dir, api.socket, api.socket_mode, api.group).
    services: the daemon's services (see `Services`). registry: the methods to offer.
    task_status: `nursery.start` gets the ApiServer (for its statistics) once it listens.
    """
    path = config.socket_path
    sock = _bind(path, config.api)
    inode = path.lstat().st_ino
    server = ApiServer(config, services, registry)
    try:
        listener = trio.SocketListener(trio.socket.from_stdlib_socket(sock))
        log.info("API listening on %s", path)
        async with trio.open_nursery() as nursery:
            await nursery.start(trio.serve_listeners, server.handle, [listener])
            task_status.started(server)
    finally:
        _unlink_if_ours(path, sock, inode)
