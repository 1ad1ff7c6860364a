"""Deadline rules by type and priority, and the timers they set. No I/O.

The most specific rule wins: type and priority, then type alone, then priority alone, then the
catch-all. The reminder (催办) falls `reminder_lead_hours` before the deadline, but never earlier
than halfway, so a two-hour outage report is chased after one hour rather than at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ccd.workorders.calendar import BusinessCalendar, Clock
from ccd.workorders.settings import DeadlineRule


def rule_for(rules: Sequence[DeadlineRule], type_: str, priority: str) -> DeadlineRule:
    """The most specific rule for a work order of `type_` and `priority`."""
    best: tuple[int, DeadlineRule] | None = None
    for rule in rules:
        if rule.type not in ("*", type_) or rule.priority not in ("*", priority):
            continue
        score = (2 if rule.type != "*" else 0) + (1 if rule.priority != "*" else 0)
        if best is None or score >= best[0]:
            best = (score, rule)
    if best is None:
        return DeadlineRule()
    return best[1]


@dataclass(frozen=True)
class Timers:
    """When to remind and when the work order is overdue (epoch seconds), and the clock used."""

    remind_at: float
    deadline_at: float
    clock: str


def timers(
    calendar: BusinessCalendar,
    rule: DeadlineRule,
    start: float,
    lead_hours: float,
) -> Timers:
    """The timers of a work order opened at `start` under `rule`."""
    budget = rule.hours * 3600.0
    return resume_timers(calendar, rule.clock, start, budget, _remind_offset(budget, lead_hours))


def _remind_offset(budget: float, lead_hours: float) -> float:
    return max(budget - lead_hours * 3600.0, budget / 2.0)


def resume_timers(
    calendar: BusinessCalendar,
    clock: str,
    start: float,
    remaining_s: float,
    remind_remaining_s: float | None,
) -> Timers:
    """Timers counted from `start` with `remaining_s` of the clock still owed (after a pause).

    remind_remaining_s: time owed until the reminder, or None when it was already sent (the
    reminder time is then reported as the start).
    """
    c = Clock(calendar, clock)
    deadline = c.add(start, max(0.0, remaining_s))
    remind = start if remind_remaining_s is None else c.add(start, max(0.0, remind_remaining_s))
    return Timers(remind_at=remind, deadline_at=deadline, clock=clock)


def remaining(calendar: BusinessCalendar, clock: str, now: float, until: float) -> float:
    """Time of `clock` left from `now` until `until` (negative when already past)."""
    return Clock(calendar, clock).between(now, until)
