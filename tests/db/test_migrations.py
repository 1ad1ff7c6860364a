"""Migrations: idempotent, and a database from a newer ccd is refused with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

import db as database
from ccd.errors import SchemaError
from db.migrations import MIGRATIONS


def schema(db) -> list[tuple]:  # type: ignore[no-untyped-def]
    return db.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()


def test_migrations_run_twice_without_change(tmp_path: Path) -> None:
    path = tmp_path / "ccd.sqlite3"
    db = database.open_database(path)
    first = schema(db)
    applied = [m.name for m in MIGRATIONS.applied(db)]
    assert applied == [m.name for m in MIGRATIONS._migrations]
    assert database.migrate(db, path) == []
    db.conn.close()
    db = database.open_database(path)
    assert database.pending_migrations(db) == []
    assert schema(db) == first
    assert [m.name for m in MIGRATIONS.applied(db)] == applied
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    db.conn.close()


def test_a_fresh_database_gets_every_migration(tmp_path: Path) -> None:
    db = database.connect(tmp_path / "ccd.sqlite3")
    assert database.pending_migrations(db) == [m.name for m in MIGRATIONS._migrations]
    assert database.migrate(db, tmp_path / "ccd.sqlite3") == database.pending_migrations(
        database.connect(tmp_path / "empty.sqlite3"))
    db.conn.close()


def add_future_migration(path: Path, name: str = "9999_from_the_future") -> None:
    db = database.open_database(path)
    db["_sqlite_migrations"].insert(
        {"migration_set": "ccd", "name": name, "applied_at": "2031-01-01 00:00:00+00:00"})
    db.conn.close()


@pytest.mark.parametrize("apply_migrations", [True, False])
def test_a_newer_schema_is_refused(tmp_path: Path, apply_migrations: bool) -> None:
    path = tmp_path / "ccd.sqlite3"
    add_future_migration(path)
    with pytest.raises(SchemaError) as caught:
        database.open_database(path, apply_migrations=apply_migrations)
    error = caught.value
    assert error.error_id == "bad-schema"
    assert "newer than this ccd" in error.message
    assert "9999_from_the_future" in error.message and str(path) in error.message
    assert error.details["migrations"] == ["9999_from_the_future"]
