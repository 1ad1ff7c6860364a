"""What the aggregator answers with: frozen records of figures, agents, trend and day reports.

All times are Unix seconds; figures follow the conventions in `ccd.reports.metrics`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ccd.reports.metrics import Figures


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """One queue: callers waiting now and the longest wait, today's and this interval's figures."""

    queue: str
    target_s: float
    waiting: int
    longest_wait_s: float
    today: Figures
    current: Figures


@dataclass(frozen=True, slots=True)
class AgentFigures:
    """One agent now: state since `since` (Unix time), the caller and queue they are busy with,
    contacts handled today, and seconds spent in each state today in the states they have left
    (the current state adds `now - max(since, midnight)`: left out so the row only changes when
    the agent does)."""

    agent: str
    state: str
    reason: str
    since: float
    call_id: str | None
    caller: str
    queue: str
    station: str | None
    calls_today: int
    state_seconds: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class AgentCounts:
    logged_in: int = 0
    ready: int = 0
    ringing: int = 0
    talking: int = 0
    on_hold: int = 0
    wrap_up: int = 0
    not_ready: int = 0


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One interval of the day: its index, start label ('08:30'), figures, and the average
    number of agents in each state over it (seconds in state / interval length)."""

    index: int
    label: str
    figures: Figures
    agents: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class BoardStatistics:
    """Everything the wallboard shows, at `at` (Unix time)."""

    at: float
    day: str
    interval: int
    interval_label: str
    waiting: int
    longest_wait_s: float
    today: Figures
    current: Figures
    queues: tuple[QueueFigures, ...]
    agents: tuple[AgentFigures, ...]
    agent_counts: AgentCounts
    trend: tuple[TrendPoint, ...]
    waits: tuple[tuple[str, float], ...]  # (queue, seconds) of every caller waiting now


@dataclass(frozen=True, slots=True)
class IntervalLine:
    """One line of a day report: `queue` is '' for all queues together."""

    day: str
    index: int
    label: str
    queue: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class DayReport:
    day: str
    interval_minutes: int
    lines: tuple[IntervalLine, ...]  # per interval with traffic: each queue, then ''
    totals: Mapping[str, Figures]  # per queue, and '' for the whole day
    agent_seconds: Mapping[str, Mapping[str, float]]  # agent -> state -> seconds
    agent_calls: Mapping[str, int]
