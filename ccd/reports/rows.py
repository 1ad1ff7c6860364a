"""The events reports are computed from: `queue_events` and `agent_state_log` rows, typed.

The ACD core's records (`ccd.acd.model.AcdRecord`) become rows as the store writes them:

- every record but `agent_state` is a `queue_events` row: `event` is the record kind's value
  (`enter_queue`, `answered`, `abandoned`, ...), `data` the record's details as JSON (plus `by`);
- an `agent_state` record is an `agent_state_log` row: `state` is details["to"], `reason` the
  not-ready reason, `by_user` who caused it.

`at` is stored as ISO 8601 UTC text (ccd.timefmt); here it is always Unix seconds. Parsing is
lenient about what it does not need (a missing detail, `at` as a number) so a report never fails
on one odd row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ccd.timefmt import iso, parse

AGENT_STATE_KIND = "agent_state"


@dataclass(frozen=True, slots=True)
class QueueEvent:
    """One `queue_events` row. id: the row id (0 before it is stored); at: Unix seconds; kind:
    the record kind (`event` column); queue: '' when the record has none; data: details."""

    at: float
    kind: str
    queue: str = ""
    call_id: str | None = None
    agent: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    id: int = 0


@dataclass(frozen=True, slots=True)
class AgentStateChange:
    """One `agent_state_log` row: `agent` entered `state` (an AgentState value) at `at`."""

    at: float
    agent: str
    state: str
    reason: str = ""
    station: str | None = None
    call_id: str | None = None
    by: str | None = None
    id: int = 0


Event = QueueEvent | AgentStateChange


def _seconds(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    return parse(str(value))


def _data(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    if not value:
        return {}
    try:
        loaded = json.loads(value)
    except (TypeError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def queue_event_from_row(row: Mapping[str, Any]) -> QueueEvent:
    """A `queue_events` row (as a dict: id, at, queue, call_id, agent, event, data)."""
    return QueueEvent(
        at=_seconds(row["at"]),
        kind=str(row.get("event") or row.get("kind") or ""),
        queue=str(row.get("queue") or ""),
        call_id=row.get("call_id"),
        agent=row.get("agent"),
        data=_data(row.get("data", row.get("details"))),
        id=int(row.get("id") or 0),
    )


def agent_state_from_row(row: Mapping[str, Any]) -> AgentStateChange:
    """An `agent_state_log` row (id, at, agent, state, reason, station, call_id, by_user)."""
    return AgentStateChange(
        at=_seconds(row["at"]),
        agent=str(row["agent"]),
        state=str(row["state"]),
        reason=str(row.get("reason") or ""),
        station=row.get("station"),
        call_id=row.get("call_id"),
        by=row.get("by_user", row.get("by")),
        id=int(row.get("id") or 0),
    )


def from_record(record: Any, wall_at: float) -> Event:
    """The event an ACD core record stands for. record: an `AcdRecord`; wall_at: its `at` as
    Unix seconds (the core runs on the service's clock; `AcdService.wall_time` converts)."""
    kind = record.kind.value if hasattr(record.kind, "value") else str(record.kind)
    details = dict(record.details)
    if kind == AGENT_STATE_KIND:
        return AgentStateChange(
            at=wall_at,
            agent=str(record.agent),
            state=str(details.get("to", "")),
            reason=str(details.get("reason") or ""),
            station=details.get("station"),  # type: ignore[arg-type]
            call_id=record.call_id,
            by=None if record.by == "acd" else record.by,
        )
    return QueueEvent(
        at=wall_at,
        kind=kind,
        queue=record.queue or "",
        call_id=record.call_id,
        agent=record.agent,
        data={**details, "by": record.by},
    )


def to_row(event: Event) -> tuple[str, dict[str, Any]]:
    """The table and the row to insert for `event` (the inverse of the two parsers above)."""
    if isinstance(event, AgentStateChange):
        return "agent_state_log", {
            "at": iso(event.at),
            "agent": event.agent,
            "state": event.state,
            "reason": event.reason,
            "station": event.station,
            "call_id": event.call_id,
            "by_user": event.by,
        }
    return "queue_events", {
        "at": iso(event.at),
        "queue": event.queue,
        "call_id": event.call_id,
        "agent": event.agent,
        "event": event.kind,
        "data": json.dumps(dict(event.data), ensure_ascii=False, default=str),
    }
