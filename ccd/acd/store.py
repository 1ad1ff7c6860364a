"""Where the ACD's records go: SQLite rows, the call record, and pushed events.

`AcdStore.store(records)` is the service's `RecordSink`: it never waits. It queues the records for
its task (`AcdStore.run`), which hands whatever is pending to the daemon's write queue as one op
(db/writer.py: in order with the call records, retried while another process holds the lock)
and publishes each record on the broker once committed (so whoever reads rows on an event finds
them):

- agent state changes -> `agent_state_log` (state, reason, station, call, who caused it);
- every other record -> `queue_events` (event = the record kind, data = its details as JSON);
- the call's `calls` row: queue (on entering), agent and station and wait (on answer), wait
  (on abandon), talk and hold time (on completion), wrap-up time (when wrap-up ends).

`await store.flush()` returns once everything stored so far is committed: API methods call it
before they reply, so what they acknowledged survives a crash.

`store.log_out_stale_agents()` is for start-up: a new core has everyone logged out, so agents
whose last `agent_state_log` row says otherwise (the daemon stopped or crashed under them) get a
'logged_out' row, and reports stop counting them as logged in.

Topics: 'acd.queue' (queue and call records), 'acd.agent' (agent state changes) and
'agent.<username>' (everything about that agent, for their console). Event data is the record as
a dict with `at` in Unix seconds.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import sqlite_utils
import trio

from ccd.acd import model as m
from ccd.timefmt import iso
from db.writer import Writer

log = logging.getLogger("ccd.acd")

R = m.RecordKind
QUEUE_TOPIC = "acd.queue"
AGENT_TOPIC = "acd.agent"


def agent_topic(agent: str) -> str:
    """'agent.<username>' as a valid topic name (lower case; other characters become '-')."""
    return "agent." + re.sub(r"[^a-z0-9_.-]", "-", agent.lower())


class Publisher(Protocol):
    """What the store publishes to: `publish(topic, data)` that never waits (the API broker)."""

    def publish(self, topic: str, data: Any = None) -> int: ...


# Each agent's last state row, without reading the whole log: the agents are walked through the
# (agent, at) index one name at a time, and each one's newest row is the index's last entry.
# (A GROUP BY over the log read every row: 0.7 s at start-up for 2 million rows, 10 ms so.)
LAST_STATES_SQL = """
WITH RECURSIVE agents(name) AS (
    SELECT MIN(agent) FROM agent_state_log
    UNION ALL
    SELECT (SELECT MIN(agent) FROM agent_state_log WHERE agent > name) FROM agents
    WHERE name IS NOT NULL
)
SELECT l.agent, l.state, l.station FROM agents
JOIN agent_state_log l ON l.id = (SELECT id FROM agent_state_log WHERE agent = agents.name
                                  ORDER BY at DESC, id DESC LIMIT 1)
WHERE l.state != ? ORDER BY l.agent
"""


class AcdStore:
    """The ACD's RecordSink. See the module docstring.

    db: the daemon's database (autocommit connection); broker: where events go (None: nowhere);
    wall_time: turns a record's `at` (the service's trio clock) into Unix seconds;
    station_of: the station an agent is logged in at now (the core's `agent_station`).
    """

    def __init__(
        self,
        db: sqlite_utils.Database,
        broker: Publisher | None = None,
        wall_time: Callable[[float], float] = lambda at: at,
        station_of: Callable[[str], str | None] = lambda agent: None,
    ) -> None:
        self.db = db
        self.writer = Writer(db)  # the daemon's shared writer replaces it (AcdRuntime.share_log)
        self.broker = broker
        self.wall_time = wall_time
        self.station_of = station_of
        self._pending: list[tuple[m.AcdRecord, str | None]] = []
        self._wake = trio.Event()
        self._written = 0  # records committed so far
        self._queued = 0  # records taken so far
        self._committed = trio.Event()
        self._stations: dict[tuple[str, str], str] = {}  # (agent, call) -> station offered on
        self._logged_in_at: dict[str, str] = {}  # agent -> station, as of the last record taken
        self.rows_written = 0
        self.transactions = 0
        self.failures = 0

    # ------------------------------------------------------------ RecordSink

    def store(self, records: Sequence[m.AcdRecord]) -> None:
        """Take records without waiting: they are written, then published, soon."""
        for record in records:
            self._pending.append((record, self._station(record)))
        self._queued += len(records)
        self._wake.set()

    # ------------------------------------------------------------ writer

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Write pending records until cancelled; on the way out, write what is left."""
        task_status.started()
        try:
            while True:
                await self._wake.wait()
                self._wake = trio.Event()
                self.write_pending()
                await trio.lowlevel.checkpoint()  # let the service run between batches
        finally:
            self.write_pending()

    def write_pending(self) -> int:
        """Hand every pending record to the writer as one op; returns how many.

        The writer (db/writer.py) commits it in order with the call records, retrying while
        another process holds the lock; the records are published once committed. A fault of
        the op itself (a bug, disk full) is contained there: logged, counted, and the ACD
        carries on.
        """
        batch, self._pending = self._pending, []
        if not batch:
            return 0

        def write(db: sqlite_utils.Database) -> None:
            for record, station in batch:
                self._write(record, station)

        def settled(ok: bool) -> None:
            self.transactions += 1
            if not ok:
                self.failures += 1
            for record, station in batch:
                self._publish(record, station)
            self._written += len(batch)
            self._committed.set()
            self._committed = trio.Event()

        self.writer.submit(write, label=f"{len(batch)} ACD records", after=settled)
        return len(batch)

    async def flush(self) -> None:
        """Return once every record stored before this call is committed."""
        target = self._queued
        while self._written < target:
            await self._committed.wait()

    # ------------------------------------------------------------ start-up

    def log_out_stale_agents(self, reason: str, now: float | None = None) -> list[str]:
        """Write a 'logged_out' row for every agent whose last state row is another state.

        reason: the rows' reason (e.g. 'restart'); now: their time, Unix seconds (default: the
        wall clock). The station is the one of that last row. Each row is published as an
        'agent_state' record from the old state. Returns the agents, by name.
        """
        at = time.time() if now is None else now
        last = self.db.execute(LAST_STATES_SQL, [m.AgentState.LOGGED_OUT.value]).fetchall()
        if not last:
            return []

        def write(db: sqlite_utils.Database) -> None:
            for agent, _, station in last:
                db.execute(
                    "INSERT INTO agent_state_log (at, agent, state, reason, station, call_id,"
                    " by_user) VALUES (?, ?, ?, ?, ?, NULL, NULL)",
                    [iso(at), agent, m.AgentState.LOGGED_OUT.value, reason, station],
                )

        self.writer.submit(write, label="log out stale agents")
        self.rows_written += len(last)
        for agent, state, station in last:
            details = {"from": state, "to": m.AgentState.LOGGED_OUT.value, "reason": reason,
                       "input": reason}
            record = m.AcdRecord(at, R.AGENT_STATE, None, None, agent, "acd", details)
            self._publish(record, station, wall=False)
        return [agent for agent, _, _ in last]

    # ------------------------------------------------------------ rows

    def _station(self, r: m.AcdRecord) -> str | None:
        """The station of an agent state record: where the agent is (or was, for a logout)."""
        if r.kind is not R.AGENT_STATE or r.agent is None:
            return None
        if r.details.get("to") == m.AgentState.LOGGED_OUT.value:
            return self._logged_in_at.pop(r.agent, None)
        station = self.station_of(r.agent)
        if station is not None:
            self._logged_in_at[r.agent] = station
        return station or self._logged_in_at.get(r.agent)

    def _write(self, r: m.AcdRecord, station: str | None) -> None:
        at = iso(self.wall_time(r.at))
        details = dict(r.details)
        if r.kind is R.AGENT_STATE:
            self.db.execute(
                "INSERT INTO agent_state_log (at, agent, state, reason, station, call_id, by_user)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    at,
                    r.agent,
                    details["to"],
                    details.get("reason") or "",
                    station,
                    r.call_id,
                    None if r.by == "acd" else r.by,
                ],
            )
            self.rows_written += 1
            return
        data = {**details, "by": r.by}
        self.db.execute(
            "INSERT INTO queue_events (at, queue, call_id, agent, event, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [at, r.queue or "", r.call_id, r.agent, r.kind.value,
             json.dumps(data, ensure_ascii=False, default=str)],
        )
        self.rows_written += 1
        if r.call_id is not None:
            self._update_call(r, details)

    def _update_call(self, r: m.AcdRecord, d: dict[str, Any]) -> None:
        fields: dict[str, Any] = {}
        if r.kind is R.ENTER_QUEUE:
            fields["queue"] = r.queue
        elif r.kind is R.OFFERED and r.agent is not None:
            self._stations[(r.agent, r.call_id or "")] = str(d.get("station") or "")
        elif r.kind is R.ANSWERED:
            station = self._stations.pop((r.agent or "", r.call_id or ""), None)
            fields.update(queue=r.queue, agent=r.agent, wait_s=_round(d.get("wait_s")))
            if station:
                fields["station"] = station
        elif r.kind in (R.RING_NO_ANSWER, R.STATION_UNREACHABLE, R.OFFER_WITHDRAWN):
            self._stations.pop((r.agent or "", r.call_id or ""), None)
        elif r.kind in (R.ABANDONED, R.MAX_WAIT, R.LEFT_QUEUE, R.CALLBACK_REQUESTED):
            fields.update(queue=r.queue, wait_s=_round(d.get("wait_s")))
        elif r.kind is R.COMPLETED:
            fields.update(talk_s=_round(d.get("talk_s")), hold_s=_round(d.get("hold_s")))
        elif r.kind is R.TRANSFERRED and d.get("to_agent") and d.get("mode") == "consulted":
            fields["agent"] = d["to_agent"]
        elif r.kind is R.WRAP_UP_END:
            fields["wrap_s"] = _round(d.get("wrap_up_s"))
        if fields:
            cols = ", ".join(f'"{k}" = ?' for k in fields)
            self.db.execute(f"UPDATE calls SET {cols} WHERE id = ?", [*fields.values(), r.call_id])

    # ------------------------------------------------------------ events

    def _publish(self, r: m.AcdRecord, station: str | None, wall: bool = True) -> None:
        """Publish a record; wall=False: its `at` is Unix seconds already."""
        if self.broker is None:
            return
        data: dict[str, Any] = {
            "at": round(self.wall_time(r.at) if wall else r.at, 3),
            "kind": r.kind.value,
            "call_id": r.call_id,
            "queue": r.queue,
            "agent": r.agent,
            "by": r.by,
            "details": dict(r.details),
        }
        if station is not None:
            data["station"] = station
        try:
            if r.kind is R.AGENT_STATE or r.kind is R.NOT_READY_AFTER_CALL:
                self.broker.publish(AGENT_TOPIC, data)
            else:
                self.broker.publish(QUEUE_TOPIC, data)
            if r.agent is not None:
                self.broker.publish(agent_topic(r.agent), data)
        except Exception:
            # Contained: an event that cannot be sent must not stop the call it is about.
            log.exception("could not publish ACD record %s", r.kind.value)


def _round(value: object) -> float | None:
    return round(float(value), 3) if isinstance(value, int | float) else None
