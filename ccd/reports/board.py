"""What the wallboard receives: a full snapshot, or a delta against the previous push.

These structs are the wire format of `wallboard.snapshot` and of topic 'wallboard'; the TUI
decodes into the same classes (`decode`). Building them is pure: statistics, names, help
requests and work-order counts in, structs out.

Deltas replace whole parts (the headline, the queue table, the alerts, each changed agent's
row), never increments, so applying a delta to a snapshot that is already a little newer than
its `base` still ends in the right state. A board that misses a push (a `base` it does not
have) waits for the next full snapshot, which the publisher sends every `resync_s`, or asks for
one with `wallboard.snapshot`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import msgspec

from ccd.reports.aggregator import AgentCounts, BoardStatistics
from ccd.reports.metrics import Figures
from ccd.reports.settings import Thresholds, WallboardSettings
from ccd.reports.source import QueueInfo, WorkOrderAlerts

Severity = Literal["warn", "alarm"]


class Headline(msgspec.Struct):
    """The big numbers: callers waiting and the longest wait now; today and this interval."""

    waiting: int
    longest_wait_s: float
    today: Figures
    current: Figures
    agents: AgentCounts


class QueueRow(msgspec.Struct):
    queue: str
    name: str
    target_s: float
    waiting: int
    longest_wait_s: float
    today: Figures
    current: Figures


class AgentRow(msgspec.Struct):
    """One agent. `since`: Unix time the state began (the board counts the time in state);
    state_seconds: today's seconds in the states already left."""

    agent: str
    name: str
    number: str
    state: str
    reason: str
    since: float
    call_id: str | None
    caller: str
    queue: str
    station: str | None
    calls_today: int
    state_seconds: dict[str, float]


class Alert(msgspec.Struct):
    """kind: service_level | long_wait | help | work_order_overdue | work_order_escalated |
    surge (the IVR is in surge mode; value: waiting callers per staffed agent, since: when).
    subject: the queue, agent or '' (all); value: the number behind it; ref: a help request id."""

    kind: str
    severity: Severity
    subject: str = ""
    value: float | None = None
    count: int = 0
    since: float | None = None
    ref: int | None = None
    text: str = ""
    items: list[str] = msgspec.field(default_factory=list)


class TrendRow(msgspec.Struct):
    index: int
    label: str
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    service_level: float | None
    asa_s: float | None
    aht_s: float | None
    agents_logged_in: float


class Wallboard(msgspec.Struct, tag="snapshot", tag_field="kind"):
    """A full snapshot. seq: the publisher's push counter (0 when computed on demand without a
    publisher); live: the daemon's live aggregator made it (False: a one-off batch)."""

    seq: int
    at: float
    day: str
    interval: int
    interval_label: str
    interval_minutes: int
    headline: Headline
    queues: list[QueueRow]
    agents: list[AgentRow]
    alerts: list[Alert]
    trend: list[TrendRow]
    thresholds: Thresholds
    state_limits: dict[str, float]
    stale_after_s: float
    high_water: dict[str, int]
    live: bool = True
    short_abandon_s: float = 5.0


class WallboardDelta(msgspec.Struct, tag="delta", tag_field="kind"):
    """Changes from push `base` to push `seq`: whole parts replaced; agents by row."""

    seq: int
    base: int
    at: float
    day: str
    interval: int
    interval_label: str
    headline: Headline
    queues: list[QueueRow]
    alerts: list[Alert]
    agents: list[AgentRow]
    removed_agents: list[str]
    trend: list[TrendRow] | None
    high_water: dict[str, int]


Push = Wallboard | WallboardDelta


def decode(data: Any) -> Push:
    """A snapshot or delta from its JSON-decoded form (an event's data or a method result)."""
    return msgspec.convert(data, Push)


def alerts(
    stats: BoardStatistics,
    *,
    thresholds: Thresholds,
    help_requests: Sequence[Mapping[str, Any]] = (),
    work_orders: WorkOrderAlerts | None = None,
    names: Mapping[str, Mapping[str, str]] | None = None,
) -> list[Alert]:
    """Alerts, worst first.

    Service level: the current interval's, or today's while the interval has no answered or
    abandoned call yet; below the goal it is a warning, below the alarm level an alarm.
    Long wait: callers waiting longer than thresholds.longest_wait_alarm_s, one alert per queue.
    help_requests: open requests (id, agent, raised_at, message); work_orders: the counts.
    """
    out: list[Alert] = []
    goal, alarm = thresholds.service_level_goal, thresholds.service_level_alarm
    for q in stats.queues:
        basis = q.current if q.current.service_level is not None else q.today
        level = basis.service_level
        if level is not None and level < goal:
            out.append(Alert("service_level", "alarm" if level < alarm else "warn", q.queue,
                             level, basis.answered + basis.abandoned))
    limit = thresholds.longest_wait_alarm_s
    over: dict[str, list[float]] = {}
    for queue, wait in stats.waits:
        if wait > limit:
            over.setdefault(queue, []).append(wait)
    for queue, waits in sorted(over.items()):
        out.append(Alert("long_wait", "alarm", queue, max(waits), len(waits)))
    names = names or {}
    for h in help_requests:
        agent = str(h["agent"])
        out.append(
            Alert("help", "alarm", agent, None, 1, _ts(h.get("raised_at")), int(h["id"]),
                  str(h.get("message") or ""), [names.get(agent, {}).get("name", agent)])
        )
    if work_orders is not None and work_orders.escalated:
        out.append(Alert("work_order_escalated", "alarm", "", None, work_orders.escalated,
                         items=list(work_orders.escalated_numbers)))
    if work_orders is not None and work_orders.overdue:
        out.append(Alert("work_order_overdue", "warn", "", None, work_orders.overdue,
                         items=list(work_orders.overdue_numbers)))
    order = {"alarm": 0, "warn": 1}
    out.sort(key=lambda a: order[a.severity])
    return out


def _ts(value: Any) -> float | None:
    from ccd.timefmt import parse

    if value is None:
        return None
    return float(value) if isinstance(value, (int, float)) else parse(str(value))


def build(
    stats: BoardStatistics,
    *,
    settings: WallboardSettings,
    queues: Mapping[str, QueueInfo],
    names: Mapping[str, Mapping[str, str]],
    alert_list: list[Alert],
    seq: int = 0,
    high_water: Mapping[str, int] | None = None,
    live: bool = True,
) -> Wallboard:
    """The snapshot for `stats`. queues: display names; names: username -> {name, number}."""
    return Wallboard(
        seq=seq,
        at=stats.at,
        day=stats.day,
        interval=stats.interval,
        interval_label=stats.interval_label,
        interval_minutes=settings.interval_minutes,
        headline=Headline(
            stats.waiting, stats.longest_wait_s, stats.today, stats.current, stats.agent_counts
        ),
        queues=[
            QueueRow(
                q.queue,
                queues[q.queue].display_name if q.queue in queues else q.queue,
                q.target_s,
                q.waiting,
                q.longest_wait_s,
                q.today,
                q.current,
            )
            for q in stats.queues
        ],
        agents=[
            AgentRow(
                a.agent,
                names.get(a.agent, {}).get("name", a.agent),
                names.get(a.agent, {}).get("number", ""),
                a.state,
                a.reason,
                a.since,
                a.call_id,
                a.caller,
                a.queue,
                a.station,
                a.calls_today,
                dict(a.state_seconds),
            )
            for a in stats.agents
        ],
        alerts=alert_list,
        trend=[
            TrendRow(
                p.index,
                p.label,
                p.figures.offered,
                p.figures.answered,
                p.figures.abandoned,
                p.figures.short_abandoned,
                p.figures.service_level,
                p.figures.asa_s,
                p.figures.aht_s,
                round(sum(v for s, v in p.agents.items() if s != "logged_out"), 2),
            )
            for p in stats.trend
        ],
        thresholds=settings.thresholds,
        state_limits=dict(settings.state_limits),
        stale_after_s=settings.stale_after_s,
        high_water=dict(high_water or {}),
        live=live,
        short_abandon_s=settings.short_abandon_s,
    )


def delta(old: Wallboard, new: Wallboard) -> WallboardDelta:
    """What changed from `old` to `new` (both full snapshots; `new.seq` is the delta's seq)."""
    before = {a.agent: a for a in old.agents}
    changed = [a for a in new.agents if before.get(a.agent) != a]
    present = {a.agent for a in new.agents}
    return WallboardDelta(
        seq=new.seq,
        base=old.seq,
        at=new.at,
        day=new.day,
        interval=new.interval,
        interval_label=new.interval_label,
        headline=new.headline,
        queues=new.queues,
        alerts=new.alerts,
        agents=changed,
        removed_agents=sorted(set(before) - present),
        trend=None if new.trend == old.trend else new.trend,
        high_water=new.high_water,
    )


def apply(board: Wallboard, push: Push) -> Wallboard:
    """The board after `push` (a snapshot replaces it; a delta updates it in place of a copy)."""
    if isinstance(push, Wallboard):
        return push
    agents = {a.agent: a for a in board.agents}
    for name in push.removed_agents:
        agents.pop(name, None)
    for row in push.agents:
        agents[row.agent] = row
    return msgspec.structs.replace(
        board,
        seq=push.seq,
        at=push.at,
        day=push.day,
        interval=push.interval,
        interval_label=push.interval_label,
        headline=push.headline,
        queues=push.queues,
        alerts=push.alerts,
        agents=sorted(agents.values(), key=lambda a: a.agent),
        trend=board.trend if push.trend is None else push.trend,
        high_water=push.high_water,
    )


def empty(settings: WallboardSettings, at: float, day: str, label: str = "00:00") -> Wallboard:
    """A board with nothing on it (before the first data arrives)."""
    from ccd.reports.metrics import EMPTY

    return Wallboard(
        seq=0, at=at, day=day, interval=0, interval_label=label,
        interval_minutes=settings.interval_minutes,
        headline=Headline(0, 0.0, EMPTY, EMPTY, AgentCounts()),
        queues=[], agents=[], alerts=[], trend=[], thresholds=settings.thresholds,
        state_limits=dict(settings.state_limits), stale_after_s=settings.stale_after_s,
        high_water={}, live=False, short_abandon_s=settings.short_abandon_s,
    )

