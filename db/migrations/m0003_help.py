"""0003: help requests (求助): an agent raises a hand, a team lead answers.

`status` is 'open' until a team lead answers ('answered') or the agent lowers the hand
('cancelled'). Times are ISO 8601 UTC text with a 'Z' as in 0001.
"""

from __future__ import annotations

import sqlite_utils

from db.migrations import MIGRATIONS
from db.migrations.m0001_foundation import run_sql

SCHEMA = """
CREATE TABLE help_requests (
    id INTEGER PRIMARY KEY,
    agent TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    call_id TEXT,
    status TEXT NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'answered', 'cancelled')),
    answered_by TEXT,
    answered_at TEXT,
    answer TEXT NOT NULL DEFAULT ''
);
CREATE INDEX help_requests_open ON help_requests(status, id);
CREATE INDEX help_requests_agent ON help_requests(agent, raised_at);
"""


@MIGRATIONS(name="0003_help")
def m0003_help(db: sqlite_utils.Database) -> None:
    run_sql(db, SCHEMA)
