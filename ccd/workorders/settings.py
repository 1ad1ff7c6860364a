"""The `[workorders]` section of ccd.toml: deadlines, the working calendar, notification, sampling,
and the web status endpoint (`[workorders.web]`).

The structs mirror `ccd.config.Base` (keyword-only, unknown keys refused) without importing it, so
`ccd.config` can import this module at its top without a cycle.
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from ccd.errors import ConfigError

Priority = Literal["urgent", "high", "normal", "low"]
PRIORITIES: tuple[str, ...] = ("urgent", "high", "normal", "low")


class _Base(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class DeadlineRule(_Base):
    """Time allowed to close a work order of `type` and `priority` ('*' matches any).

    `clock = "business"` counts only working hours on working days; `"calendar"` counts every
    hour (burst mains and gas leaks are fixed through nights and holidays).
    """

    type: str = "*"
    priority: str = "*"
    hours: float = 40.0
    clock: Literal["business", "calendar"] = "business"


def _default_deadlines() -> list[DeadlineRule]:
    # Typical published service commitments of Chinese water/power/gas utilities: urgent repairs
    # on site within hours around the clock, enquiries answered within a working day, complaints
    # within five working days, new connections within ten.
    return [
        DeadlineRule(hours=40.0),
        DeadlineRule(priority="urgent", hours=8.0),
        DeadlineRule(priority="high", hours=16.0),
        DeadlineRule(type="repair", priority="urgent", hours=4.0, clock="calendar"),
        DeadlineRule(type="repair", priority="high", hours=24.0, clock="calendar"),
        DeadlineRule(type="repair", hours=16.0),
        DeadlineRule(type="outage_report", hours=2.0, clock="calendar"),
        DeadlineRule(type="enquiry", hours=8.0),
        DeadlineRule(type="billing", hours=24.0),
        DeadlineRule(type="meter", hours=24.0),
        DeadlineRule(type="complaint", hours=40.0),
        DeadlineRule(type="complaint", priority="urgent", hours=8.0),
        DeadlineRule(type="new_connection", hours=80.0),
        DeadlineRule(type="suggestion", hours=80.0),
    ]


class WebStatusSettings(_Base):
    """The read-only HTTP status endpoint for the utility's web service hall."""

    enabled: bool = False
    listen: str = "127.0.0.1:8089"
    # Token bucket per client IP: `requests_per_second` refill, `burst` capacity. A failed check
    # costs `failure_cost` tokens, so guessing the four digits is slower than asking honestly.
    requests_per_second: float = 1.0
    burst: int = 10
    failure_cost: int = 5
    max_clients: int = 10000
    read_timeout_s: float = 5.0
    # Connections served at once; more are answered 503 at once and closed (no fd exhaustion).
    max_connections: int = 64
    # All clients together: requests per second (and burst), and failed checks per minute.
    # Once the failure budget is spent, checks are refused (429) for everyone until it refills:
    # rotating source addresses buys an attacker nothing.
    global_requests_per_second: float = 20.0
    global_burst: int = 100
    global_failures_per_minute: int = 60
    # Peers (the web hall's reverse proxy) whose X-Forwarded-For header names the real client.
    trusted_proxies: list[str] = msgspec.field(default_factory=list)


class WorkOrderSettings(_Base):
    deadlines: list[DeadlineRule] = msgspec.field(default_factory=_default_deadlines)
    # Working hours of the back office, local time (site.timezone), on working days.
    working_hours: list[str] = msgspec.field(default_factory=lambda: ["08:30-12:00", "13:00-17:30"])
    # ISO weekdays off (6 = Saturday, 7 = Sunday); holidays and swapped working days (调休) are
    # rows of the `holidays` table.
    weekend: list[int] = msgspec.field(default_factory=lambda: [6, 7])
    # Remind the owner this many hours (of the rule's clock) before the deadline; at most half
    # the time allowed.
    reminder_lead_hours: float = 2.0
    # Share of closed work orders picked for a satisfaction callback, and the seed that makes the
    # pick reproducible.
    satisfaction_share: float = 0.3
    satisfaction_seed: int = 20261123
    survey_delay_minutes: float = 60.0
    # Work orders from these sources (nobody at the hotline saw them: the IVR's recorded repair
    # reports) are dispatched at once to their type's default department, so they have an owner.
    auto_dispatch_sources: list[str] = msgspec.field(default_factory=lambda: ["ivr", "web"])
    notify_sms: bool = True
    notify_callback: bool = False
    # The longest the scheduler sleeps before looking again (wall-clock jumps, rows written by
    # other processes).
    scheduler_max_sleep_s: float = 60.0
    web: WebStatusSettings = msgspec.field(default_factory=WebStatusSettings)


_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


def parse_hours(spans: list[str]) -> list[tuple[int, int]]:
    """'08:30-12:00' → (510, 720): minutes after local midnight, checked and in order."""
    out: list[tuple[int, int]] = []
    for span in spans:
        m = _HOURS.match(span.strip())
        if not m:
            raise ConfigError(
                f"workorders.working_hours: {span!r} is not HH:MM-HH:MM",
                key="workorders.working_hours",
            )
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if not (0 <= start < end <= 24 * 60 and m1 < 60 and m2 < 60):
            raise ConfigError(
                f"workorders.working_hours: {span!r} must start before it ends, within one day",
                key="workorders.working_hours",
            )
        if out and start < out[-1][1]:
            raise ConfigError(
                f"workorders.working_hours: {span!r} overlaps or precedes the span before it",
                key="workorders.working_hours",
            )
        out.append((start, end))
    if not out:
        raise ConfigError(
            "workorders.working_hours: at least one span is needed", key="workorders.working_hours"
        )
    return out


def validate(settings: WorkOrderSettings) -> None:
    """Refuse settings the services cannot run with; errors name the key."""
    parse_hours(settings.working_hours)
    if not set(settings.weekend) <= set(range(1, 8)) or len(set(settings.weekend)) >= 7:
        raise ConfigError(
            "workorders.weekend: ISO weekdays 1-7, and at least one working day",
            key="workorders.weekend",
        )
    if not 0.0 <= settings.satisfaction_share <= 1.0:
        raise ConfigError(
            "workorders.satisfaction_share must be between 0 and 1",
            key="workorders.satisfaction_share",
        )
    for i, rule in enumerate(settings.deadlines):
        if rule.hours <= 0:
            raise ConfigError(
                f"workorders.deadlines[{i}].hours must be greater than 0",
                key=f"workorders.deadlines.{i}.hours",
            )
        if rule.priority != "*" and rule.priority not in PRIORITIES:
            raise ConfigError(
                f"workorders.deadlines[{i}].priority: {rule.priority!r} is not one of "
                f"{', '.join(PRIORITIES)} or '*'",
                key=f"workorders.deadlines.{i}.priority",
            )
    web = settings.web
    host, sep, port = web.listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(
            f"workorders.web.listen must be HOST:PORT, got {web.listen!r}",
            key="workorders.web.listen",
        )
    if web.max_connections < 1 or web.global_requests_per_second <= 0 or web.global_burst < 1 \
            or web.global_failures_per_minute < 1:
        raise ConfigError(
            "workorders.web: max_connections, global_requests_per_second, global_burst and "
            "global_failures_per_minute must be positive", key="workorders.web")
    if web.requests_per_second <= 0 or web.burst < 1 or web.failure_cost < 1:
        raise ConfigError(
            "workorders.web: requests_per_second > 0, burst >= 1 and failure_cost >= 1",
            key="workorders.web",
        )
