"""Logging to stderr in a form journald understands.

With `format = "journal"` each line starts with a syslog priority in angle brackets (`<6>`), which
journald turns into the entry's priority when it reads a service's stderr; `plain` adds a
timestamp for a terminal. Either way one event is one line.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from zoneinfo import ZoneInfo

PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


class JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).replace("\n", "\n  ")
        return f"<{PRIORITY.get(record.levelno, 6)}>{record.name}: {text}"


class SiteTimeFormatter(logging.Formatter):
    """Timestamps in the site's time zone, whatever the host's TZ (journald adds its own)."""

    def __init__(self, fmt: str, datefmt: str, timezone: str) -> None:
        super().__init__(fmt, datefmt)
        self.zone = ZoneInfo(timezone)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        moment = dt.datetime.fromtimestamp(record.created, self.zone)
        return moment.strftime(datefmt or "%H:%M:%S")


def setup(level: str = "info", fmt: str = "plain", timezone: str = "Asia/Shanghai") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "journal":
        handler.setFormatter(JournalFormatter("%(message)s"))
    else:
        handler.setFormatter(SiteTimeFormatter(
            "%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S", timezone))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
