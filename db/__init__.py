"""The database: one SQLite file in WAL mode, one writer (the daemon), numbered migrations.

`open_database` is the only way in: it sets the pragmas every connection needs, refuses a schema
newer than this code, and applies pending migrations (each in its own transaction).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from ccd.errors import SchemaError
from db.migrations import MIGRATIONS

SYNCHRONOUS = ("full", "normal", "extra")


def connect(
    path: Path | str, *, synchronous: str = "full", busy_timeout_ms: int = 5000
) -> sqlite_utils.Database:
    """A connection with the pragmas ccd relies on, without touching the schema.

    synchronous: 'full' (default: a commit survives power loss), 'normal' or 'extra'; see
    db/settings.py. busy_timeout_ms: how long a statement waits for another writer (offline
    tools wait 5 s; the daemon waits briefly and retries without blocking, db/writer.py).
    """
    if synchronous not in SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS}, got {synchronous!r}")
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    db = sqlite_utils.Database(conn)
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    # Temporary b-trees in memory: after a big scan, file-backed temp storage cost every later
    # screen-pop query ~1 ms of brk() calls (bench/history).
    conn.execute("PRAGMA temp_store = MEMORY")
    return db


def unknown_migrations(db: sqlite_utils.Database) -> list[str]:
    """Migrations recorded in the file that this code does not know: the schema is newer."""
    known = {m.name for m in MIGRATIONS._migrations}
    return [m.name for m in MIGRATIONS.applied(db) if m.name not in known]


def check_version(db: sqlite_utils.Database, path: Path | str) -> None:
    newer = unknown_migrations(db)
    if newer:
        raise SchemaError(
            f"{path}: the database schema is newer than this ccd (it has migration "
            f"{', '.join(newer)}); upgrade ccd or restore a backup made by this version",
            path=str(path),
            migrations=newer,
        )


def migrate(db: sqlite_utils.Database, path: Path | str = "") -> list[str]:
    """Apply pending migrations; return their names (empty when the schema is current)."""
    check_version(db, path)
    pending = [m.name for m in MIGRATIONS.pending(db)]
    MIGRATIONS.apply(db)
    return pending


def open_database(
    path: Path | str, *, apply_migrations: bool = True, synchronous: str = "full",
    busy_timeout_ms: int = 5000,
) -> sqlite_utils.Database:
    """Open (creating if needed) the database at `path`, checked and migrated."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = connect(path, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms)
    if apply_migrations:
        migrate(db, path)
    else:
        check_version(db, path)
    return db


def pending_migrations(db: sqlite_utils.Database) -> list[str]:
    return [m.name for m in MIGRATIONS.pending(db)]
