"""0007: caller lists — numbers on the blocked list (黑名单), VIP numbers and restricted numbers,
whether or not a customer has them.

A customer's own `vip` / `blocked` flags stay where they are; this table is for numbers: a
nuisance caller who is nobody's customer, a mayor's office line, a number that may use
self-service but is not put through to an agent ('restricted'). Numbers are stored normalised
(db.lookup.normalize_phone), so '+86 139-5555-6666' and '13955556666' are one entry.
"""

from __future__ import annotations

import sqlite_utils

from db.migrations import MIGRATIONS
from db.migrations.m0001_foundation import run_sql

SCHEMA = """
CREATE TABLE caller_lists (
    phone TEXT PRIMARY KEY,
    list TEXT NOT NULL CHECK (list IN ('blocked', 'vip', 'restricted')),
    note TEXT NOT NULL DEFAULT '',
    set_by TEXT NOT NULL DEFAULT '',
    set_at TEXT NOT NULL
);
"""


@MIGRATIONS(name="0007_caller_lists")
def m0007_caller_lists(db: sqlite_utils.Database) -> None:
    run_sql(db, SCHEMA)
