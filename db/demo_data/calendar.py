"""The demo's calendar: which months are billed, when meters are read and bills fall due.

Times are whole seconds since the epoch; the city keeps China Standard Time (UTC+8, no DST).
"""

from __future__ import annotations

import datetime as dt

from ccd.timefmt import iso
from db.demo_data.places import DISTRICTS

LOCAL = dt.timezone(dt.timedelta(hours=8), "CST")
MONTHS = 12
DAY = 86400
DUE_DAYS = 20


class Calendar:
    """The twelve billed months before `now`, with each district's reading, issue and due times.

    The latest billed month is last month once the 10th has passed (every district's bill is
    issued by the 5th), otherwise the month before, so every bill listed is already issued.
    """

    def __init__(self, now: int) -> None:
        self.now = now
        local = dt.datetime.fromtimestamp(now, LOCAL)
        back = 1 if local.day > 10 else 2
        year, month = local.year, local.month
        periods = []
        for k in range(back + MONTHS - 1, back - 1, -1):
            index = year * 12 + (month - 1) - k
            periods.append((index // 12, index % 12 + 1))
        self.periods = periods
        self.labels = [f"{y}-{m:02d}" for y, m in periods]
        # [district][period] -> (read start ts, issue ts, due ts)
        self.times: dict[str, list[tuple[int, int, int]]] = {}
        self.stamps: dict[str, list[tuple[str, str]]] = {}  # issued_at, due_at text
        for district in DISTRICTS:
            rows = []
            for y, m in periods:
                read = local_ts(y, m, district.read_day, 9)
                ny, nm = (y, m + 1) if m < 12 else (y + 1, 1)
                issue = local_ts(ny, nm, district.issue_day, 8)
                due_day = dt.datetime.fromtimestamp(issue, LOCAL) + dt.timedelta(days=DUE_DAYS)
                due = local_ts(due_day.year, due_day.month, due_day.day, 23, 59, 59)
                rows.append((read, issue, due))
            self.times[district.code] = rows
            self.stamps[district.code] = [(iso(issue), iso(due)) for _, issue, due in rows]


def local_ts(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> int:
    return int(dt.datetime(y, m, d, hh, mm, ss, tzinfo=LOCAL).timestamp())


class Clock:
    """Whole-second timestamps as ccd's ISO text, fast: date and time-of-day parts are cached."""

    _time_of_day: list[str] = []

    def __init__(self) -> None:
        self._days: dict[int, str] = {}
        if not Clock._time_of_day:
            Clock._time_of_day = [
                f"T{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}.000Z" for s in range(DAY)
            ]
        self._tod = Clock._time_of_day

    def iso(self, ts: int) -> str:
        day, sec = divmod(ts, DAY)
        date = self._days.get(day)
        if date is None:
            date = dt.datetime.fromtimestamp(day * DAY, dt.timezone.utc).strftime("%Y-%m-%d")
            self._days[day] = date
        return date + self._tod[sec]
