"""The live board on a real SQLite file: rows as the store writes them, read back by id, the same
numbers as the batch; snapshots and deltas; alerts from help requests and work orders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import sqlite_utils

from ccd.reports import board as wire
from ccd.reports import source
from ccd.reports.batch import day_report
from ccd.reports.live import LiveBoard
from ccd.reports.rows import to_row
from ccd.reports.settings import Thresholds, WallboardSettings
from ccd.timefmt import iso
from db import open_database
from tests.reports import day


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_database(tmp_path / "ccd.sqlite3")
    database.execute(
        "INSERT INTO queues (name, display_name, sl_target_s) VALUES "
        "('general', '综合服务', 20), ('billing', '账务查询', 30)"
    )
    database.execute(
        "INSERT INTO users (username, display_name, agent_number, created_at, updated_at) "
        "VALUES ('a2', '李明', '1002', '2026-01-01', '2026-01-01')"
    )
    yield database
    database.close()


def store(db: sqlite_utils.Database, events) -> None:
    for event in events:
        table, row = to_row(event)
        db[table].insert(row)


def settings(**kw) -> WallboardSettings:
    return WallboardSettings(short_abandon_s=day.SHORT_ABANDON_S, **kw)


def test_rows_round_trip_gives_the_same_report(db) -> None:
    events = day.events()
    store(db, events)
    read = source.read_between(db, day.T0 - 3600)
    assert len(read) == len(events)
    kwargs = dict(calendar=day.CALENDAR, short_abandon_s=day.SHORT_ABANDON_S, targets=day.TARGETS)
    assert day_report(day.DAY, read, **kwargs) == day_report(day.DAY, events, **kwargs)


def test_live_board_polls_new_rows_and_matches_batch(db) -> None:
    events = day.events()
    half = [e for e in events if e.at <= day.T0 + 600]
    store(db, half)
    board = LiveBoard(db, settings(), "Asia/Shanghai")
    board.load(day.T0 + 600)
    assert board.events_read == len(half)
    assert board.poll(day.T0 + 600) == 0
    rest = events[len(half):]
    store(db, rest)
    assert board.poll(day.T0 + 1500) == len(rest)
    assert board.cursor == source.last_cursor(db)
    batch = day_report(day.DAY, events, calendar=day.CALENDAR,
                       short_abandon_s=day.SHORT_ABANDON_S, targets=day.TARGETS)
    assert board.aggregator.day_report(day.DAY) == batch
    snap = board.snapshot(day.T0 + 1500, seq=3)
    assert snap.seq == 3 and snap.live
    assert {q.queue: q.name for q in snap.queues} == {"general": "综合服务", "billing": "账务查询"}
    assert snap.headline.today.offered == 10
    assert {a.agent: (a.name, a.number) for a in snap.agents}["a2"] == ("李明", "1002")
    assert snap.high_water == {"queue_events": board.cursor.queue_events,
                               "agent_state_log": board.cursor.agent_state_log}


def test_delta_applied_to_the_old_snapshot_gives_the_new_one(db) -> None:
    events = day.events()
    board = LiveBoard(db, settings(), "Asia/Shanghai")
    board.load(day.T0)
    board.poll(day.T0)
    store(db, [e for e in events if e.at <= day.T0 + 100])
    board.poll(day.T0 + 100)
    old = board.snapshot(day.T0 + 100, seq=1)
    store(db, [e for e in events if day.T0 + 100 < e.at <= day.T0 + 1200])
    board.poll(day.T0 + 1200)
    new = board.snapshot(day.T0 + 1200, seq=2)
    d = wire.delta(old, new)
    assert (d.seq, d.base) == (2, 1)
    assert 0 < len(d.agents) <= 3
    # Through the wire and back, as a board receives it.
    received = wire.decode(msgspec.json.decode(msgspec.json.encode(d)))
    assert wire.apply(old, received) == new
    quiet = wire.delta(new, msgspec.structs.replace(new, seq=3))
    assert quiet.agents == [] and quiet.trend is None


def test_alerts_help_requests_and_work_orders(db) -> None:
    events = day.events()
    store(db, [e for e in events if e.at <= day.T0 + 1250])
    db.execute("INSERT INTO help_requests (agent, raised_at, message) VALUES (?,?,?)",
               ("a2", iso(day.T0 + 1240), "用户投诉水质"))
    db.execute(
        "INSERT INTO work_orders (number, type, status, created_by, created_at, updated_at, "
        "deadline_at, escalated_at) VALUES "
        "('WO-1', 'repair', 'accepted', 't', 'x', 'x', ?, NULL), "
        "('WO-2', 'repair', 'dispatched', 't', 'x', 'x', ?, ?), "
        "('WO-3', 'repair', 'closed', 't', 'x', 'x', ?, ?), "
        "('WO-4', 'repair', 'accepted', 't', 'x', 'x', ?, NULL)",
        (iso(day.T0 - 60), iso(day.T0 - 3600), iso(day.T0 - 60), iso(day.T0 - 7200),
         iso(day.T0 - 60), iso(day.T0 + 86400)),
    )
    tight = Thresholds(longest_wait_warn_s=10, longest_wait_alarm_s=30)
    board = LiveBoard(db, settings(thresholds=tight), "Asia/Shanghai")
    now = day.T0 + 1250  # c7 (billing) has waited 50 s
    board.load(now)
    kinds = {(a.kind, a.subject): a for a in board.snapshot(now).alerts}
    assert kinds[("long_wait", "billing")].value == pytest.approx(50)
    assert kinds[("long_wait", "billing")].count == 1
    help_alert = kinds[("help", "a2")]
    assert help_alert.text == "用户投诉水质" and help_alert.items == ["李明"]
    assert kinds[("work_order_overdue", "")].count == 2  # WO-1 and WO-2 (WO-4 not due)
    assert kinds[("work_order_escalated", "")].items == ["WO-2"]
    # Today general: SL 2/5 < 0.8 in the current interval? 08:15 has c6 (0/1): an alarm.
    assert kinds[("service_level", "general")].severity == "alarm"
    assert [a.severity for a in board.snapshot(now).alerts][-1] == "warn"


def test_board_without_optional_tables(tmp_path: Path) -> None:
    """Help requests and work orders are other features' tables: a board works without them."""
    database = open_database(tmp_path / "x.sqlite3")
    database.execute("DROP TABLE help_requests")
    database.execute("DROP TABLE work_orders")
    board = LiveBoard(database, settings(), "Asia/Shanghai")
    board.load(day.T0)
    snap = board.snapshot(day.T0)
    assert snap.alerts == [] and snap.agents == [] and snap.headline.today.offered == 0
    assert snap.headline.today.service_level is None
    database.close()


def test_restart_leaves_rows_open_and_the_running_acd_closes_them(db) -> None:
    """A daemon that died mid-morning left agents logged in and a caller waiting in the rows;
    the new daemon's ACD knows neither: the board logs them out, drops the call, counts
    nothing for it, and keeps what happened after the restart."""
    from ccd.acd import model as m
    from ccd.reports.publisher import reconcile

    events = day.events()
    store(db, [e for e in events if e.at <= day.T0 + 1250])  # c7 waiting, three agents in
    board = LiveBoard(db, settings(), "Asia/Shanghai")
    board.load(day.T0 + 1300)
    assert board.snapshot(day.T0 + 1300).headline.waiting == 1

    class FreshAcd:  # what a restarted ACD core answers: nobody in, no calls
        def agent_state(self, agent: str) -> tuple[m.AgentState, None]:
            return m.AgentState.LOGGED_OUT, None

        def call_phase(self, call_id: str):
            from ccd.acd.states import CallPhase

            return CallPhase.ENDED

    restart = day.T0 + 1290
    assert reconcile(board, FreshAcd(), day.T0 + 1300, restart)
    snap = board.snapshot(day.T0 + 1300)
    assert snap.headline.waiting == 0
    assert snap.headline.agents.logged_in == 0
    assert {a.reason for a in snap.agents} == {"restart"}
    assert snap.headline.today.abandoned == 1  # c4 only: c7 is not counted as abandoned
    assert not reconcile(board, None, day.T0 + 1300, restart)  # no ACD yet: try again later
