"""Fixtures for the console options and the task list: a real ccd.toml with a `[console]`
section, a real SQLite file, the daemon's own services object (`ccd.daemon.Daemon`, so a reload
is the daemon's SIGHUP path), the ACD runtime and the API server on a real Unix socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
import trio

from ccd import config as configuration
from ccd.acd import settings as acd_settings
from ccd.api.broker import Broker
from ccd.api.server import ApiServer, serve_api
from ccd.daemon import Daemon
from db import connect, open_database
from tests.acd_runtime.conftest import seed, start_runtime
from tests.api.conftest import PASSWORD, TrioClient

CONSOLE = """
[site]
name = "滨江水务热线"

[acd]
wrap_up_s = 0.0

[acd.stations]
seat09 = "sip:desk09@127.0.0.1:5099"

[console]
not_ready_reasons = [
    { code = "break", zh = "小休", en = "break" },
    { code = "coaching", zh = "辅导", en = "coaching" },
]
dispositions = [
    { code = "water_quality", zh = "水质问题", en = "water quality" },
    { code = "billing", zh = "账单", en = "billing" },
]

[console.survey]
intro_zh = "您好，这里是{site}，就工单 {number} 做个回访。"
intro_en = "Hello from {site} about work order {number}."
closing_zh = "谢谢，再见。"
closing_en = "Thank you, goodbye."
questions = [
    { id = "overall", zh = "总体满意度（1 到 5 分）", en = "Overall (1 to 5)", kind = "score" },
    { id = "fixed", zh = "问题解决了吗？", en = "Is it fixed?", kind = "yes_no" },
    { id = "remarks", zh = "其他意见", en = "Anything else", kind = "text" },
]
"""


def write_config(base: Path, console: str = CONSOLE) -> Path:
    """ccd.toml in `base` with every path inside it and the given sections."""
    path = base / "ccd.toml"
    path.write_text(
        f'[paths]\ndata_dir = "{base}"\ndatabase = "{base}/ccd.sqlite3"\n'
        f'run_dir = "{base}/run"\n\n[sip]\nenabled = false\n{console}',
        encoding="utf-8",
    )
    return path


@dataclass
class Site:
    daemon: Daemon
    server: ApiServer
    base: Path

    @property
    def db(self) -> sqlite_utils.Database:
        return self.daemon.db

    async def client(self, username: str) -> TrioClient:
        client = await TrioClient.connect(self.daemon.config.socket_path)
        await client.call("login", username=username, password=PASSWORD)
        return client

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Read through a second connection: what is there has been committed."""
        other = connect(self.daemon.config.database_path)
        try:
            return list(other.query(sql, params or []))
        finally:
            other.close()


@pytest.fixture
async def site(nursery: trio.Nursery, tmp_path: Path) -> AsyncIterator[Site]:
    config = configuration.load(write_config(tmp_path))
    db = open_database(config.database_path)
    seed(db, acd_settings.from_config(config))
    daemon = Daemon(config=config, db=db, broker=Broker())
    await start_runtime(nursery, daemon, acd_settings.from_config(config), tmp_path=tmp_path)
    server = await nursery.start(serve_api, config, daemon)
    try:
        yield Site(daemon, server, tmp_path)
    finally:
        db.close()
