"""The blocking client of the socket API, for the CLI (the TUIs use tui/client.py on asyncio).

    with SyncClient.connect(config.socket_path) as client:
        client.login_peer()                      # or client.login("zhangsan", "secret")
        print(client.call("status"))
        client.call("users.add", username="lisi", roles=["agent"])   # raises CcdError subclasses

Errors: a refused call raises the CcdError subclass for its code (`Forbidden`, `NotFound`,
`ClientError`, …; `error_id` is the reply's code, `details` its details); a daemon that is not
running raises `NotRunning`; a closed connection `ConnectionClosed`.
"""

from __future__ import annotations

import collections
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ccd.api.protocol import (
    ClientProtocol,
    ConnectionClosed,
    ErrorReply,
    Event,
    Reply,
)
from ccd.errors import CcdError

RECEIVE_BYTES = 65536


class NotRunning(CcdError):
    """Nothing listens on the socket: the daemon is not running (or the path is wrong)."""

    error_id = "not-running"


class TimedOut(CcdError):
    """The daemon did not answer in time."""

    error_id = "timeout"


class SyncClient:
    """One connection over a blocking socket; see the module docstring."""

    def __init__(self, sock: socket.socket, *, timeout: float | None = 30.0) -> None:
        """sock: a connected Unix socket. timeout: seconds to wait for each reply (None: forever)."""
        self._sock = sock
        self.timeout = timeout
        self._protocol = ClientProtocol()
        self._replies: dict[int | str, Reply | ErrorReply] = {}
        self._events: collections.deque[Event] = collections.deque()
        self._closed: CcdError | None = None

    @classmethod
    def connect(cls, path: Path | str, *, timeout: float | None = 30.0) -> SyncClient:
        """Connect to the daemon's socket at `path`; raises NotRunning if nobody listens."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            sock.close()
            raise NotRunning(
                f"cannot connect to the ccd daemon at {path}: {exc.strerror}; is it running "
                "(`ccd run`), and is this the right config?",
                path=str(path),
            ) from None
        except PermissionError as exc:
            sock.close()
            raise NotRunning(
                f"cannot connect to the ccd daemon at {path}: {exc.strerror}; you need to be in "
                "the socket's group (api.group)",
                error_id="no-permission",
                path=str(path),
            ) from None
        return cls(sock, timeout=timeout)

    # -- calls -----------------------------------------------------------------------------

    def call(self, method: str, /, **params: Any) -> Any:
        """Call `method` with `params`; returns its result or raises its error."""
        return self.request(method, params)

    def request(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Like `call`, with the params as a mapping."""
        if self._closed is not None:
            raise self._closed
        request_id, line = self._protocol.request(method, params)
        try:
            self._sock.sendall(line)
        except OSError:
            self._fail(ConnectionClosed("the connection to the ccd daemon was closed"))
            raise self._closed_error() from None
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while request_id not in self._replies:
            self._receive(deadline)
        return ClientProtocol.result(self._replies.pop(request_id))

    def login(self, username: str, password: str) -> dict[str, Any]:
        """Log in with a password; returns the session (as `whoami`)."""
        return self.call("login", username=username, password=password)  # type: ignore[no-any-return]

    def login_peer(self) -> dict[str, Any]:
        """Log in as the local Unix user (root, the daemon's user or api.group)."""
        return self.call("login_peer")  # type: ignore[no-any-return]

    def subscribe(self, *topics: str) -> list[str]:
        """Receive events on `topics`; read them with `next_event`."""
        return self.call("subscribe", topics=list(topics))["topics"]  # type: ignore[no-any-return]

    def next_event(self, timeout: float | None = None) -> Event | None:
        """The next pushed event, waiting up to `timeout` seconds (None: the client's timeout);
        None if none came in time."""
        wait = self.timeout if timeout is None else timeout
        deadline = None if wait is None else time.monotonic() + wait
        while not self._events:
            try:
                self._receive(deadline)
            except TimedOut:
                return None
        return self._events.popleft()

    # -- plumbing --------------------------------------------------------------------------

    def _closed_error(self) -> CcdError:
        assert self._closed is not None
        return self._closed

    def _fail(self, error: CcdError) -> None:
        if self._closed is None:
            self._closed = error
        self._sock.close()

    def _receive(self, deadline: float | None) -> None:
        if self._closed is not None:
            raise self._closed
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimedOut("the ccd daemon did not answer in time")
            self._sock.settimeout(left)
        else:
            self._sock.settimeout(None)
        try:
            data = self._sock.recv(RECEIVE_BYTES)
        except TimeoutError:
            raise TimedOut("the ccd daemon did not answer in time") from None
        except OSError:
            data = b""
        if not data:
            self._fail(self._protocol.connection_lost())
            raise self._closed_error()
        for message in self._protocol.receive_data(data):
            if isinstance(message, Event):
                self._events.append(message)
            elif message.id is not None:
                self._replies[message.id] = message

    def close(self) -> None:
        if self._closed is None:
            self._closed = ConnectionClosed("the client closed the connection")
        self._sock.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
