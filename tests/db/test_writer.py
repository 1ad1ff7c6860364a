"""The daemon's write queue against a real SQLite file locked by a second connection; MockClock
drives the back-off, so the waits are exact virtual seconds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import trio
import trio.testing

import db as database
from ccd.errors import DatabaseBusy
from db.writer import Writer


def _open(path: Path):
    db = database.open_database(path)
    db.conn.execute("PRAGMA busy_timeout = 1")  # the daemon's is short too; here: at once
    db.execute("CREATE TABLE t (n INTEGER UNIQUE)")
    return db


def _insert(n: int):
    return lambda db: db.execute("INSERT INTO t (n) VALUES (?)", [n])


def _rows(path: Path) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [n for (n,) in conn.execute("SELECT n FROM t ORDER BY rowid")]
    finally:
        conn.close()


async def test_writes_wait_for_the_lock_in_order_and_none_is_lost(
        tmp_path: Path, autojump_clock: trio.testing.MockClock, nursery: trio.Nursery):
    path = tmp_path / "w.sqlite3"
    db = _open(path)
    writer = Writer(db, retry_initial_s=0.5, retry_max_s=2.0)
    await nursery.start(writer.run)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    t0 = trio.current_time()
    for n in range(5):
        writer.submit(_insert(n))
    await trio.sleep(10)
    assert _rows(path) == [] and writer.backlog == 5
    other.execute("COMMIT")
    await writer.wait_idle()
    # tries at 0, 0.5, 1.5, 3.5, 5.5, 7.5, 9.5 (back-off 0.5 doubling to 2), then at 11.5
    assert trio.current_time() - t0 == 11.5
    assert _rows(path) == [0, 1, 2, 3, 4]
    stats = writer.statistics()
    assert (stats.backlog, stats.committed, stats.failed, stats.busy_retries) == (0, 5, 0, 7)
    other.close()


async def test_commit_gives_up_cleanly_and_the_withdrawn_write_never_runs(
        tmp_path: Path, autojump_clock: trio.testing.MockClock, nursery: trio.Nursery):
    path = tmp_path / "w.sqlite3"
    db = _open(path)
    writer = Writer(db, retry_initial_s=0.5, retry_max_s=0.5)
    await nursery.start(writer.run)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    writer.submit(_insert(1))
    with pytest.raises(DatabaseBusy):
        await writer.commit(_insert(2), wait_s=3.0)
    writer.submit(_insert(3))
    other.execute("COMMIT")
    await writer.wait_idle()
    assert _rows(path) == [1, 3]
    other.close()


async def test_a_failing_write_is_contained_and_the_others_commit(
        tmp_path: Path, autojump_clock: trio.testing.MockClock, nursery: trio.Nursery):
    path = tmp_path / "w.sqlite3"
    db = _open(path)
    writer = Writer(db)
    await nursery.start(writer.run)
    settled: list[bool] = []
    writer.submit(_insert(1), after=settled.append)
    writer.submit(_insert(1), after=settled.append)  # UNIQUE violated: this one alone fails
    writer.submit(_insert(2), after=settled.append)
    assert await writer.commit(lambda db: db.execute("SELECT count(*) FROM t").fetchone()[0]) \
        == 2
    assert settled == [True, False, True] and _rows(path) == [1, 2]
    with pytest.raises(sqlite3.IntegrityError):
        await writer.commit(_insert(2))
    assert writer.statistics().failed == 2


def test_without_a_running_task_writes_happen_at_once(tmp_path: Path):
    path = tmp_path / "w.sqlite3"
    db = _open(path)
    writer = Writer(db)
    writer.submit(_insert(7))
    assert _rows(path) == [7]


async def test_a_lone_audit_entry_in_the_daemon_never_fails_on_a_lock(
        tmp_path: Path, autojump_clock: trio.testing.MockClock, nursery: trio.Nursery):
    """An audit entry after an action already done (a spy started) must not fail, or the API
    would run the action again: with a write queue on the connection it is queued."""
    from db import users

    path = tmp_path / "w.sqlite3"
    db = _open(path)
    writer = Writer(db)
    await nursery.start(writer.run)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    assert users.audit(db, "lead1", "supervisor.listen", target="agent1001") == 0
    await trio.sleep(5)
    other.execute("COMMIT")
    await writer.wait_idle()
    assert [(e.actor, e.action) for e in users.list_audit(db)] == [("lead1", "supervisor.listen")]
    other.close()
