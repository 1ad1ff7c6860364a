"""What a caller is told is saved is committed first, even while another process holds the
database lock: callback requests and IVR surveys go through the write queue, whole or not at
all. A real SQLite file, a second connection holding the lock, MockClock for the waits."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
import trio
import trio.testing

import db as database
from ccd.calls import CallLog
from ccd.errors import DatabaseBusy
from ccd.telephony.ivr_services import REPORT_WAIT_S, DaemonIvrServices
from db.writer import Writer


async def _services(path: Path, nursery: trio.Nursery) -> DaemonIvrServices:
    db = database.open_database(path)
    db.conn.execute("PRAGMA busy_timeout = 1")
    writer = Writer(db)
    await nursery.start(writer.run)
    daemon = SimpleNamespace(db=db, call_log=CallLog(db, writer), config=None)
    return DaemonIvrServices(daemon, "call-1")


def _count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


async def test_a_callback_request_waits_out_a_lock_and_is_committed_before_the_reply(
        tmp_path: Path, autojump_clock: trio.testing.MockClock, nursery: trio.Nursery):
    path = tmp_path / "c.sqlite3"
    services = await _services(path, nursery)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    async def release_later() -> None:
        await trio.sleep(4)
        holder.execute("COMMIT")

    nursery.start_soon(release_later)
    t0 = trio.current_time()
    await services.request_callback("13800000001", "13800000001", "", "water")
    assert 4 <= trio.current_time() - t0 < REPORT_WAIT_S
    assert _count(path, "callbacks") == 1
    holder.close()


async def test_a_survey_is_saved_whole_or_refused_whole(
        tmp_path: Path, autojump_clock: trio.testing.MockClock, nursery: trio.Nursery):
    path = tmp_path / "c.sqlite3"
    services = await _services(path, nursery)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    t0 = trio.current_time()
    with pytest.raises(DatabaseBusy):
        await services.save_survey("13800000001", "after_call", {"q1": "5", "q2": "1"})
    assert trio.current_time() - t0 == REPORT_WAIT_S
    holder.execute("COMMIT")
    holder.close()
    await services.save_survey("13800000001", "after_call", {"q1": "4", "q2": "2"})
    assert (_count(path, "surveys"), _count(path, "survey_answers")) == (1, 2)
