"""Call records: one `calls` row per call (CDR-like) and its `call_events`, committed as they happen.

Writes go through the daemon's write queue (db/writer.py): in order, committed as soon as the
database takes them, retried (never dropped) while another process holds the write lock. A call
left without an end by a crash is closed at the next start (`fail_open`), answered or not.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import sqlite_utils

from ccd.timefmt import iso, parse
from db.seal import Sealer
from db.writer import Writer

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
    """The daemon's call records. db: the database; writer: the daemon's write queue (None: a
    writer of its own that writes at once, for tools and tests).

    Every write goes through the writer, in order, so a database locked by another process
    delays call records but never loses them and never fails the call (db/writer.py).
    """

    def __init__(
        self, db: sqlite_utils.Database, writer: Writer | None = None, sealer: Sealer | None = None
    ) -> None:
        self.db = db
        self.writer = writer if writer is not None else Writer(db)
        self.sealer = sealer  # seals each call as it ends (db/seal.py); None: not sealed
        self._answered: set[str] = set()  # calls in progress that were answered

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
        row = [call_id, iso(now), src, dst, direction, channel, IN_PROGRESS,
               fields.pop("userfield", "")]

        def insert(db: sqlite_utils.Database) -> None:
            db.execute(
                "INSERT INTO calls (id, start, src, dst, direction, channel, disposition, "
                "userfield) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )

        self.writer.submit(insert, label=f"call {call_id} start")
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
        row = [call_id, iso(now), kind, json.dumps(payload, ensure_ascii=False, default=str)]
        self.writer.submit(
            lambda db: db.execute(
                "INSERT INTO call_events (call_id, at, kind, data) VALUES (?, ?, ?, ?)", row
            ),
            label=f"call {call_id} {kind}",
        )

    def update(self, call_id: str, **fields: Any) -> None:
        if not fields:
            return
        cols = ", ".join(f'"{k}" = ?' for k in fields)
        values = [
            json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v
            for v in fields.values()
        ]
        self.writer.submit(
            lambda db: db.execute(f"UPDATE calls SET {cols} WHERE id = ?", [*values, call_id]),
            label=f"call {call_id} update",
        )

    def answered(self, call_id: str, now: float | None = None) -> None:
        self._answered.add(call_id)
        args = [iso(now), ANSWERED, call_id]
        self.writer.submit(
            lambda db: db.execute(
                "UPDATE calls SET answer = ?, disposition = ? WHERE id = ? AND answer IS NULL",
                args,
            ),
            label=f"call {call_id} answer",
        )
        self.event(call_id, "answer", now=now)

    def is_answered(self, call_id: str) -> bool:
        """True once `answered` was noted for this call (in this run, before its end)."""
        return call_id in self._answered

    def end(
        self,
        call_id: str,
        *,
        disposition: str | None = None,
        cause: int | None = None,
        hangup_by: str = "",
        now: float | None = None,
        then: Callable[[], None] | None = None,
        **fields: Any,
    ) -> None:
        """Close the call: end time, duration, billable seconds and why it ended; `then()` runs
        once the closed row is committed (it is queued behind a locked database)."""
        self._answered.discard(call_id)
        end_ts = time.time() if now is None else now

        def close(db: sqlite_utils.Database) -> None:
            _close(db, call_id, end_ts, disposition, cause, hangup_by, fields)
            if self.sealer is not None:
                self.sealer.seal(db, call_id)

        def after(ok: bool) -> None:
            self._note_head(ok)
            if ok and then is not None:
                then()

        self.writer.submit(close, label=f"call {call_id} end", after=after)

    def recording(
        self, call_id: str | None, path: str, *, kind: str = "call", seconds: float = 0.0
    ) -> None:
        """Note a recording (on the call if its row exists, else unattached), soon."""
        created = iso()

        def insert(db: sqlite_utils.Database) -> int:
            return _insert_recording(db, call_id, path, kind, seconds, created)

        self.writer.submit(insert, label=f"recording {path}")

    async def recording_committed(
        self, call_id: str | None, path: str, *, kind: str = "call", seconds: float = 0.0,
        wait_s: float = 5.0,
    ) -> int:
        """Note a recording and return its row id once committed (`DatabaseBusy` after wait_s)."""
        created = iso()

        def insert(db: sqlite_utils.Database) -> int:
            return _insert_recording(db, call_id, path, kind, seconds, created)

        return int(await self.writer.commit(insert, wait_s=wait_s, label=f"recording {path}"))

    def fail_open(self, call_ids: Iterable[str] | None = None, reason: str = "daemon-restart") -> int:
        """Close calls left open: all calls without an end (answered or not), or the given ones.

        An unanswered call ends FAILED; an answered one keeps ANSWERED (the caller was served
        until then). Both get `hangup_by = reason`, cause 500, and end at the last moment the
        call is known to have been alive (its last event), not at the restart: a daemon down for
        an hour must not bill an hour. A call that entered an ACD queue also gets the queue row
        that closes it ('completed' if an agent answered, else 'left_queue'), with the reason,
        so the reports stop counting it as waiting or talking.
        """
        if call_ids is None:
            ids = [r[0] for r in self.db.execute(
                "SELECT id FROM calls WHERE \"end\" IS NULL"
            ).fetchall()]
        else:
            ids = list(call_ids)
        for call_id in ids:
            self._answered.discard(call_id)

            def close(db: sqlite_utils.Database, call_id: str = call_id) -> None:
                last = db.execute(
                    "SELECT max(at) FROM call_events WHERE call_id = ?", [call_id]
                ).fetchone()[0]
                end_ts = parse(last) if last else time.time()
                _close(db, call_id, end_ts, None, 500, reason, {}, failed_unless_answered=True)
                _close_queue(db, call_id, end_ts, reason)
                if self.sealer is not None:
                    self.sealer.seal(db, call_id)

            self.writer.submit(close, label=f"call {call_id} close ({reason})",
                               after=self._note_head)
        return len(ids)

    def _note_head(self, ok: bool) -> None:
        if ok and self.sealer is not None:
            self.sealer.note_head(self.db)

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


def _close(
    db: sqlite_utils.Database,
    call_id: str,
    end_ts: float,
    disposition: str | None,
    cause: int | None,
    hangup_by: str,
    fields: dict[str, Any],
    *,
    failed_unless_answered: bool = False,
) -> None:
    row = db.execute(
        'SELECT start, answer, disposition, "end" FROM calls WHERE id = ?', [call_id]
    ).fetchone()
    if row is None:
        return
    start, answer, current, ended = row
    if ended is not None:
        return  # a call ends once (and may be sealed): a second end changes nothing
    if failed_unless_answered:
        disposition = ANSWERED if answer else FAILED
    elif disposition is None:
        disposition = current if current != IN_PROGRESS else NO_ANSWER
    end_ts = max(end_ts, parse(start))
    values = dict(
        end=iso(end_ts),
        duration=round(end_ts - parse(start), 3),
        billsec=round(max(0.0, end_ts - parse(answer)), 3) if answer else 0.0,
        disposition=disposition,
        hangup_cause=cause,
        hangup_by=hangup_by,
        **{k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v
           for k, v in fields.items()},
    )
    cols = ", ".join(f'"{k}" = ?' for k in values)
    db.execute(f"UPDATE calls SET {cols} WHERE id = ?", [*values.values(), call_id])
    db.execute(
        "INSERT INTO call_events (call_id, at, kind, data) VALUES (?, ?, ?, ?)",
        [call_id, iso(end_ts), "end", json.dumps(
            {"disposition": disposition, "cause": cause, "by": hangup_by}, ensure_ascii=False)],
    )


# Queue rows after which a call is no longer in an ACD queue or with an agent.
_QUEUE_ENDS = ("abandoned", "left_queue", "max_wait", "callback_requested", "completed")


def _close_queue(db: sqlite_utils.Database, call_id: str, end_ts: float, reason: str) -> None:
    last = db.execute(
        "SELECT event, queue, agent FROM queue_events WHERE call_id = ? AND event IN "
        "('enter_queue', 'answered', 'abandoned', 'left_queue', 'max_wait', "
        "'callback_requested', 'completed') ORDER BY id DESC LIMIT 1",
        [call_id],
    ).fetchone()
    if last is None or last[0] in _QUEUE_ENDS:
        return
    event, queue, agent = last
    kind = "completed" if event == "answered" else "left_queue"
    db.execute(
        "INSERT INTO queue_events (at, queue, call_id, agent, event, data) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [iso(end_ts), queue or "", call_id, agent if kind == "completed" else None, kind,
         json.dumps({"reason": reason, "by": "acd"})],
    )


def _insert_recording(
    db: sqlite_utils.Database, call_id: str | None, path: str, kind: str, seconds: float,
    created: str,
) -> int:
    if call_id is not None and db.execute(
        "SELECT 1 FROM calls WHERE id = ?", [call_id]
    ).fetchone() is None:
        call_id = None  # a recording without its call row is kept, unattached
    cur = db.execute(
        "INSERT INTO recordings (call_id, path, kind, seconds, created_at) VALUES (?, ?, ?, ?, ?)",
        [call_id, path, kind, seconds, created],
    )
    return int(cur.lastrowid or 0)
