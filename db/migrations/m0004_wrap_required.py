"""0004: a queue may require a wrap-up code (话后处理代码) before the agent's next call.

`queues.wrap_up_required` is 1 (required) or 0 (not); NULL means "take `[acd] wrap_up_required`"
(rows written before this step, and queues added without saying).
"""

from __future__ import annotations

import sqlite_utils

from db.migrations import MIGRATIONS
from db.migrations.m0001_foundation import run_sql

SCHEMA = """
ALTER TABLE queues ADD COLUMN wrap_up_required INTEGER
    CHECK (wrap_up_required IS NULL OR wrap_up_required IN (0, 1));
"""


@MIGRATIONS(name="0004_wrap_required")
def m0004_wrap_required(db: sqlite_utils.Database) -> None:
    run_sql(db, SCHEMA)
