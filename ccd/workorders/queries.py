"""Reading work orders: lists for the back office and the wallboard, departments and members,
the holiday calendar. No lifecycle changes here (see service.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from ccd.timefmt import iso
from ccd.workorders import lifecycle
from ccd.workorders.errors import BadValue, UnknownDepartment
from ccd.workorders.store import rows

LIST_COLUMNS = (
    "id, number, type, priority, status, source, customer_id, account_no, contact_name, phone, "
    "address, department, owner, created_by, created_at, updated_at, closed_at, deadline_at, "
    "escalated_at, substr(description, 1, 80) AS summary, "
    # The words for the codes, for lists people read (`ccd wo list`).
    "(SELECT name FROM work_order_types t WHERE t.code = work_orders.type) AS type_name, "
    "(SELECT name_en FROM work_order_types t WHERE t.code = work_orders.type) AS type_name_en, "
    "(SELECT name FROM departments d WHERE d.code = work_orders.department) AS department_name, "
    "(SELECT name_en FROM departments d WHERE d.code = work_orders.department) "
    "AS department_name_en"
)
MAX_LIMIT = 500


def list_orders(
    db: sqlite_utils.Database,
    *,
    status: Sequence[str] = (),
    department: str | None = None,
    type: str | None = None,
    customer_id: int | None = None,
    phone: str | None = None,
    open_only: bool = False,
    overdue_at: float | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Work orders, newest first.

    status: only these statuses. open_only: not closed or cancelled. overdue_at: only those past
    their deadline at this moment (clock running). before_id: page on from the last id seen.
    limit: at most this many (1..500).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise BadValue(f"limit must be 1..{MAX_LIMIT}", field="limit", value=limit)
    for s in status:
        if s not in lifecycle.STATUSES:
            raise BadValue(
                f"unknown status {s!r} (known: {', '.join(lifecycle.STATUSES)})",
                field="status",
                value=s,
            )
    where: list[str] = []
    params: list[Any] = []
    wanted = list(status)
    if open_only or overdue_at is not None:
        base = lifecycle.TIMED if overdue_at is not None else lifecycle.OPEN
        wanted = [s for s in (wanted or list(base)) if s in base]
        if not wanted:
            return []
    if wanted:
        where.append(f"status IN ({', '.join('?' * len(wanted))})")
        params.extend(wanted)
    if overdue_at is not None:
        where.append("deadline_at IS NOT NULL AND deadline_at <= ?")
        params.append(iso(overdue_at))
    for column, value in (
        ("department", department), ("type", type), ("customer_id", customer_id),
        ("phone", phone),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if before_id is not None:
        where.append("id < ?")
        params.append(before_id)
    sql = f"SELECT {LIST_COLUMNS} FROM work_orders"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(limit)
    return rows(db, sql, params)


def public_status(db: sqlite_utils.Database, number: str, lang: str = "zh"
                  ) -> dict[str, Any] | None:
    """What anyone holding the number may hear (the IVR's "press 4"): number, status and its
    words, type and its words, created/updated/closed. None for an unknown number.

    number: as keyed or typed ('202611230042', 'wo-20261123-0042').
    """
    from ccd.workorders import catalogue
    from ccd.workorders.service import normalize_number

    normal = normalize_number(number)
    if normal is None:
        return None
    found = rows(
        db,
        "SELECT w.number, w.status, w.type, t.name AS type_zh, t.name_en AS type_en, "
        "w.created_at AS created, w.updated_at AS updated, w.closed_at AS closed "
        "FROM work_orders w JOIN work_order_types t ON t.code = w.type WHERE w.number = ?",
        [normal],
    )
    if not found:
        return None
    out = found[0]
    out["status_text"] = catalogue.word(catalogue.STATUS, out["status"], lang)
    type_zh, type_en = out.pop("type_zh"), out.pop("type_en")
    out["type_text"] = type_en if lang == "en" and type_en else type_zh
    return out


def overdue(db: sqlite_utils.Database, now: float, limit: int = 100) -> list[dict[str, Any]]:
    """The wallboard's overdue list: open work orders past their deadline, most overdue first."""
    out = list_orders(db, overdue_at=now, limit=min(limit, MAX_LIMIT))
    return sorted(out, key=lambda r: r["deadline_at"])


def departments(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return rows(db, "SELECT code, name, name_en, head_username, active FROM departments ORDER BY code")


def types(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return rows(
        db,
        "SELECT code, name, name_en, default_department, active FROM work_order_types "
        "ORDER BY rowid",
    )


def is_member(db: sqlite_utils.Database, department: str | None, username: str) -> bool:
    """Whether `username` works in `department` (department actions need it)."""
    if department is None:
        return False
    return (
        db.execute(
            "SELECT 1 FROM department_members m JOIN users u ON u.id = m.user_id "
            "WHERE m.department = ? AND u.username = ?",
            [department, username],
        ).fetchone()
        is not None
    )


def add_member(db: sqlite_utils.Database, department: str, username: str) -> None:
    if db.execute("SELECT 1 FROM departments WHERE code = ?", [department]).fetchone() is None:
        raise UnknownDepartment(f"no department {department!r}", department=department)
    user = db.execute("SELECT id FROM users WHERE username = ?", [username]).fetchone()
    if user is None:
        raise BadValue(f"no user {username!r}", field="username", value=username)
    db.execute(
        "INSERT OR IGNORE INTO department_members (department, user_id) VALUES (?, ?)",
        [department, user[0]],
    )


def set_holiday(db: sqlite_utils.Database, day: dt.date, kind: str = "off", name: str = "") -> None:
    """Mark a local date as a day off ('off') or a swapped working day ('work', 调休)."""
    if kind not in ("off", "work"):
        raise BadValue("kind must be 'off' or 'work'", field="kind", value=kind)
    db.execute(
        "INSERT INTO holidays (day, kind, name) VALUES (?, ?, ?) "
        "ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name",
        [day.isoformat(), kind, name],
    )


def remove_holiday(db: sqlite_utils.Database, day: dt.date) -> bool:
    return db.execute("DELETE FROM holidays WHERE day = ?", [day.isoformat()]).rowcount > 0


def holidays(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return rows(db, "SELECT day, kind, name FROM holidays ORDER BY day")
