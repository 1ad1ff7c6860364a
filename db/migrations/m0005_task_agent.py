"""0005: who worked a callback or a satisfaction survey (`handled_by`, the agent's user name).

NULL until an agent records the outcome (`task.callback_done`, `task.survey_save`); the IVR's own
surveys and callbacks the daemon closes by itself leave it NULL.
"""

from __future__ import annotations

import sqlite_utils

from db.migrations import MIGRATIONS
from db.migrations.m0001_foundation import run_sql

SCHEMA = """
ALTER TABLE callbacks ADD COLUMN handled_by TEXT;
ALTER TABLE surveys ADD COLUMN handled_by TEXT;
"""


@MIGRATIONS(name="0005_task_agent")
def m0005_task_agent(db: sqlite_utils.Database) -> None:
    run_sql(db, SCHEMA)
