"""The database locked by another process for 10 s while real SIP calls arrive and an agent writes.

The daemon must stay up, serve the callers (their call records wait in the write queue and are
committed once the lock is gone, in order), refuse an API write cleanly if it cannot wait long
enough (`database-busy`, nothing half-written) and lose nothing it acknowledged.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio

from ccd.api.client import SyncClient
from ccd.errors import CcdError
from hw.sipphone import open_phone
from tests.daemon_proc import DaemonProcess
from tests.faults.conftest import make_site
from tests.sip.conftest import free_rtp_block

pytestmark = pytest.mark.sip

LOCK_SECONDS = 10.0
CALLS = 8

HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO settings (key, value) VALUES ('lock-test', '1')")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
print("released", flush=True)
"""


def _hold_lock(db: Path) -> subprocess.Popen[str]:
    """Another process takes the write lock (BEGIN IMMEDIATE) and keeps it LOCK_SECONDS."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), str(LOCK_SECONDS)],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def query(db: Path, sql: str, args: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


async def test_calls_and_api_writes_survive_a_ten_second_lock(tmp_path, prompts):
    config = make_site(tmp_path)
    db = config.parent / "ccd.sqlite3"
    sock = config.parent / "run" / "ccd.sock"
    daemon = DaemonProcess(config, f"paths.prompts={prompts}").start()
    try:
        line = next(x for x in daemon.stderr_lines if "answering SIP calls at" in x)
        uri = line.rsplit(" ", 1)[-1].strip().replace("sip:ccd@", "sip:hotline@")
        holder = await trio.to_thread.run_sync(_hold_lock, db)
        locked_at = time.monotonic()

        # An agent writes during the lock: either it is committed (the reply came after the
        # lock went) or it is refused with database-busy and nothing of it exists.
        api_outcome: dict[str, object] = {}

        def write_work_order() -> None:
            with SyncClient.connect(sock) as client:
                client.login("agent1001", "agent1001")
                try:
                    api_outcome["wo"] = client.call(
                        "wo.create", type="repair", description="during the lock",
                        phone="13800000009")
                except CcdError as exc:
                    api_outcome["error"] = exc.error_id

        answered: list[str] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.to_thread.run_sync, write_work_order)
            async with open_phone(rtp_port=free_rtp_block()) as phone:
                for i in range(CALLS):
                    caller = f"1390000{i:04d}"
                    call = await phone.dial(uri, caller_id=caller)  # answered by the IVR
                    await trio.sleep(0.3)
                    assert call.is_up
                    await call.hangup()
                    answered.append(caller)
                    await trio.sleep(0.5)
        calls_done_at = time.monotonic()
        # The calls really happened while the lock was held.
        assert calls_done_at - locked_at < LOCK_SECONDS
        assert holder.wait(timeout=30) == 0
        assert daemon.proc is not None and daemon.proc.poll() is None, daemon.output

        # Once the lock is gone, every answered call's record is committed, complete.
        with trio.fail_after(20):
            while True:
                rows = query(db, 'SELECT src, disposition, "end", hangup_by FROM calls '
                             "WHERE src LIKE '1390000%' ORDER BY start")
                if len(rows) == CALLS and all(r[2] for r in rows):
                    break
                await trio.sleep(0.1)
        assert [r[0] for r in rows] == answered
        assert all(r[1] == "ANSWERED" and r[3] == "caller" for r in rows), rows
        for (call_id,) in query(db, "SELECT id FROM calls WHERE src LIKE '1390000%'"):
            kinds = [k for (k,) in query(
                db, "SELECT kind FROM call_events WHERE call_id = ? ORDER BY id", (call_id,))]
            assert kinds[0] == "start" and kinds[1] == "answer" and kinds[-1] == "end", kinds

        # The API write (its thread ended with the nursery): committed if acknowledged,
        # absent if refused.
        orders = query(db, "SELECT number FROM work_orders WHERE description = 'during the lock'")
        if "wo" in api_outcome:
            wo = api_outcome["wo"]
            assert isinstance(wo, dict) and orders == [(wo["number"],)]
        else:
            assert api_outcome == {"error": "database-busy"} and orders == []

        # The daemon noticed, waited and carried on; it still answers.
        with SyncClient.connect(sock) as client:
            client.login("admin", "admin")
            status = client.call("status")
        writes = status["database_writes"]
        assert writes["busy_retries"] > 0 and writes["backlog"] == 0 and writes["failed"] == 0
        assert writes["longest_stall_s"] > 1.0
        assert status["api"]["logins_throttled"] == 0
        daemon.wait_for_line("database locked by another process", 5)
        daemon.wait_for_line("database writable again", 5)
    finally:
        assert daemon.stop() == 0, daemon.output
    assert "Traceback" not in daemon.output, daemon.output
    # The records written late are sealed like any other.
    verify = await trio.run_process([sys.executable, "-m", "ccd", "--config", str(config),
                                     "db", "verify"], capture_stdout=True, capture_stderr=True,
                                    check=False)
    assert verify.returncode == 0 and b"seals: ok" in verify.stdout, verify.stdout
