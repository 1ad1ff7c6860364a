"""Days and report intervals in the site's time zone (a hotline's day is its local day).

An interval is identified by (day, index): day is the local date 'YYYY-MM-DD', index counts
intervals from local midnight (with 15-minute intervals, 08:30–08:45 is index 34).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

IntervalKey = tuple[str, int]


@dataclass(frozen=True)
class Calendar:
    """timezone: an IANA name ('Asia/Shanghai'); interval_minutes: the report interval."""

    timezone: str = "Asia/Shanghai"
    interval_minutes: int = 15
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", ZoneInfo(self.timezone))

    @property
    def interval_s(self) -> float:
        return self.interval_minutes * 60.0

    def local(self, ts: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(ts, self._zone)

    def day(self, ts: float) -> str:
        """The local date of Unix time `ts`."""
        return self.local(ts).date().isoformat()

    def interval(self, ts: float) -> IntervalKey:
        """(day, index) of the interval holding Unix time `ts`."""
        moment = self.local(ts)
        minutes = moment.hour * 60 + moment.minute
        return moment.date().isoformat(), minutes // self.interval_minutes

    def day_start(self, day: str) -> float:
        """Unix time of local midnight starting `day`."""
        return _midnight(day, self.timezone)

    def interval_start(self, key: IntervalKey) -> float:
        """Unix time the interval starts (wall-clock minutes from midnight, DST-aware)."""
        day, index = key
        d = dt.date.fromisoformat(day)
        minutes = index * self.interval_minutes
        local = dt.datetime(d.year, d.month, d.day, minutes // 60, minutes % 60, tzinfo=self._zone)
        return local.timestamp()

    def interval_end(self, key: IntervalKey) -> float:
        day, index = key
        if index + 1 >= self.intervals_per_day:
            return self.day_start(self.next_day(day))
        return self.interval_start((day, index + 1))

    @property
    def intervals_per_day(self) -> int:
        return 24 * 60 // self.interval_minutes

    def label(self, key: IntervalKey) -> str:
        """'08:30' for the interval starting then."""
        minutes = key[1] * self.interval_minutes
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    @staticmethod
    def next_day(day: str) -> str:
        return (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()

    def split(self, start: float, end: float) -> list[tuple[IntervalKey, float]]:
        """The seconds of [start, end) that fall in each interval, in order."""
        out: list[tuple[IntervalKey, float]] = []
        t = start
        while t < end:
            key = self.interval(t)
            stop = min(end, self.interval_end(key))
            if stop <= t:  # a clock that went backwards around a DST change: give up cleanly
                stop = end
            out.append((key, stop - t))
            t = stop
        return out


@lru_cache(maxsize=64)
def _midnight(day: str, timezone: str) -> float:
    d = dt.date.fromisoformat(day)
    return dt.datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(timezone)).timestamp()
