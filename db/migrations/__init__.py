"""Numbered migrations: one module per step, each registering itself on MIGRATIONS.

Import order is apply order. Never edit an applied migration: add the next number.
"""

from sqlite_utils import Migrations

MIGRATIONS = Migrations("ccd")

from db.migrations import (
    m0001_foundation,  # noqa: E402,F401
    m0002_workorders,  # noqa: E402,F401
)
