"""How ccd writes times: ISO 8601 in UTC with a 'Z', millisecond precision, sortable as text."""

from __future__ import annotations

import datetime as dt
import time


def iso(ts: float | None = None) -> str:
    """Seconds since the epoch (default: now) as '2026-11-23T08:30:00.000Z'."""
    moment = dt.datetime.fromtimestamp(time.time() if ts is None else ts, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse(text: str) -> float:
    """The inverse of `iso`: seconds since the epoch."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
