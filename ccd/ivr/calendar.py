"""Opening hours and holidays for the `business_hours` and `holiday` branch tests (no I/O)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from ccd.ivr.nodes import Calendar

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock(text: str) -> dt.time:
    hour, _, minute = text.strip().partition(":")
    if not (hour.isdigit() and minute.isdigit()):
        raise ValueError(f"{text!r} is not HH:MM")
    if hour == "24" and minute == "00":
        return dt.time.max
    return dt.time(int(hour), int(minute))


def parse_hours(day: str, text: str) -> list[tuple[dt.time, dt.time]]:
    """'08:00-12:00,13:30-17:30' -> [(08:00, 12:00), (13:30, 17:30)]; 'closed' -> [].

    day: the key it was given under ('mon'..'sun' or 'daily'), checked too.
    """
    if day not in DAYS and day not in ("daily", "workday"):
        raise ValueError(f"unknown day {day!r}; use mon..sun, daily or workday")
    if text.strip() == "closed":
        return []
    ranges = []
    for part in text.split(","):
        start, sep, end = part.partition("-")
        if not sep:
            raise ValueError(f"{part!r} is not a range like 08:00-20:00")
        try:
            opens, closes = _clock(start), _clock(end)
        except ValueError as e:
            raise ValueError(f"{part!r}: {e}") from None
        if not opens < closes:
            raise ValueError(f"{part!r}: opening must come before closing")
        ranges.append((opens, closes))
    return ranges


def local(calendar: Calendar, now: float) -> dt.datetime:
    """Seconds since the epoch as a wall-clock time in the calendar's timezone."""
    return dt.datetime.fromtimestamp(now, ZoneInfo(calendar.timezone))


def is_holiday(calendar: Calendar, now: float) -> bool:
    return local(calendar, now).date() in calendar.holidays


def next_open(calendar: Calendar, now: float, days: int = 31) -> dt.datetime | None:
    """When business hours next begin after `now` (local, in the calendar's timezone): the
    start of the next opening range, skipping holidays; None if none within `days` days."""
    moment = local(calendar, now)
    tz = moment.tzinfo
    for offset in range(days + 1):
        day = moment.date() + dt.timedelta(days=offset)
        for opens, _closes in _ranges(calendar, day):
            start = dt.datetime.combine(day, opens, tz)
            if start > moment:
                return start
    return None


def _ranges(calendar: Calendar, day: dt.date) -> list[tuple[dt.time, dt.time]]:
    if day in calendar.holidays:
        return []
    if day in calendar.workdays:
        key = "workday" if "workday" in calendar.hours else "mon"
    else:
        key = DAYS[day.weekday()]
    return parse_hours(key, calendar.hours.get(key, calendar.hours.get("daily", "closed")))


def is_open(calendar: Calendar, now: float) -> bool:
    """Whether `now` falls in business hours: not a holiday, and inside the day's hours."""
    moment = local(calendar, now)
    clock = moment.time().replace(tzinfo=None)
    return any(opens <= clock < closes for opens, closes in _ranges(calendar, moment.date()))
