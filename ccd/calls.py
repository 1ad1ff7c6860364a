"""Call records: one `calls` row per call (CDR-like) and its `call_events`, committed as they happen.

Every write commits at once (the connection is in autocommit mode), so whatever the daemon
acknowledged survives a crash. A call left 'IN PROGRESS' by a crash or a lost media worker is
closed as FAILED, never left open.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from typing import Any

import sqlite_utils

from ccd.timefmt import iso, parse

IN_PROGRESS = "IN PROGRESS"
ANSWERED = "ANSWERED"
NO_ANSWER = "NO ANSWER"
BUSY = "BUSY"
FAILED = "FAILED"
REFUSED = "REFUSED"


def new_call_id() -> str:
    """Sortable by time, unique across restarts: '20261123T083000-1a2b3c4d'."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


class CallLog:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def start(
        self,
        call_id: str,
        *,
        src: str,
        dst: str,
        direction: str = "in",
        channel: str = "",
        now: float | None = None,
        **fields: Any,
    ) -> None:
        self.db.execute(
            "INSERT INTO calls (id, start, src, dst, direction, channel, disposition, userfield) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [call_id, iso(now), src, dst, direction, channel, IN_PROGRESS, fields.pop("userfield", "")],
        )
        if fields:
            self.update(call_id, **fields)
        self.event(call_id, "start", now=now, src=src, dst=dst, channel=channel)

    def event(
        self,
        call_id: str,
        kind: str,
        data: dict[str, Any] | None = None,
        *,
        now: float | None = None,
        **more: Any,
    ) -> None:
        """Append an event; `data` (which may hold any keys, 'kind' too) and `more` are merged."""
        payload = {**(data or {}), **more}
        self.db.execute(
            "INSERT INTO call_events (call_id, at, kind, data) VALUES (?, ?, ?, ?)",
            [call_id, iso(now), kind, json.dumps(payload, ensure_ascii=False, default=str)],
        )

    def update(self, call_id: str, **fields: Any) -> None:
        if not fields:
            return
        cols = ", ".join(f'"{k}" = ?' for k in fields)
        values = [
            json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v
            for v in fields.values()
        ]
        self.db.execute(f"UPDATE calls SET {cols} WHERE id = ?", [*values, call_id])

    def answered(self, call_id: str, now: float | None = None) -> None:
        self.db.execute(
            "UPDATE calls SET answer = ?, disposition = ? WHERE id = ? AND answer IS NULL",
            [iso(now), ANSWERED, call_id],
        )
        self.event(call_id, "answer", now=now)

    def end(
        self,
        call_id: str,
        *,
        disposition: str | None = None,
        cause: int | None = None,
        hangup_by: str = "",
        now: float | None = None,
        **fields: Any,
    ) -> None:
        """Close the call: end time, duration, billable seconds and why it ended."""
        row = self.db.execute(
            "SELECT start, answer, disposition FROM calls WHERE id = ?", [call_id]
        ).fetchone()
        if row is None:
            return
        start, answer, current = row
        end_ts = time.time() if now is None else now
        if disposition is None:
            disposition = current if current != IN_PROGRESS else NO_ANSWER
        self.update(
            call_id,
            end=iso(end_ts),
            duration=round(end_ts - parse(start), 3),
            billsec=round(end_ts - parse(answer), 3) if answer else 0.0,
            disposition=disposition,
            hangup_cause=cause,
            hangup_by=hangup_by,
            **fields,
        )
        self.event(call_id, "end", now=end_ts, disposition=disposition, cause=cause, by=hangup_by)

    def recording(
        self, call_id: str | None, path: str, *, kind: str = "call", seconds: float = 0.0
    ) -> int:
        cur = self.db.execute(
            "INSERT INTO recordings (call_id, path, kind, seconds, created_at) VALUES (?, ?, ?, ?, ?)",
            [call_id, path, kind, seconds, iso()],
        )
        return int(cur.lastrowid or 0)

    def fail_open(self, call_ids: Iterable[str] | None = None, reason: str = "daemon-restart") -> int:
        """Close calls still IN PROGRESS (all of them, or the given ones) as FAILED."""
        if call_ids is None:
            ids = [r[0] for r in self.db.execute(
                "SELECT id FROM calls WHERE disposition = ?", [IN_PROGRESS]
            ).fetchall()]
        else:
            ids = list(call_ids)
        for call_id in ids:
            self.end(call_id, disposition=FAILED, cause=500, hangup_by=reason)
        return len(ids)

    def get(self, call_id: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM calls WHERE id = ?", [call_id]))
        if not rows:
            return None
        call = rows[0]
        call["events"] = [
            {**e, "data": json.loads(e["data"])}
            for e in self.db.query(
                "SELECT at, kind, data FROM call_events WHERE call_id = ? ORDER BY id", [call_id]
            )
        ]
        call["recordings"] = list(
            self.db.query("SELECT id, path, kind, seconds FROM recordings WHERE call_id = ?", [call_id])
        )
        return call

    def recent(self, since: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        sql = "SELECT * FROM calls"
        args: list[Any] = []
        if since:
            sql += " WHERE start >= ?"
            args.append(since)
        sql += " ORDER BY start DESC LIMIT ?"
        args.append(limit)
        return list(self.db.query(sql, args))
