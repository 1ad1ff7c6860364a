"""Batch reports: a whole day's events through the same Aggregator the wallboard uses.

No I/O here: the caller reads the rows (`ccd.reports.source.read_events`) and passes them in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ccd.reports.aggregator import Aggregator, DayReport
from ccd.reports.intervals import Calendar
from ccd.reports.rows import AgentStateChange, Event, QueueEvent


def in_order(
    queue_events: Iterable[QueueEvent], agent_states: Iterable[AgentStateChange]
) -> list[Event]:
    """Both streams merged by time; at the same instant an agent's state change comes first
    (the ACD core changes the agent's state before it records what the change was for)."""
    tagged: list[tuple[float, int, int, Event]] = [
        (e.at, 0, e.id, e) for e in agent_states
    ]
    tagged.extend((e.at, 1, e.id, e) for e in queue_events)
    tagged.sort(key=lambda t: t[:3])
    return [t[3] for t in tagged]


def day_report(
    day: str,
    events: Iterable[Event],
    *,
    calendar: Calendar,
    short_abandon_s: float,
    targets: Mapping[str, float] | None = None,
    default_target_s: float = 20.0,
) -> DayReport:
    """The report of `day` ('YYYY-MM-DD', local) from `events` in time order.

    events: the day's events and some before it (calls offered the evening before are then
    known when they end after midnight); calendar: time zone and interval length;
    short_abandon_s, targets, default_target_s: as for `Aggregator`.
    """
    agg = Aggregator(
        calendar,
        short_abandon_s=short_abandon_s,
        targets=dict(targets or {}),
        default_target_s=default_target_s,
    )
    agg.feed(events)
    return agg.day_report(day)
