"""Business time: working hours on working days, in the site's time zone. No I/O.

A working day is a weekday not in `weekend` and not a holiday, or any day listed as a swapped
working day (调休: the Saturday worked to make a Golden Week long). Moments are seconds since the
epoch (as `ccd.timefmt` uses); spans are seconds of business time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

# Ten years of days without a working minute means the calendar is unusable; stop rather than loop.
_MAX_DAYS = 3660


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours and days.

    tz: the site's time zone ('Asia/Shanghai').
    hours: working spans per working day, minutes after local midnight, in order.
    weekend: ISO weekdays off (6, 7).
    holidays: local dates off although they are weekdays.
    workdays: local dates worked although they fall on the weekend (调休).
    """

    tz: ZoneInfo
    hours: tuple[tuple[int, int], ...]
    weekend: frozenset[int] = frozenset({6, 7})
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    workdays: frozenset[dt.date] = field(default_factory=frozenset)

    @classmethod
    def build(
        cls,
        tz: str,
        hours: Iterable[tuple[int, int]],
        weekend: Iterable[int] = (6, 7),
        holidays: Iterable[dt.date] = (),
        workdays: Iterable[dt.date] = (),
    ) -> BusinessCalendar:
        return cls(
            ZoneInfo(tz), tuple(hours), frozenset(weekend), frozenset(holidays), frozenset(workdays)
        )

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.isoweekday() not in self.weekend

    def spans(self, day: dt.date) -> list[tuple[float, float]]:
        """The working spans of a local day as (start, end) epoch seconds; empty on a day off."""
        if not self.is_working_day(day):
            return []
        midnight = dt.datetime.combine(day, dt.time(0), tzinfo=self.tz)
        out = []
        for start, end in self.hours:
            a = _local(midnight, start, self.tz)
            b = _local(midnight, end, self.tz)
            out.append((a, b))
        return out

    def local_date(self, moment: float) -> dt.date:
        return dt.datetime.fromtimestamp(moment, self.tz).date()

    def is_open(self, moment: float) -> bool:
        return any(a <= moment < b for a, b in self.spans(self.local_date(moment)))

    def add(self, start: float, seconds: float) -> float:
        """The moment `seconds` of business time after `start` (`start` itself when 0)."""
        if seconds <= 0:
            return start
        left = seconds
        day = self.local_date(start)
        for _ in range(_MAX_DAYS):
            for a, b in self.spans(day):
                a = max(a, start)
                if a >= b:
                    continue
                if b - a >= left:
                    return a + left
                left -= b - a
            day += dt.timedelta(days=1)
        raise ValueError("the business calendar has no working hours in ten years")

    def between(self, start: float, end: float) -> float:
        """Seconds of business time in [start, end); negative when end is before start."""
        if end < start:
            return -self.between(end, start)
        total = 0.0
        day = self.local_date(start)
        last = self.local_date(end)
        while day <= last:
            for a, b in self.spans(day):
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total


def _local(midnight: dt.datetime, minutes: int, tz: ZoneInfo) -> float:
    """Epoch seconds of a wall-clock time `minutes` after local midnight (24:00 is next midnight)."""
    if minutes >= 24 * 60:
        nxt = (midnight + dt.timedelta(days=1)).date()
        return dt.datetime.combine(nxt, dt.time(0), tzinfo=tz).timestamp()
    wall = dt.datetime.combine(midnight.date(), dt.time(minutes // 60, minutes % 60), tzinfo=tz)
    return wall.timestamp()


@dataclass(frozen=True)
class Clock:
    """A deadline clock: business time on a calendar, or plain elapsed time ('calendar')."""

    calendar: BusinessCalendar
    kind: str = "business"

    def add(self, start: float, seconds: float) -> float:
        if self.kind == "calendar":
            return start + max(0.0, seconds)
        return self.calendar.add(start, seconds)

    def between(self, start: float, end: float) -> float:
        if self.kind == "calendar":
            return end - start
        return self.calendar.between(start, end)
