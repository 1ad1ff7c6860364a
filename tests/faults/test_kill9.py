"""kill -9 of the daemon at random moments under real SIP calls and API writes, 20 times.

After each kill the daemon is started again on the same database. At the end: SQLite's
integrity check passes, every work order the API acknowledged exists, and no call is left
without an end: calls cut by a kill (answered ones too) are closed at the next start with
`hangup_by = 'daemon-restart'`, and the ACD's queue rows agree.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import sys
import threading
from pathlib import Path

import pytest
import trio

from ccd.api.client import SyncClient
from hw.sipphone import open_phone
from tests.daemon_proc import DaemonProcess
from tests.faults.conftest import make_site
from tests.sip.conftest import free_rtp_block

pytestmark = pytest.mark.sip

KILLS = 20


def query(db: Path, sql: str, args: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _write_orders(sock: Path, round_no: int, acknowledged: list[str], stop: threading.Event) -> None:
    """Create work orders until the daemon dies; note each number the daemon acknowledged."""
    with contextlib.suppress(Exception), SyncClient.connect(sock, timeout=10) as client:
        client.login("agent1001", "agent1001")
        n = 0
        while not stop.is_set():
            wo = client.call("wo.create", type="repair", description=f"kill {round_no}/{n}",
                             phone="13800000009")
            acknowledged.append(wo["number"])
            n += 1


async def test_twenty_kills_lose_nothing_acknowledged_and_leave_no_call_open(tmp_path, prompts):
    config = make_site(tmp_path)
    db = config.parent / "ccd.sqlite3"
    sock = config.parent / "run" / "ccd.sock"
    rng = random.Random(13)
    acknowledged: list[str] = []
    dialled = 0
    async with open_phone(rtp_port=free_rtp_block()) as phone:
        for round_no in range(KILLS):
            daemon = DaemonProcess(config, f"paths.prompts={prompts}").start()
            line = next(x for x in daemon.stderr_lines if "answering SIP calls at" in x)
            uri = line.rsplit(" ", 1)[-1].strip().replace("sip:ccd@", "sip:hotline@")
            stop = threading.Event()
            calls = []

            async def dial(caller: str, calls: list = calls, uri: str = uri) -> None:
                with contextlib.suppress(Exception):
                    calls.append(await phone.dial(uri, caller_id=caller))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(trio.to_thread.run_sync, _write_orders, sock, round_no,
                                   acknowledged, stop)
                for _ in range(2):
                    dialled += 1
                    nursery.start_soon(dial, f"1370000{dialled:04d}")
                await trio.sleep(rng.uniform(0.3, 2.5))
                assert daemon.proc is not None
                os.kill(daemon.proc.pid, signal.SIGKILL)
                daemon.proc.wait()
                stop.set()
            for call in calls:
                with contextlib.suppress(Exception):
                    await call.hangup()

    # The last start closes what the last kill cut short; then a clean stop.
    daemon = DaemonProcess(config, f"paths.prompts={prompts}").start()
    assert daemon.stop() == 0, daemon.output

    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    stored = {n for (n,) in query(db, "SELECT number FROM work_orders")}
    assert acknowledged and set(acknowledged) <= stored
    assert query(db, 'SELECT id, disposition FROM calls WHERE "end" IS NULL') == []
    cut = query(db, "SELECT disposition, answer IS NOT NULL, duration, hangup_cause FROM calls "
                    "WHERE hangup_by = 'daemon-restart'")
    assert cut, "no call was cut by a kill: the test did not test anything"
    assert any(answered for _, answered, _, _ in cut), "no answered call was cut"
    for disposition, answered, duration, cause in cut:
        assert disposition == ("ANSWERED" if answered else "FAILED")
        assert duration is not None and duration >= 0 and cause == 500
    # Every call that entered a queue has the row that closes it there.
    open_in_queue = query(db, """
        SELECT e.call_id FROM queue_events e WHERE e.event = 'enter_queue' AND NOT EXISTS (
            SELECT 1 FROM queue_events x WHERE x.call_id = e.call_id AND x.id > e.id AND x.event
            IN ('abandoned', 'left_queue', 'max_wait', 'callback_requested', 'completed'))""")
    assert open_in_queue == []
    # Every ended call is sealed, the ones closed at restart too, and nothing fails to verify.
    verify = await trio.run_process([sys.executable, "-m", "ccd", "--config", str(config),
                                     "db", "verify"], capture_stdout=True, capture_stderr=True,
                                    check=False)
    assert verify.returncode == 0, verify.stdout.decode() + verify.stderr.decode()
    sealed = query(db, "SELECT count(*) FROM call_seals")[0][0]
    assert sealed == query(db, 'SELECT count(*) FROM calls WHERE "end" IS NOT NULL')[0][0]
