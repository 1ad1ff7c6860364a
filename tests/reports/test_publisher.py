"""The publisher on trio's MockClock: bursts coalesce into one push, the rate cap and the
heartbeat hold to the exact virtual second, and what is pushed is what was stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils
import trio
import trio.testing

from ccd.api.broker import Broker
from ccd.reports import board as wire
from ccd.reports.live import LiveBoard
from ccd.reports.publisher import TOPIC, Publisher
from ccd.reports.rows import to_row
from ccd.reports.settings import WallboardSettings
from db import open_database
from tests.reports import day


@pytest.fixture
def mock_clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_database(tmp_path / "ccd.sqlite3")
    yield database
    database.close()


class Wall:
    """Unix time that follows trio's (virtual) clock from T0."""

    def __init__(self) -> None:
        self.offset = day.T0 - trio.current_time()

    def __call__(self) -> float:
        return trio.current_time() + self.offset


def decode(line: bytes) -> wire.Push:
    return wire.decode(json.loads(line)["data"])


async def test_bursts_coalesce_and_heartbeat_keeps_time(db, mock_clock) -> None:
    settings = WallboardSettings(publish_per_second=4, heartbeat_s=1.0)
    broker = Broker()
    wall = Wall()
    board = LiveBoard(db, settings, "Asia/Shanghai")
    board.load(wall())
    publisher = Publisher(board, broker, settings, wall_clock=wall)
    pushes = broker.subscribe([TOPIC])
    times: list[float] = []

    async def collect() -> None:
        async for _line in pushes:
            times.append(trio.current_time())

    t0 = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(collect)
        await nursery.start(publisher.run)
        await trio.sleep(0.0001)
        assert times == [t0]  # the first push goes out at once, a full snapshot
        assert isinstance(publisher.last, wire.Wallboard)

        # Quiet: one push per heartbeat, exactly.
        await trio.sleep(3.0)  # to t0 + 3.0001: just after the third heartbeat
        assert [round(t - t0, 6) for t in times] == [0.0, 1.0, 2.0, 3.0]

        # A burst of the morning's first 40 events at 3.5 s, each announced on 'acd.queue'.
        await trio.sleep(0.4999)
        events = day.events()[:40]
        for event in events:
            table, row = to_row(event)
            db[table].insert(row)
            broker.publish("acd.queue", {"row": row})
        await trio.sleep(0.001)
        # One push for the whole burst, at once (the last was 0.5 s ago > 1/4 s).
        assert [round(t - t0, 6) for t in times][4:] == [3.5]
        assert publisher.seq == 5
        entered = sum(1 for e in events if getattr(e, "kind", "") == "enter_queue")
        assert entered == 5  # c1, c2, c3, c4 and c2 again in billing
        assert publisher.last is not None and publisher.last.headline.today.offered == entered
        assert publisher.last.high_water["queue_events"] + publisher.last.high_water[
            "agent_state_log"] == len(events)

        # Events arriving faster than the cap: pushes at most every 0.25 s.
        before = len(times)
        for i in range(20):
            broker.publish("acd.agent", {"i": i})
            await trio.sleep(0.05)
        gaps = [b - a for a, b in zip(times[before - 1:], times[before:], strict=False)]
        assert gaps and min(gaps) >= 0.25 - 1e-9
        assert len(times) - before == 4  # 1.0 s of wake-ups: pushes at +0.25, 0.5, 0.75, 1.0
        nursery.cancel_scope.cancel()


async def test_help_poke_and_deltas_apply(db, mock_clock) -> None:
    settings = WallboardSettings(publish_per_second=2, heartbeat_s=5.0)
    broker = Broker()
    wall = Wall()
    board = LiveBoard(db, settings, "Asia/Shanghai")
    board.load(wall())
    publisher = Publisher(board, broker, settings, wall_clock=wall)
    pushes = broker.subscribe([TOPIC])
    async with trio.open_nursery() as nursery:
        await nursery.start(publisher.run)
        await trio.sleep(1.0)
        (first,) = [decode(line) for line in pushes.take_all()]
        assert isinstance(first, wire.Wallboard) and first.alerts == []
        db.execute("INSERT INTO help_requests (agent, raised_at) VALUES ('a1', '2026-11-23T00:00:00Z')")
        publisher.help_changed()
        await trio.sleep(0.001)
        (second,) = [decode(line) for line in pushes.take_all()]
        assert isinstance(second, wire.WallboardDelta) and second.base == first.seq
        assert [a.kind for a in second.alerts] == ["help"]
        # The board a client holds after applying the delta is the publisher's own.
        assert wire.apply(first, second) == publisher.last
        # What `wallboard.snapshot` answers carries the last push's seq.
        assert publisher.snapshot().seq == second.seq
        nursery.cancel_scope.cancel()
