"""Logging to stderr in a form journald understands.

With `format = "journal"` each line starts with a syslog priority in angle brackets (`<6>`), which
journald turns into the entry's priority when it reads a service's stderr; `plain` adds a
timestamp for a terminal. Either way one event is one line.
"""

from __future__ import annotations

import logging
import sys

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


def setup(level: str = "info", fmt: str = "plain") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "journal":
        handler.setFormatter(JournalFormatter("%(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
