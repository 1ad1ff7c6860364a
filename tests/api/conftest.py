"""Fixtures for the API tests: a real SQLite file, a real Unix socket, a real server.

`LocalServices` is the smallest thing that satisfies ccd.api.server.Services; the daemon's own
services object replaces it in the daemon's tests.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
import trio

from ccd import __version__
from ccd.api import auth
from ccd.api.broker import Broker
from ccd.api.protocol import (
    ClientProtocol,
    ErrorReply,
    LineBuffer,
    ServerMessage,
    TooLong,
    decode_server_message,
)
from ccd.api.server import ApiServer, serve_api
from ccd.config import ApiConfig, Config, PathsConfig
from db import open_database, users

PASSWORD = "correct horse"
# Test users get cheap (but real) scrypt hashes so a login costs a millisecond, not fifty.
CHEAP = {"n": 2**10, "r": 8, "p": 1}


class LocalServices:
    """Services for tests: config, a real database, a broker, and honest status numbers."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.db: sqlite_utils.Database = open_database(config.database_path)
        self.broker = Broker()
        self.started = time.monotonic()

    def status(self) -> dict[str, Any]:
        path = self.config.database_path
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
        return {
            "version": __version__,
            "pid": os.getpid(),
            "uptime_s": time.monotonic() - self.started,
            "database_bytes": size,
        }


def make_config(base: Path, **api: Any) -> Config:
    """A config whose paths all sit in `base`; `api` overrides ApiConfig fields."""
    return Config(
        paths=PathsConfig(
            data_dir=str(base),
            database=str(base / "ccd.sqlite3"),
            run_dir=str(base / "run"),
        ),
        api=ApiConfig(**api),
        source=str(base / "ccd.toml"),
    )


def add_user(db: sqlite_utils.Database, name: str, roles: list[str], **kw: Any) -> users.User:
    return users.add_user(
        db, name, password_hash=auth.hash_password(PASSWORD, **CHEAP), roles=roles, **kw
    )


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def services(config: Config) -> Iterator[LocalServices]:
    s = LocalServices(config)
    yield s
    s.db.close()


@pytest.fixture
async def server(nursery: trio.Nursery, config: Config, services: LocalServices) -> ApiServer:
    return await nursery.start(serve_api, config, services)


class TrioClient:
    """A trio transport over ClientProtocol, for tests that run the server in the same trio
    run (so MockClock drives both ends)."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.protocol = ClientProtocol()
        self.events: list[Any] = []
        self._replies: dict[Any, Any] = {}

    @classmethod
    async def connect(cls, path: Path) -> TrioClient:
        return cls(await trio.open_unix_socket(str(path)))

    async def request(self, method: str, **params: Any) -> ServerMessage:
        """The raw reply (Reply or ErrorReply) to one call."""
        request_id, line = self.protocol.request(method, params)
        await self.stream.send_all(line)
        while request_id not in self._replies:
            data = await self.stream.receive_some(65536)
            if not data:
                raise self.protocol.connection_lost()
            for message in self.protocol.receive_data(data):
                if isinstance(message, ErrorReply) and message.id is None:
                    continue
                if hasattr(message, "event"):
                    self.events.append(message)
                else:
                    self._replies[message.id] = message
        return self._replies.pop(request_id)

    async def call(self, method: str, **params: Any) -> Any:
        return ClientProtocol.result(await self.request(method, **params))

    async def error(self, method: str, **params: Any) -> str:
        """The error code of a call expected to fail."""
        reply = await self.request(method, **params)
        assert isinstance(reply, ErrorReply), reply
        return reply.error.code

    async def aclose(self) -> None:
        await self.stream.aclose()


async def read_until_closed(stream: trio.SocketStream, limit: int = 1 << 22) -> list[Any]:
    """Every message the server sends until it closes the connection (raw, no id matching)."""
    framer = LineBuffer(limit)
    out: list[Any] = []
    while data := await stream.receive_some(65536):
        for line in framer.feed(data):
            assert not isinstance(line, TooLong)
            out.append(decode_server_message(line))
    return out


class ThreadedServer:
    """serve_api in its own thread and trio run, for blocking and asyncio clients."""

    def __init__(self, config: Config, services: LocalServices, **kwargs: Any) -> None:
        self.config = config
        self.services = services
        self.kwargs = kwargs
        self.server: ApiServer | None = None
        self._ready = threading.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._scope: trio.CancelScope | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._token = trio.lowlevel.current_trio_token()
            with trio.CancelScope() as scope:
                self._scope = scope
                async with trio.open_nursery() as nursery:
                    self.server = await nursery.start(
                        lambda task_status: serve_api(
                            self.config, self.services, task_status=task_status, **self.kwargs
                        )
                    )
                    self._ready.set()

        try:
            trio.run(main)
        except BaseException as exc:  # surfaced by start()/stop() in the test's thread
            self._error = exc
        finally:
            self._ready.set()

    def start(self) -> ThreadedServer:
        self._thread.start()
        assert self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def run_sync(self, fn: Any, *args: Any) -> Any:
        """Run `fn(*args)` in the server's trio thread (e.g. broker.publish)."""
        return trio.from_thread.run_sync(fn, *args, trio_token=self._token)

    def stop(self) -> None:
        if self._thread.is_alive():
            assert self._scope is not None
            trio.from_thread.run_sync(self._scope.cancel, trio_token=self._token)
            self._thread.join(10)
        if self._error is not None:
            raise self._error


@pytest.fixture
def threaded_server(config: Config, services: LocalServices) -> Iterator[ThreadedServer]:
    server = ThreadedServer(config, services).start()
    yield server
    server.stop()
