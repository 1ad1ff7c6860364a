# Everything that turns ACD events into report numbers lives in this module: which offer a later
# event belongs to, which interval it is counted in, what counts as answered within target or as
# a short abandon, and how long agents spend in each state. It does no I/O and reads no clock:
# events come in (already in time order), `now` is an argument.
"""The incremental aggregator: feed it events as they are stored, ask for statistics any time.

    agg = Aggregator(calendar, short_abandon_s=5, targets={"general": 20})
    agg.feed(events)                       # QueueEvent / AgentStateChange, oldest first
    stats = agg.statistics(now)            # today and the current interval, per queue and overall
    report = agg.day_report("2026-11-23")  # every interval of one day (batch reports)

The daemon keeps one Aggregator and feeds it the rows written since the last look, so an event
costs a few dictionary updates and never a rescan of the day; `ccd.reports.batch` feeds a fresh
one a whole day of rows. Both therefore give the same numbers. See `ccd.reports.metrics` for the
definitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ccd.reports.intervals import Calendar, IntervalKey
from ccd.reports.metrics import Counts, figures
from ccd.reports.records import (
    AgentCounts,
    AgentFigures,
    BoardStatistics,
    DayReport,
    IntervalLine,
    QueueFigures,
    TrendPoint,
)
from ccd.reports.rows import AgentStateChange, Event, QueueEvent

__all__ = [
    "AGENT_STATES", "AgentCounts", "AgentFigures", "Aggregator", "BoardStatistics", "DayReport",
    "IntervalLine", "QueueFigures", "TrendPoint",
]

LOGGED_OUT = "logged_out"
AGENT_STATES: tuple[str, ...] = (
    "ready", "ringing", "talking", "on_hold", "wrap_up", "not_ready", LOGGED_OUT,
)
# States that end any link between the agent and a caller.
_IDLE = frozenset({"ready", "not_ready", LOGGED_OUT})


@dataclass(slots=True)
class _Offer:
    queue: str
    entered: float
    counts: Counts
    answered: bool = False
    closed: bool = False


@dataclass(slots=True)
class _Call:
    number: str
    queue: str  # where the caller is now (overflow moves them)
    offer: _Offer
    waiting_since: float | None  # None while connected to an agent


@dataclass(slots=True)
class _Segment:
    """One agent's handling of one call: from their answer to the end of their wrap-up."""

    offer: _Offer
    started: float
    hold_s: float = 0.0
    hold_since: float | None = None
    talk_s: float = 0.0
    wrapping_since: float | None = None


@dataclass(slots=True)
class _Agent:
    state: str
    reason: str
    since: float
    call_id: str | None = None
    caller: str = ""
    queue: str = ""
    station: str | None = None
    last_seen_day: str = ""


@dataclass
class Aggregator:
    """See the module docstring.

    calendar: days and intervals in the site's time zone. short_abandon_s: abandons quicker
    than this are short abandons. targets: queue -> answered-within target T in seconds.
    default_target_s: T for queues not in `targets`.
    """

    calendar: Calendar
    short_abandon_s: float = 5.0
    targets: dict[str, float] = field(default_factory=dict)
    default_target_s: float = 20.0
    version: int = 0  # bumped by every event that changed anything
    ignored: int = 0  # events about calls this aggregator never saw enter (before its lookback)
    _buckets: dict[str, dict[tuple[int, str], Counts]] = field(default_factory=dict)
    _calls: dict[str, _Call] = field(default_factory=dict)
    _segments: dict[str, _Segment] = field(default_factory=dict)
    _agents: dict[str, _Agent] = field(default_factory=dict)
    _agent_seconds: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    _agent_calls: dict[str, dict[str, int]] = field(default_factory=dict)
    _state_seconds: dict[IntervalKey, dict[str, float]] = field(default_factory=dict)

    # ------------------------------------------------------------ input

    def target(self, queue: str) -> float:
        return self.targets.get(queue, self.default_target_s)

    def feed(self, events: Iterable[Event]) -> None:
        """Take events in time order (a QueueEvent or AgentStateChange each)."""
        for event in events:
            if isinstance(event, AgentStateChange):
                self._agent_state(event)
            else:
                handler = _HANDLERS.get(event.kind)
                if handler is not None:
                    handler(self, event)
            self.version += 1

    def _bucket(self, at: float, queue: str) -> Counts:
        day, index = self.calendar.interval(at)
        by_key = self._buckets.setdefault(day, {})
        counts = by_key.get((index, queue))
        if counts is None:
            counts = by_key[(index, queue)] = Counts()
        return counts

    def _call(self, event: QueueEvent) -> _Call | None:
        call = self._calls.get(event.call_id or "")
        if call is None:
            self.ignored += 1
        return call

    # ------------------------------------------------------------ queue events

    def _enter(self, ev: QueueEvent) -> None:
        if ev.call_id is None:
            return
        counts = self._bucket(ev.at, ev.queue)
        counts.offered += 1
        offer = _Offer(ev.queue, ev.at, counts)
        old = self._calls.get(ev.call_id)
        number = str(ev.data.get("number") or (old.number if old else ""))
        self._calls[ev.call_id] = _Call(number, ev.queue, offer, ev.at)

    def _offered(self, ev: QueueEvent) -> None:
        call = self._calls.get(ev.call_id or "")
        agent = self._agents.get(ev.agent or "")
        if call is not None and agent is not None:
            agent.caller, agent.queue = call.number, call.queue

    def _answered(self, ev: QueueEvent) -> None:
        call = self._call(ev)
        if call is None or ev.agent is None:
            return
        offer = call.offer
        if not offer.answered and not offer.closed:
            offer.answered = True
            wait = _seconds(ev.data.get("wait_s"), ev.at - offer.entered)
            c = offer.counts
            c.answered += 1
            c.wait_answered_s += wait
            c.longest_answer_wait_s = max(c.longest_answer_wait_s, wait)
            if wait <= self.target(offer.queue):
                c.answered_within += 1
        call.waiting_since = None
        self._start_segment(ev.agent, call, ev.at)

    def _start_segment(self, agent_id: str, call: _Call, at: float) -> None:
        self._segments[agent_id] = _Segment(call.offer, at)
        day = self.calendar.day(at)
        per_agent = self._agent_calls.setdefault(day, {})
        per_agent[agent_id] = per_agent.get(agent_id, 0) + 1
        agent = self._agents.get(agent_id)
        if agent is not None:
            agent.caller, agent.queue = call.number, call.queue

    def _close(self, ev: QueueEvent, what: str) -> None:
        """The caller left the queue without an answer: abandoned, left, max wait, callback."""
        call = self._call(ev)
        if call is None:
            return
        del self._calls[ev.call_id or ""]
        offer = call.offer
        if offer.answered or offer.closed:
            return  # hung up during a transfer after being answered: not an abandon
        offer.closed = True
        c = offer.counts
        if what == "abandoned":
            wait = _seconds(ev.data.get("wait_s"), ev.at - offer.entered)
            if wait < self.short_abandon_s:
                c.short_abandoned += 1
            else:
                c.abandoned += 1
                c.wait_abandoned_s += wait
        elif what == "left":
            c.left += 1
        elif what == "timed_out":
            c.timed_out += 1
        else:
            c.callbacks += 1

    def _abandoned(self, ev: QueueEvent) -> None:
        self._close(ev, "abandoned")

    def _left(self, ev: QueueEvent) -> None:
        self._close(ev, "left")

    def _max_wait(self, ev: QueueEvent) -> None:
        self._close(ev, "timed_out")

    def _callback(self, ev: QueueEvent) -> None:
        self._close(ev, "callback")

    def _completed(self, ev: QueueEvent) -> None:
        self._calls.pop(ev.call_id or "", None)

    def _overflow(self, ev: QueueEvent) -> None:
        call = self._call(ev)
        to_queue = ev.data.get("to_queue")
        if call is None or not to_queue:
            return
        call.offer.counts.overflowed += 1
        call.queue = str(to_queue)

    def _ring_failed(self, ev: QueueEvent) -> None:
        call = self._calls.get(ev.call_id or "")
        if call is not None and not ev.data.get("consult"):
            call.offer.counts.ring_no_answer += 1

    def _transferred(self, ev: QueueEvent) -> None:
        call = self._call(ev)
        if call is None:
            return
        call.offer.counts.transferred += 1
        to_agent = ev.data.get("to_agent")
        if ev.data.get("mode") == "consulted" and to_agent:
            # The consulted agent takes the caller over now: their handling starts here.
            self._start_segment(str(to_agent), call, ev.at)
        elif to_agent:
            call.waiting_since = ev.at  # the caller waits for the transfer target to answer
        # A transfer to a queue is followed by that queue's `enter_queue`: a new offer.

    def _consult_answered(self, ev: QueueEvent) -> None:
        call = self._calls.get(ev.call_id or "")
        agent = self._agents.get(ev.agent or "")
        if call is not None and agent is not None:
            agent.caller, agent.queue = call.number, call.queue

    def _hold(self, ev: QueueEvent) -> None:
        seg = self._segments.get(ev.agent or "")
        if seg is not None and seg.hold_since is None:
            seg.hold_since = ev.at

    def _unhold(self, ev: QueueEvent) -> None:
        seg = self._segments.get(ev.agent or "")
        if seg is not None and seg.hold_since is not None:
            seg.hold_s += ev.at - seg.hold_since
            seg.hold_since = None

    def _wrap_start(self, ev: QueueEvent) -> None:
        seg = self._segments.get(ev.agent or "")
        if seg is None or seg.wrapping_since is not None:
            return
        if seg.hold_since is not None:
            seg.hold_s += ev.at - seg.hold_since
            seg.hold_since = None
        seg.talk_s = max(0.0, ev.at - seg.started - seg.hold_s)
        seg.wrapping_since = ev.at

    def _wrap_end(self, ev: QueueEvent) -> None:
        seg = self._segments.get(ev.agent or "")
        if seg is None or seg.wrapping_since is None:
            return
        del self._segments[ev.agent or ""]
        wrap = _seconds(ev.data.get("wrap_up_s"), ev.at - seg.wrapping_since)
        c = seg.offer.counts
        c.handled += 1
        c.talk_s += seg.talk_s
        c.hold_s += seg.hold_s
        c.wrap_s += wrap

    # ------------------------------------------------------------ agent states

    def _agent_state(self, ev: AgentStateChange) -> None:
        agent = self._agents.get(ev.agent)
        if agent is not None:
            self._account(ev.agent, agent.state, agent.since, ev.at)
        else:
            agent = self._agents[ev.agent] = _Agent(ev.state, ev.reason, ev.at)
        agent.state, agent.reason, agent.since = ev.state, ev.reason, ev.at
        agent.last_seen_day = self.calendar.day(ev.at)
        if ev.station is not None or ev.state == LOGGED_OUT:
            agent.station = ev.station
        if ev.state in _IDLE:
            agent.call_id, agent.caller, agent.queue = None, "", ""
        elif ev.call_id is not None:
            agent.call_id = ev.call_id
            call = self._calls.get(ev.call_id)
            if call is not None:
                agent.caller, agent.queue = call.number, call.queue

    def _account(self, agent_id: str, state: str, start: float, end: float) -> None:
        """Add [start, end) in `state` to the agent's day totals and the intervals' totals."""
        if state == LOGGED_OUT or end <= start:
            return
        for key, seconds in self.calendar.split(start, end):
            per_state = self._state_seconds.setdefault(key, {})
            per_state[state] = per_state.get(state, 0.0) + seconds
            per_agent = self._agent_seconds.setdefault(key[0], {}).setdefault(agent_id, {})
            per_agent[state] = per_agent.get(state, 0.0) + seconds

    # ------------------------------------------------------------ output

    def statistics(self, now: float) -> BoardStatistics:
        """Today's and the current interval's numbers at Unix time `now`."""
        day, index = self.calendar.interval(now)
        buckets = self._buckets.get(day, {})
        waits: list[tuple[str, float]] = []
        for call in self._calls.values():
            if call.waiting_since is not None:
                waits.append((call.queue, max(0.0, now - call.waiting_since)))
        waits.sort(key=lambda w: -w[1])
        queues = set(self.targets) | {q for _, q in buckets} | {q for q, _ in waits}
        today: dict[str, Counts] = {q: Counts() for q in queues}
        per_interval: dict[int, Counts] = {}
        for (i, q), counts in buckets.items():
            today[q].add(counts)
            per_interval.setdefault(i, Counts()).add(counts)
        queue_rows = []
        for q in sorted(today):
            mine = [w for queue, w in waits if queue == q]
            queue_rows.append(
                QueueFigures(
                    queue=q,
                    target_s=self.target(q),
                    waiting=len(mine),
                    longest_wait_s=mine[0] if mine else 0.0,
                    today=figures(today[q]),
                    current=figures(buckets.get((index, q), Counts())),
                )
            )
        total = Counts()
        for counts in today.values():
            total.add(counts)
        agents = self._agent_rows(day)
        return BoardStatistics(
            at=now,
            day=day,
            interval=index,
            interval_label=self.calendar.label((day, index)),
            waiting=len(waits),
            longest_wait_s=waits[0][1] if waits else 0.0,
            today=figures(total),
            current=figures(per_interval.get(index, Counts())),
            queues=tuple(queue_rows),
            agents=agents,
            agent_counts=_count_states(agents),
            trend=self._trend(day, index, per_interval, now),
            waits=tuple(waits),
        )

    def _agent_rows(self, day: str) -> tuple[AgentFigures, ...]:
        calls = self._agent_calls.get(day, {})
        seconds = self._agent_seconds.get(day, {})
        rows = []
        for name, a in self._agents.items():
            if a.state == LOGGED_OUT and a.last_seen_day != day:
                continue
            rows.append(
                AgentFigures(
                    agent=name,
                    state=a.state,
                    reason=a.reason,
                    since=a.since,
                    call_id=a.call_id,
                    caller=a.caller,
                    queue=a.queue,
                    station=a.station,
                    calls_today=calls.get(name, 0),
                    state_seconds=dict(seconds.get(name, {})),
                )
            )
        rows.sort(key=lambda r: r.agent)
        return tuple(rows)

    def _trend(
        self, day: str, index: int, per_interval: Mapping[int, Counts], now: float
    ) -> tuple[TrendPoint, ...]:
        length = self.calendar.interval_s
        points = []
        for i in range(index + 1):
            key = (day, i)
            spent = dict(self._state_seconds.get(key, {}))
            if i == index:  # the states agents are in right now count up to `now`
                start = self.calendar.interval_start(key)
                for a in self._agents.values():
                    if a.state != LOGGED_OUT:
                        s = max(0.0, now - max(a.since, start))
                        spent[a.state] = spent.get(a.state, 0.0) + s
            if i not in per_interval and not spent:
                continue
            points.append(
                TrendPoint(
                    index=i,
                    label=self.calendar.label(key),
                    figures=figures(per_interval.get(i, Counts())),
                    agents={s: v / length for s, v in spent.items()},
                )
            )
        return tuple(points)

    def day_report(self, day: str) -> DayReport:
        """Every interval of `day` with traffic, per queue and overall, and the day's totals."""
        buckets = self._buckets.get(day, {})
        lines: list[IntervalLine] = []
        totals: dict[str, Counts] = {"": Counts()}
        for i in sorted({i for i, _ in buckets}):
            overall = Counts()
            label = self.calendar.label((day, i))
            for q in sorted(q for j, q in buckets if j == i):
                counts = buckets[(i, q)]
                overall.add(counts)
                totals.setdefault(q, Counts()).add(counts)
                lines.append(IntervalLine(day, i, label, q, figures(counts)))
            totals[""].add(overall)
            lines.append(IntervalLine(day, i, label, "", figures(overall)))
        return DayReport(
            day=day,
            interval_minutes=self.calendar.interval_minutes,
            lines=tuple(lines),
            totals={q: figures(c) for q, c in totals.items()},
            agent_seconds={a: dict(s) for a, s in self._agent_seconds.get(day, {}).items()},
            agent_calls=dict(self._agent_calls.get(day, {})),
        )

    def open_agents(self, before: float) -> list[str]:
        """Agents logged in (by the rows) whose last change was before Unix time `before`."""
        return [n for n, a in self._agents.items() if a.state != LOGGED_OUT and a.since < before]

    def open_calls(self, before: float) -> list[str]:
        """Calls not yet ended (by the rows) that entered their queue before `before`."""
        return [c for c, call in self._calls.items() if call.offer.entered < before]

    def reconcile(self, agents_out: Iterable[str], calls_gone: Iterable[str], at: float) -> None:
        """The ACD says these agents are logged out and these calls are gone, though no row says
        so (the daemon restarted in between): log the agents out at `at` and drop the calls,
        counting nothing for them."""
        for name in agents_out:
            self.feed([AgentStateChange(at=at, agent=name, state=LOGGED_OUT, reason="restart")])
        for call_id in calls_gone:
            if self._calls.pop(call_id, None) is not None:
                self.version += 1

    def forget_before(self, day: str) -> None:
        """Drop the numbers of days before `day` and calls offered before it (memory bound for a
        daemon that runs for months; calls left open by a crash go with them)."""
        for old in [d for d in self._buckets if d < day]:
            del self._buckets[old]
        for old in [d for d in self._agent_seconds if d < day]:
            del self._agent_seconds[old]
        for old in [d for d in self._agent_calls if d < day]:
            del self._agent_calls[old]
        for key in [k for k in self._state_seconds if k[0] < day]:
            del self._state_seconds[key]
        start = self.calendar.day_start(day)
        for cid in [c for c, call in self._calls.items() if call.offer.entered < start]:
            del self._calls[cid]


def _seconds(value: object, fallback: float) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return max(0.0, float(value))
    return max(0.0, fallback)


def _count_states(agents: Iterable[AgentFigures]) -> AgentCounts:
    counts = dict.fromkeys(AGENT_STATES, 0)
    for a in agents:
        counts[a.state] = counts.get(a.state, 0) + 1
    return AgentCounts(
        logged_in=sum(v for k, v in counts.items() if k != LOGGED_OUT),
        ready=counts["ready"],
        ringing=counts["ringing"],
        talking=counts["talking"],
        on_hold=counts["on_hold"],
        wrap_up=counts["wrap_up"],
        not_ready=counts["not_ready"],
    )


_HANDLERS = {
    "enter_queue": Aggregator._enter,
    "offered": Aggregator._offered,
    "answered": Aggregator._answered,
    "abandoned": Aggregator._abandoned,
    "left_queue": Aggregator._left,
    "max_wait": Aggregator._max_wait,
    "callback_requested": Aggregator._callback,
    "completed": Aggregator._completed,
    "overflow": Aggregator._overflow,
    "ring_no_answer": Aggregator._ring_failed,
    "station_unreachable": Aggregator._ring_failed,
    "transferred": Aggregator._transferred,
    "consult_answered": Aggregator._consult_answered,
    "hold": Aggregator._hold,
    "unhold": Aggregator._unhold,
    "wrap_up_start": Aggregator._wrap_start,
    "wrap_up_end": Aggregator._wrap_end,
}
