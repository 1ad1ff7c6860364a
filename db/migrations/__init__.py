"""Numbered migrations: one module per step, each registering itself on MIGRATIONS.

Import order is apply order. Never edit an applied migration: add the next number.
"""
# ruff: noqa: E402, F401, I001 — the steps import MIGRATIONS, so they come after it, in order.

from sqlite_utils import Migrations

MIGRATIONS = Migrations("ccd")

from db.migrations import m0001_foundation
from db.migrations import m0002_workorders
from db.migrations import m0003_help
from db.migrations import m0004_wrap_required
from db.migrations import m0005_task_agent
from db.migrations import m0006_security
from db.migrations import m0007_caller_lists
