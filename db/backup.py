"""Back up, restore and check the database file.

- `backup` copies a live database with SQLite's online backup API: one read transaction gives a
  consistent snapshot while the daemon keeps writing (WAL readers do not block the writer). The
  copy is written to a temporary file next to the destination, switched to a self-contained
  rollback-journal file, checked with `PRAGMA integrity_check`, synced, then renamed into place,
  so a half-written backup never carries the final name.
- `restore` puts a backup in place of the database while the daemon is stopped: it takes the
  daemon's own lock (`<database>.lock`, see ccd/lock.py) for the whole operation and refuses if it
  is held, verifies the backup and that its schema is not newer than this code, keeps the current
  file as `<database>.before-restore`, and leaves no stale -wal/-shm files behind.
- `check` reports integrity, foreign-key violations and migrations without changing anything.

Errors are `BackupError` (error_id 'bad-backup', 'database-in-use', 'no-database'), or
`ccd.errors.SchemaError` for a backup made by a newer ccd.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

import db as database
from ccd.errors import CcdError
from ccd.lock import AlreadyRunning, DatabaseLock

BEFORE_RESTORE = ".before-restore"


class BackupError(CcdError):
    error_id = "bad-backup"


@dataclass(frozen=True)
class BackupInfo:
    """A finished backup: where it is, how big, how long it took."""

    path: Path
    bytes: int
    seconds: float


@dataclass(frozen=True)
class RestoreInfo:
    """A finished restore: the database, where the previous file went, what still needs migrating."""

    database: Path
    previous: Path | None
    pending_migrations: list[str] = field(default_factory=list)


def backup(
    source: Path | str | sqlite_utils.Database | sqlite3.Connection, dest: Path | str
) -> BackupInfo:
    """Copy `source` to the file `dest` (replaced if it exists) while it may be in use.

    source: the database's path (a separate connection is opened, the usual case: the daemon's
      own connection is not held up), or an open sqlite_utils.Database / sqlite3.Connection.
    dest: the backup file to write; its directory must exist.
    """
    started = time.monotonic()
    dest = Path(dest)
    if not dest.parent.is_dir():
        raise BackupError(f"{dest.parent}: no such directory for the backup", path=str(dest))
    if dest.is_dir():
        raise BackupError(f"{dest}: is a directory; give the backup file's name", path=str(dest))
    if isinstance(source, (str, Path)):
        _require_file(Path(source))
        if dest.exists() and dest.samefile(source):
            raise BackupError(f"{dest}: is the database itself", path=str(dest))
        source_conn = sqlite3.connect(str(source), timeout=30)
        close_source = True
    else:
        source_conn = source.conn if isinstance(source, sqlite_utils.Database) else source
        close_source = False
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    _remove_db_files(tmp)
    try:
        target = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            # All pages in one step: one read transaction, one consistent snapshot, and no
            # restart when the daemon writes meanwhile (a paged backup would start over).
            try:
                source_conn.backup(target)
            except sqlite3.DatabaseError as exc:
                raise BackupError(f"{source}: cannot back up: {exc}", path=str(dest)) from None
            target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            _verify_integrity(target, tmp)
        finally:
            target.close()
        os.chmod(tmp, 0o640)  # a copy of every customer: the daemon's user and group only
        _fsync(tmp)
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    except BaseException:
        _remove_db_files(tmp)
        raise
    finally:
        if close_source:
            source_conn.close()
    return BackupInfo(dest, dest.stat().st_size, time.monotonic() - started)


def restore(backup_path: Path | str, db_path: Path | str) -> RestoreInfo:
    """Replace the database at `db_path` with the backup at `backup_path` (daemon stopped).

    backup_path: a file written by `backup` (or any ccd database file).
    db_path: the database the daemon uses; it need not exist yet.
    The previous database is kept as `<db_path>.before-restore` (replacing an older one).
    """
    backup_path, db_path = Path(backup_path), Path(db_path)
    _require_file(backup_path)
    try:
        lock = DatabaseLock(db_path)
        lock.acquire()
    except AlreadyRunning as exc:
        raise BackupError(
            f"{db_path}: a running ccd daemon holds this database (pid {exc.details['pid']}); "
            "stop the daemon, then restore",
            error_id="database-in-use",
            path=str(db_path),
            pid=exc.details["pid"],
        ) from None
    try:
        tmp = db_path.with_name(f".{db_path.name}.restore-{os.getpid()}")
        _remove_db_files(tmp)
        try:
            # Work on a copy, never on the backup itself: even opening a WAL-mode file leaves
            # -wal/-shm files next to it.
            _copy_file(backup_path, tmp)
            _make_self_contained(tmp, backup_path)
            _verify_backup(tmp, shown_as=backup_path)
        except BaseException:
            _remove_db_files(tmp)
            raise
        previous = _set_aside(db_path)
        os.chmod(tmp, 0o640)
        os.replace(tmp, db_path)
        _fsync_dir(db_path.parent)
        restored = _read_only(db_path)
        try:
            pending = database.pending_migrations(sqlite_utils.Database(restored))
        finally:
            restored.close()
        return RestoreInfo(db_path, previous, pending)
    finally:
        lock.release()


def check(db_path: Path | str) -> dict[str, Any]:
    """Integrity, foreign keys and migrations of the database at `db_path`, read-only.

    Safe while the daemon runs. Returns {'path', 'ok', 'integrity' (list of problems, empty when
    sound), 'foreign_key_errors' (list of {table, rowid, parent, fkid}), 'applied_migrations',
    'pending_migrations', 'unknown_migrations' (newer than this code), 'bytes'}.
    """
    db_path = Path(db_path)
    _require_file(db_path)
    conn = _read_only(db_path)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
        integrity = [] if problems == ["ok"] else problems
        fk_errors = [
            {"table": t, "rowid": rowid, "parent": parent, "fkid": fkid}
            for t, rowid, parent, fkid in conn.execute("PRAGMA foreign_key_check").fetchall()
        ]
        db = sqlite_utils.Database(conn)
        applied = [m.name for m in database.MIGRATIONS.applied(db)]
        pending = database.pending_migrations(db)
        unknown = database.unknown_migrations(db)
    finally:
        conn.close()
    return {
        "path": str(db_path),
        "ok": not integrity and not fk_errors and not unknown,
        "integrity": integrity,
        "foreign_key_errors": fk_errors,
        "applied_migrations": applied,
        "pending_migrations": pending,
        "unknown_migrations": unknown,
        "bytes": db_path.stat().st_size,
    }


# -- helpers ---------------------------------------------------------------------------------


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise BackupError(f"{path}: no such database file", error_id="no-database", path=str(path))


def _verify_integrity(conn: sqlite3.Connection, path: Path) -> None:
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a usable SQLite database ({exc})", path=str(path)) from None
    if problems != ["ok"]:
        raise BackupError(
            f"{path}: integrity check failed: {'; '.join(problems[:5])}",
            path=str(path),
            problems=problems,
        )


def _make_self_contained(path: Path, shown_as: Path) -> None:
    """Switch a database file to rollback-journal mode, so it carries no -wal/-shm files."""
    try:
        conn = sqlite3.connect(str(path), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = DELETE")
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(
            f"{shown_as}: not a usable SQLite database ({exc})", path=str(shown_as)
        ) from None


def _verify_backup(path: Path, shown_as: Path) -> None:
    """A sound SQLite file holding a ccd schema no newer than this code (SchemaError if newer).

    shown_as: the name errors give (the user's backup file, not our temporary copy).
    """
    conn = _read_only(path)
    try:
        _verify_integrity(conn, shown_as)
        db = sqlite_utils.Database(conn)
        if not database.MIGRATIONS.applied(db):
            raise BackupError(
                f"{shown_as}: not a ccd database (no migrations applied)", path=str(shown_as)
            )
        database.check_version(db, shown_as)
    finally:
        conn.close()


def _set_aside(db_path: Path) -> Path | None:
    """Move the current database (with its -wal, so nothing committed is lost) out of the way."""
    if not db_path.exists():
        _remove_db_files(db_path)
        return None
    try:
        # Fold the WAL into the file first, so the kept copy is one self-contained file.
        conn = sqlite3.connect(str(db_path), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = DELETE")
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        pass  # a damaged database is kept as it is, -wal and all
    previous = db_path.with_name(db_path.name + BEFORE_RESTORE)
    _remove_db_files(previous)
    os.replace(db_path, previous)
    for suffix in ("-wal", "-shm"):
        stale = db_path.with_name(db_path.name + suffix)
        if stale.exists():
            if suffix == "-wal" and stale.stat().st_size:
                os.replace(stale, previous.with_name(previous.name + suffix))
            else:
                stale.unlink()
    return previous


def _remove_db_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _copy_file(src: Path, dest: Path) -> None:
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        while chunk := fin.read(1 << 20):
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
