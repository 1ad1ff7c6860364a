"""Fixtures for the ACD runtime: a real SQLite site with queues, stations and agents, the runtime
in a real trio API server, and (for the SIP tests) the driver plus pjsua2 phones on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
import trio

from ccd.acd import tables
from ccd.acd.runtime import AcdRuntime
from ccd.acd.settings import AcdSettings, QueueSettings
from ccd.api.server import ApiServer, serve_api
from ccd.calls import CallLog, new_call_id
from ccd.config import Config
from hw.base import Channel
from tests.api.conftest import LocalServices, TrioClient, add_user, make_config

AGENTS = {
    "agent1001": {"water": 8, "billing": 6},
    "agent1002": {"water": 7, "english": 6},
    "agent1003": {"billing": 8},
}


def seed(db: sqlite_utils.Database, settings: AcdSettings) -> None:
    """Queues water / billing, stations seat01..seat03, three agents and a team lead."""
    tables.add_queue(db, "water", QueueSettings(skills={"water": 1}), settings)
    tables.add_queue(db, "billing", QueueSettings(skills={"billing": 1}), settings)
    for n in (1, 2, 3):
        tables.add_station(db, f"seat0{n}", f"sip:agent100{n}@127.0.0.1:{5069 + n}")
    for name, skills in AGENTS.items():
        user = add_user(db, name, ["agent"])
        for skill, level in skills.items():
            db.execute("INSERT OR IGNORE INTO skills (name) VALUES (?)", [skill])
            db.execute(
                "INSERT INTO agent_skills (user_id, skill, level) VALUES (?, ?, ?)",
                [user.id, skill, level],
            )
    add_user(db, "lead1", ["teamlead"])
    add_user(db, "admin1", ["admin"])


class AcdServices(LocalServices):
    """LocalServices plus the ACD, as the daemon offers them."""

    acd: AcdRuntime | None = None

    def status(self) -> dict[str, Any]:
        out = super().status()
        if self.acd is not None:
            out["acd"] = self.acd.status()
        return out


@dataclass
class Site:
    config: Config
    services: AcdServices
    server: ApiServer

    @property
    def db(self) -> sqlite_utils.Database:
        return self.services.db

    @property
    def acd(self) -> AcdRuntime:
        assert self.services.acd is not None
        return self.services.acd

    async def client(self, username: str) -> TrioClient:
        from tests.api.conftest import PASSWORD

        client = await TrioClient.connect(self.config.socket_path)
        await client.call("login", username=username, password=PASSWORD)
        return client


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def services(config: Config) -> Iterator[AcdServices]:
    s = AcdServices(config)
    seed(s.db, AcdSettings())
    yield s
    s.db.close()


async def start_runtime(
    nursery: trio.Nursery,
    services: AcdServices,
    settings: AcdSettings,
    driver: Any = None,
    tmp_path: Path | None = None,
    **kwargs: Any,
) -> AcdRuntime:
    base = tmp_path or Path(services.config.paths.data_dir)
    runtime = AcdRuntime(
        services.db,
        settings,
        driver,
        broker=services.broker,
        recordings_dir=base / "recordings",
        music_dir=base / "prompts",
        **kwargs,
    )
    await nursery.start(runtime.run)
    services.acd = runtime
    return runtime


@pytest.fixture
async def site(
    nursery: trio.Nursery, config: Config, services: AcdServices
) -> AsyncIterator[Site]:
    await start_runtime(nursery, services, AcdSettings(wrap_up_s=0))
    server = await nursery.start(serve_api, config, services)
    yield Site(config, services, server)


async def wait_until(broker: Any, check: Any, seconds: float = 10.0) -> None:
    """Wait until `check()` holds, re-checking whenever the ACD publishes a record (every state
    change does, after it is stored); fails after `seconds`."""
    subscription = broker.subscribe(["acd.agent", "acd.queue"])
    try:
        with trio.fail_after(seconds):
            while not check():
                await subscription.wait()
                subscription.take_all()
    finally:
        subscription.close()


def rows(db: sqlite_utils.Database, sql: str, params: list[Any] | None = None) -> list[dict]:
    return list(db.query(sql, params or []))


async def answer_and_queue(
    runtime: AcdRuntime, channel: Channel, queue: str, **kwargs: Any
) -> tuple[str, Any]:
    """What the daemon's call task does for a caller who pressed 0: answer, open the call
    record, hand the leg to the ACD; returns (call id, outcome)."""
    await channel.answer()
    call_id = new_call_id()
    log = CallLog(runtime.db)
    log.start(call_id, src=channel.caller, dst=channel.called, channel=channel.info.leg_id)
    outcome = await runtime.queue_channel(channel, queue, call_id=call_id, **kwargs)
    log.end(call_id, hangup_by=outcome.outcome)
    return call_id, outcome
