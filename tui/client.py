"""The asyncio client of the socket API, for the Textual TUIs (the daemon side is trio).

    client = await AsyncioClient.connect(socket_path)
    await client.login("zhangsan", "secret")
    await client.subscribe("queue.waiting", "agent.state")
    status = await client.call("status")
    async for event in client.events():         # ends when the connection drops
        ...
    await client.reconnect()                     # logs in and subscribes again

The protocol itself is ccd.api.protocol.ClientProtocol; this module only moves bytes. Errors are
the same CcdError subclasses as the CLI client raises. To keep a quiet connection (a wallboard
that only listens) from the daemon's idle time-out, the client sends `ping` every third of the
idle time-out the daemon announced in `hello`.

Reconnect support: `on_disconnect` callbacks run with the error that ended the connection;
`reconnect()` opens a new connection and replays the login (the password is kept in memory for
this) and the subscriptions. Whether and when to reconnect is the app's decision.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from ccd.api.client import NotRunning
from ccd.api.protocol import ClientProtocol, ConnectionClosed, ErrorReply, Event, Reply
from ccd.errors import CcdError

RECEIVE_BYTES = 65536
DEFAULT_MAX_EVENTS = 10000


class AsyncioClient:
    """One connection to the daemon over asyncio streams; see the module docstring."""

    def __init__(self, path: Path | str, *, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        """path: the daemon's socket. max_events: events held for a slow reader; beyond that
        the oldest are dropped (counted in `events_dropped`)."""
        self.path = Path(path)
        self.max_events = max_events
        self.on_disconnect: list[Callable[[CcdError], None]] = []
        self.server_info: dict[str, Any] = {}
        self.events_dropped = 0
        self._protocol = ClientProtocol()
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._waiting: dict[int | str, asyncio.Future[Reply | ErrorReply]] = {}
        self._events: asyncio.Queue[Event | None] = asyncio.Queue()
        self._closed: CcdError | None = ConnectionClosed("not connected yet")
        self._login: tuple[str, Mapping[str, Any]] | None = None
        self._topics: set[str] = set()

    @classmethod
    async def connect(cls, path: Path | str, **kwargs: Any) -> AsyncioClient:
        """A connected client (not yet logged in)."""
        client = cls(path, **kwargs)
        await client.open()
        return client

    @property
    def connected(self) -> bool:
        return self._closed is None

    async def open(self) -> None:
        """Connect and read the daemon's `hello`; raises NotRunning if nobody listens."""
        try:
            reader, writer = await asyncio.open_unix_connection(str(self.path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise NotRunning(
                f"cannot connect to the ccd daemon at {self.path}: {exc.strerror}",
                path=str(self.path),
            ) from None
        self._protocol = ClientProtocol()
        self._writer = writer
        self._closed = None
        self._events = asyncio.Queue()
        self._tasks = [asyncio.create_task(self._read(reader))]
        self.server_info = await self.call("hello")
        idle = float(self.server_info.get("limits", {}).get("idle_timeout_s", 0) or 0)
        if idle > 0:
            self._tasks.append(asyncio.create_task(self._keepalive(idle / 3)))

    async def reconnect(self) -> None:
        """Open a new connection and replay the login and subscriptions of the old one."""
        await self._shut(notify=False)
        await self.open()
        if self._login is not None:
            method, params = self._login
            await self.request(method, params)
        if self._topics:
            await self.call("subscribe", topics=sorted(self._topics))

    # -- calls -----------------------------------------------------------------------------

    async def call(self, method: str, /, **params: Any) -> Any:
        """Call `method` with `params`; returns its result or raises its error."""
        return await self.request(method, params)

    async def request(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Like `call`, with the params as a mapping."""
        if self._closed is not None or self._writer is None:
            raise self._closed or ConnectionClosed("not connected")
        request_id, line = self._protocol.request(method, params)
        future: asyncio.Future[Reply | ErrorReply] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        try:
            self._writer.write(line)
            await self._writer.drain()
            reply = await future
        finally:
            self._waiting.pop(request_id, None)
        return ClientProtocol.result(reply)

    async def login(self, username: str, password: str) -> dict[str, Any]:
        """Log in with a password (remembered for `reconnect`)."""
        params = {"username": username, "password": password}
        session: dict[str, Any] = await self.request("login", params)
        self._login = ("login", params)
        return session

    async def login_peer(self) -> dict[str, Any]:
        """Log in as the local Unix user (remembered for `reconnect`)."""
        session: dict[str, Any] = await self.request("login_peer", {})
        self._login = ("login_peer", {})
        return session

    async def subscribe(self, *topics: str) -> list[str]:
        """Receive events on `topics` (remembered for `reconnect`)."""
        result = await self.call("subscribe", topics=list(topics))
        self._topics.update(topics)
        return list(result["topics"])

    async def events(self) -> AsyncIterator[Event]:
        """Pushed events, in order, until the connection closes."""
        while True:
            event = await self._events.get()
            if event is None:
                return
            yield event

    # -- plumbing --------------------------------------------------------------------------

    async def _read(self, reader: asyncio.StreamReader) -> None:
        error: CcdError | None = None
        try:
            while data := await reader.read(RECEIVE_BYTES):
                for message in self._protocol.receive_data(data):
                    if isinstance(message, Event):
                        self._push_event(message)
                    elif message.id is not None:
                        future = self._waiting.get(message.id)
                        if future is not None and not future.done():
                            future.set_result(message)
        except CcdError as exc:  # the daemon sent something unreadable
            error = exc
        except OSError:
            pass
        finally:
            self._lost(error or self._protocol.connection_lost())

    def _push_event(self, event: Event) -> None:
        if self._events.qsize() >= self.max_events:
            self._events.get_nowait()
            self.events_dropped += 1
        self._events.put_nowait(event)

    async def _keepalive(self, interval: float) -> None:
        with contextlib.suppress(CcdError):
            while self.connected:
                await asyncio.sleep(interval)
                await self.call("ping")

    def _lost(self, error: CcdError, notify: bool = True) -> None:
        if self._closed is not None:
            return
        self._closed = error
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(error)
        self._events.put_nowait(None)
        if self._writer is not None:
            self._writer.close()
        if notify:
            for hook in list(self.on_disconnect):
                hook(error)

    async def close(self) -> None:
        """Close the connection (the `on_disconnect` hooks run if it was open)."""
        await self._shut(notify=True)

    async def _shut(self, notify: bool) -> None:
        self._lost(ConnectionClosed("the client closed the connection"), notify)
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        for task in self._tasks:
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks = []
        if self._writer is not None:
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = None
