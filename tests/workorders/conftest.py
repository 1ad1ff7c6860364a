"""Fixtures for the work-order tests: a real migrated SQLite file per test, a calendar with a
weekend, a holiday and a swapped working Saturday, and moments in Shanghai local time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlite_utils

from db import open_database

TZ = ZoneInfo("Asia/Shanghai")
# Monday 2026-11-23 is made a holiday and Saturday 2026-11-28 a working day in these tests.
HOLIDAY = dt.date(2026, 11, 23)
WORKING_SATURDAY = dt.date(2026, 11, 28)


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> float:
    """Epoch seconds of a Shanghai wall-clock time."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ).timestamp()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_database(tmp_path / "ccd.sqlite3")
    yield database
    database.conn.close()
