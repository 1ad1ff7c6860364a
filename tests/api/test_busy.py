"""An API write that meets another process's database lock: retried while nothing was written,
committed if the lock goes within database.api_busy_wait_s, else refused cleanly with
`database-busy` and nothing half-written. Real server and socket, real SQLite file locked by a
second connection, MockClock for the waits."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import trio
import trio.testing

from ccd.api.server import serve_api
from tests.api.conftest import PASSWORD, LocalServices, TrioClient, add_user, make_config


async def _site(nursery: trio.Nursery, tmp_path: Path) -> tuple[TrioClient, Path]:
    config = make_config(tmp_path)
    services = LocalServices(config)
    services.db.conn.execute("PRAGMA busy_timeout = 1")  # like the daemon: do not block the loop
    add_user(services.db, "ann", ["agent"])
    await nursery.start(serve_api, config, services)
    client = await TrioClient.connect(config.socket_path)
    await client.call("login", username="ann", password=PASSWORD)
    return client, config.database_path


def _orders(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM work_orders").fetchone()[0]
    finally:
        conn.close()


async def test_a_write_waits_out_a_short_lock(
        tmp_path: Path, autojump_clock: trio.testing.MockClock, nursery: trio.Nursery):
    client, path = await _site(nursery, tmp_path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    async def release() -> None:
        await trio.sleep(3)
        holder.execute("COMMIT")

    nursery.start_soon(release)
    t0 = trio.current_time()
    wo = await client.call("wo.create", type="repair", description="漏水")
    assert 3 <= trio.current_time() - t0 < 8
    assert wo["number"] and _orders(path) == 1
    holder.close()


async def test_a_long_lock_is_refused_cleanly_after_the_wait(
        tmp_path: Path, autojump_clock: trio.testing.MockClock, nursery: trio.Nursery):
    client, path = await _site(nursery, tmp_path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    t0 = trio.current_time()
    assert await client.error("wo.create", type="repair", description="漏水") == "database-busy"
    waited = trio.current_time() - t0
    assert 7 <= waited <= 8  # database.api_busy_wait_s
    holder.execute("COMMIT")
    holder.close()
    assert _orders(path) == 0
    assert await client.call("ping") == {"pong": True}  # the connection carries on
