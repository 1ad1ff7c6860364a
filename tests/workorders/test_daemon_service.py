"""The work-order services inside the daemon's object: scheduler wired to the broker, status
numbers, config reload — on a real Daemon record, a real database and the real broker."""

from __future__ import annotations

import json
from pathlib import Path

import trio
import trio.testing

from ccd.api.broker import Broker
from ccd.config import Config, PathsConfig
from ccd.daemon import Daemon
from ccd.workorders import daemon as wo_daemon
from ccd.workorders.service import WorkOrders
from db import open_database


def make_daemon(tmp_path: Path) -> Daemon:
    config = Config(paths=PathsConfig(database=str(tmp_path / "ccd.sqlite3")),
                    source=str(tmp_path / "ccd.toml"))
    db = open_database(config.database_path)
    return Daemon(config=config, db=db, broker=Broker())


async def test_serve_publishes_timers_and_reports_status(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    daemon = make_daemon(tmp_path)
    sub = daemon.broker.subscribe([wo_daemon.TOPIC])
    try:
        async with trio.open_nursery() as nursery:
            service = await nursery.start(wo_daemon.serve, daemon)
            assert isinstance(service, WorkOrders) and daemon.workorders is service
            start = trio.current_time()
            t0 = 1_800_000_000.0
            service.now = lambda: t0 + (trio.current_time() - start)
            # An outage report: 2 calendar hours; the reminder after one.
            number = service.create(type="outage_report", created_by="ivr",
                                    department="repair")["number"]
            line = await sub.__anext__()
            assert trio.current_time() - start == 3600
            message = json.loads(line)
            assert message["event"] == wo_daemon.TOPIC
            assert message["data"] == {"number": number, "kind": "remind",
                                       "notify": ["department:repair"], "department": "repair"}
            line = await sub.__anext__()
            assert trio.current_time() - start == 7200
            assert json.loads(line)["data"]["kind"] == "escalate"
            status = daemon.status()["workorders"]
            assert status == {"open": 1, "overdue": 1, "timers_fired": 2}
            await daemon.reload()  # the hook re-reads settings and the holiday calendar
            nursery.cancel_scope.cancel()
    finally:
        sub.close()
        daemon.db.conn.close()
