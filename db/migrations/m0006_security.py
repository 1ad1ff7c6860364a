"""0006: security (issue 13).

Step 0006_backoffice_role: department staff (repair crews, the billing centre, district
offices) get their own role, 'backoffice', instead of 'agent'. An agent is hotline staff, and
hotline-only work-order actions (create, dispatch, close, cancel) need a hotline role; back-office
staff work their own department's steps only. Existing sites: a department member whose only
role is 'agent' and who has no agent number (so takes no calls) becomes 'backoffice'; a member
with an agent number (also a hotline agent) keeps 'agent' and gains 'backoffice'.
"""

from __future__ import annotations

import sqlite_utils

from db.migrations import MIGRATIONS
from db.migrations.m0001_foundation import run_sql

BACKOFFICE = """
INSERT OR IGNORE INTO roles (name, description) VALUES ('backoffice', '部门人员 / back office');
INSERT OR IGNORE INTO user_roles (user_id, role)
    SELECT DISTINCT m.user_id, 'backoffice' FROM department_members m;
DELETE FROM user_roles WHERE role = 'agent' AND user_id IN (
    SELECT u.id FROM users u
    WHERE u.agent_number IS NULL
      AND u.id IN (SELECT user_id FROM department_members)
      AND NOT EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id
                      AND r.role NOT IN ('agent', 'backoffice'))
);
"""


@MIGRATIONS(name="0006_backoffice_role")
def m0006_backoffice_role(db: sqlite_utils.Database) -> None:
    run_sql(db, BACKOFFICE)


# Step 0006_import_runs: a customer import commits in short chunks (so the daemon's writes are
# never held up for long) and records its progress here, so an interrupted run resumes.
IMPORT_RUNS = """
CREATE TABLE import_runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    encoding TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    rows INTEGER NOT NULL,
    rejected INTEGER NOT NULL DEFAULT 0,
    next_line INTEGER NOT NULL DEFAULT 0,
    added INTEGER NOT NULL DEFAULT 0,
    changed INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('running', 'done'))
);
CREATE INDEX import_runs_file ON import_runs(kind, sha256, status);
"""


@MIGRATIONS(name="0006_import_runs")
def m0006_import_runs(db: sqlite_utils.Database) -> None:
    run_sql(db, IMPORT_RUNS)


# Step 0006_call_seals: tamper-evident call records (db/seal.py). Each ended call gets one seal
# row, in seal order, with an HMAC chained over the previous one; the key is kept outside the
# database. Calls that existed before this step are noted by rowid as sealed-never.
CALL_SEALS = """
CREATE TABLE call_seals (
    seq INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL UNIQUE,
    digest TEXT NOT NULL,
    sealed_at TEXT NOT NULL
);
INSERT OR REPLACE INTO settings (key, value)
    SELECT 'seal_since_rowid', CAST(coalesce(max(rowid), 0) AS TEXT) FROM calls;
"""


@MIGRATIONS(name="0006_call_seals")
def m0006_call_seals(db: sqlite_utils.Database) -> None:
    run_sql(db, CALL_SEALS)
