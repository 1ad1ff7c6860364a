"""Reading what reports need from the database: event rows, queue targets, names, alerts.

The only module of ccd.reports that does I/O. Every function takes the database (a
sqlite_utils.Database or anything with `.execute`) and returns plain values. Tables another
feature adds (work_orders, help_requests) may be absent: the functions then return nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from ccd.reports.batch import in_order
from ccd.reports.rows import Event, agent_state_from_row, queue_event_from_row
from ccd.timefmt import iso

QUEUE_COLUMNS = "id, at, queue, call_id, agent, event, data"
AGENT_COLUMNS = "id, at, agent, state, reason, station, call_id, by_user"
# Work-order statuses whose deadline clock runs (ccd.workorders.lifecycle.TIMED).
TIMED_STATUSES = ("new", "dispatched", "accepted", "close_requested")
OPEN_STATUSES = (*TIMED_STATUSES, "paused")


@dataclass(frozen=True)
class Cursor:
    """How far the events have been read: the last row id of each table."""

    queue_events: int = 0
    agent_state_log: int = 0


def _dicts(db: sqlite_utils.Database, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def has_table(db: sqlite_utils.Database, name: str) -> bool:
    row = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None


def read_new(
    db: sqlite_utils.Database, cursor: Cursor, limit: int = 50000
) -> tuple[list[Event], Cursor]:
    """Rows written after `cursor`, merged in time order, and the cursor after them.

    limit: at most this many rows per table in one read (the rest come with the next read).
    """
    q_rows = _dicts(
        db,
        f"SELECT {QUEUE_COLUMNS} FROM queue_events WHERE id > ? ORDER BY id LIMIT ?",
        (cursor.queue_events, limit),
    )
    a_rows = _dicts(
        db,
        f"SELECT {AGENT_COLUMNS} FROM agent_state_log WHERE id > ? ORDER BY id LIMIT ?",
        (cursor.agent_state_log, limit),
    )
    new = Cursor(
        q_rows[-1]["id"] if q_rows else cursor.queue_events,
        a_rows[-1]["id"] if a_rows else cursor.agent_state_log,
    )
    events = in_order(
        [queue_event_from_row(r) for r in q_rows], [agent_state_from_row(r) for r in a_rows]
    )
    return events, new


def read_between(
    db: sqlite_utils.Database,
    start: float,
    end: float | None = None,
    *,
    cursor: Cursor | None = None,
) -> list[Event]:
    """Every event with start <= at < end (Unix seconds; end None: no end), in time order.

    cursor: only rows up to it (so a later `read_new(db, cursor)` reads each row once).
    """
    clause, params = "at >= ?", [iso(start)]
    q_params: list[object]
    a_params: list[object]
    if end is not None:
        clause += " AND at < ?"
        params.append(iso(end))
    q_clause, a_clause = clause, clause
    q_params, a_params = [*params], [*params]
    if cursor is not None:
        q_clause += " AND id <= ?"
        q_params.append(cursor.queue_events)
        a_clause += " AND id <= ?"
        a_params.append(cursor.agent_state_log)
    q_rows = _dicts(
        db,
        f"SELECT {QUEUE_COLUMNS} FROM queue_events WHERE {q_clause} ORDER BY id",
        tuple(q_params),
    )
    a_rows = _dicts(
        db,
        f"SELECT {AGENT_COLUMNS} FROM agent_state_log WHERE {a_clause} ORDER BY id",
        tuple(a_params),
    )
    return in_order(
        [queue_event_from_row(r) for r in q_rows], [agent_state_from_row(r) for r in a_rows]
    )


def last_cursor(db: sqlite_utils.Database) -> Cursor:
    """The cursor after every row stored so far."""
    q = db.execute("SELECT coalesce(max(id), 0) FROM queue_events").fetchone()[0]
    a = db.execute("SELECT coalesce(max(id), 0) FROM agent_state_log").fetchone()[0]
    return Cursor(int(q), int(a))


@dataclass(frozen=True)
class QueueInfo:
    name: str
    display_name: str
    target_s: float


def queues(db: sqlite_utils.Database) -> dict[str, QueueInfo]:
    """Configured queues with their display names and service-level targets (seconds)."""
    rows = db.execute("SELECT name, display_name, sl_target_s FROM queues ORDER BY name")
    return {
        name: QueueInfo(name, display or name, float(target or 20))
        for name, display, target in rows.fetchall()
    }


def people(db: sqlite_utils.Database) -> dict[str, dict[str, str]]:
    """username -> {name, number} for every user (agents are shown by name and agent number)."""
    rows = db.execute("SELECT username, display_name, agent_number FROM users")
    return {u: {"name": d or u, "number": n or ""} for u, d, n in rows.fetchall()}


def open_help_requests(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Help requests not yet answered, oldest first ([] before the help table exists)."""
    if not has_table(db, "help_requests"):
        return []
    return _dicts(
        db,
        "SELECT id, agent, raised_at, message, call_id FROM help_requests "
        "WHERE status = 'open' ORDER BY id",
        (),
    )


@dataclass(frozen=True)
class WorkOrderAlerts:
    """Open work orders past their deadline, and escalated (督办) ones; a few numbers of each."""

    overdue: int = 0
    escalated: int = 0
    overdue_numbers: tuple[str, ...] = ()
    escalated_numbers: tuple[str, ...] = ()
    available: bool = False


def work_order_alerts(db: sqlite_utils.Database, now: float, sample: int = 5) -> WorkOrderAlerts:
    """Overdue and escalated work orders at Unix time `now` (empty when the table is absent)."""
    if not has_table(db, "work_orders"):
        return WorkOrderAlerts()
    marks = ",".join("?" * len(TIMED_STATUSES))
    overdue = db.execute(
        f"SELECT number FROM work_orders WHERE status IN ({marks}) "
        "AND deadline_at IS NOT NULL AND deadline_at < ? ORDER BY deadline_at",
        (*TIMED_STATUSES, iso(now)),
    ).fetchall()
    open_marks = ",".join("?" * len(OPEN_STATUSES))
    escalated = db.execute(
        f"SELECT number FROM work_orders WHERE status IN ({open_marks}) "
        "AND escalated_at IS NOT NULL ORDER BY escalated_at",
        OPEN_STATUSES,
    ).fetchall()
    return WorkOrderAlerts(
        overdue=len(overdue),
        escalated=len(escalated),
        overdue_numbers=tuple(r[0] for r in overdue[:sample]),
        escalated_numbers=tuple(r[0] for r in escalated[:sample]),
        available=True,
    )


def call_details(db: sqlite_utils.Database, call_id: str) -> dict[str, Any] | None:
    """A call's record, its events, its queue events and its recordings (None: no such call)."""
    rows = _dicts(db, 'SELECT * FROM calls WHERE id = ?', (call_id,))
    queue_rows = _dicts(
        db, f"SELECT {QUEUE_COLUMNS} FROM queue_events WHERE call_id = ? ORDER BY id", (call_id,)
    )
    if not rows and not queue_rows:
        return None
    events = _dicts(
        db, "SELECT at, kind, data FROM call_events WHERE call_id = ? ORDER BY id", (call_id,)
    )
    recordings = _dicts(
        db,
        "SELECT id, path, kind, seconds, created_at FROM recordings WHERE call_id = ? ORDER BY id",
        (call_id,),
    )
    for row in [*events, *queue_rows]:
        row["data"] = _json(row.get("data"))
    return {
        "call": rows[0] if rows else {"id": call_id},
        "events": events,
        "queue_events": queue_rows,
        "recordings": recordings,
    }


def _json(text: Any) -> Mapping[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
