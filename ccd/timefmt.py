"""How ccd writes times: ISO 8601 in UTC with a 'Z', millisecond precision, sortable as text."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo


def iso(ts: float | None = None) -> str:
    """Seconds since the epoch (default: now) as '2026-11-23T08:30:00.000Z'."""
    moment = dt.datetime.fromtimestamp(time.time() if ts is None else ts, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse(text: str) -> float:
    """The inverse of `iso`: seconds since the epoch."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def local(stamp: str | float | None, zone: dt.tzinfo | str, fmt: str = "%Y-%m-%d %H:%M",
          empty: str = "") -> str:
    """A stored time (an `iso` string or seconds since the epoch) shown in the site's time zone
    `zone` (a tzinfo or an IANA name such as 'Asia/Shanghai'), never the host's; `empty` for
    None, '' or an unreadable string. Everything a person reads goes through here."""
    if stamp is None or stamp == "":
        return empty
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    try:
        seconds = parse(stamp) if isinstance(stamp, str) else float(stamp)
    except ValueError:
        return str(stamp)
    return dt.datetime.fromtimestamp(seconds, tz).strftime(fmt)


def from_local(text: str, zone: dt.tzinfo | str) -> str:
    """A time a person typed ('2026-11-23T08:00', '2026-11-23 08:00', '2026-11-23'), read in the
    site's time zone unless it names its own offset, as a stored `iso` string (UTC)."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return iso(moment.timestamp())
