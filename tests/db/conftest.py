"""Shared fixtures for the database tests: one demo database per session, read-only by convention.

Tests that change data make their own database (or copy this one with `db.backup.backup`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from db import demo, open_database

# 2026-05-17 14:40 in Hangzhou (06:40 UTC): mid-month, the April bills are issued, not yet due.
NOW = 1779000000
DEMO_CUSTOMERS = 3000


@pytest.fixture(scope="session")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "ccd.sqlite3"
    db = open_database(path)
    demo.generate(db, seed=7, customers=DEMO_CUSTOMERS, now=NOW)
    db.conn.close()
    return path


@pytest.fixture
def demo_db(demo_path: Path) -> Iterator[sqlite_utils.Database]:
    db = open_database(demo_path)
    yield db
    db.conn.close()
