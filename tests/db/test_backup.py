"""Online backup while the database is written, restore only while the daemon is stopped."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import db as database
from ccd.errors import SchemaError
from ccd.timefmt import iso
from db import backup, demo
from db.migrations import MIGRATIONS
from tests.db.conftest import NOW

ROOT = Path(__file__).resolve().parents[2]


def dump(path: Path, *, skip_table: str | None = None) -> list[str]:
    """The database as SQL text (sqlite3's iterdump), optionally without one table's rows."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        lines = list(conn.iterdump())
    finally:
        conn.close()
    if skip_table:
        lines = [line for line in lines if not line.startswith(f'INSERT INTO "{skip_table}"')]
    return lines


def audit_ids(path: Path) -> list[int]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute("SELECT id FROM audit_log ORDER BY id")]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "ccd.sqlite3"
    db = database.open_database(path)
    demo.generate(db, seed=5, customers=2000, now=NOW)
    db.conn.close()  # the last connection: the WAL is folded in, one file remains
    assert not Path(str(path) + "-wal").exists()
    return path


@pytest.fixture
def live(template: Path, tmp_path: Path) -> Path:
    """A site's demo database (2,000 customers), closed."""
    path = tmp_path / "site" / "ccd.sqlite3"
    path.parent.mkdir()
    shutil.copyfile(template, path)
    return path


class Writer(threading.Thread):
    """Stands in for the daemon: commits one audit row after another on its own connection."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.count = 0
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.progress = threading.Condition()

    def run(self) -> None:
        db = database.connect(self.path)
        try:
            while not self.stop.is_set():
                db.execute(
                    "INSERT INTO audit_log (at, actor, action, target) VALUES (?, ?, ?, ?)",
                    [iso(), "writer", "test.write", str(self.count)],
                )
                with self.progress:
                    self.count += 1
                    self.progress.notify_all()
        except BaseException as exc:  # reported to the test thread by `wait_count`/`finish`
            self.error = exc
            with self.progress:
                self.progress.notify_all()
        finally:
            db.conn.close()

    def wait_count(self, at_least: int) -> int:
        with self.progress:
            self.progress.wait_for(lambda: self.count >= at_least or self.error is not None,
                                   timeout=60)
        assert self.error is None, self.error
        assert self.count >= at_least
        return self.count

    def finish(self) -> int:
        self.stop.set()
        self.join(timeout=60)
        assert not self.is_alive()
        assert self.error is None, self.error
        return self.count


def test_backup_while_writing_then_restore_gives_an_identical_database(
    live: Path, tmp_path: Path
) -> None:
    writer = Writer(live)
    writer.start()
    before = writer.wait_count(20)
    info = backup.backup(live, tmp_path / "ccd-backup.sqlite3")
    after_backup = writer.count
    writer.wait_count(after_backup + 20)  # the writer was never held up for long
    final = writer.finish()
    print(f"\nbackup: {info.bytes / 1e6:.1f} MB in {info.seconds:.2f} s; writer committed "
          f"{after_backup - before} rows during it, {final} in all")

    # the backup is one consistent snapshot: every table as it was, the audit log a prefix
    copied = audit_ids(info.path)
    assert len(copied) >= 20 and copied == list(range(1, len(copied) + 1))
    assert len(copied) < final == len(audit_ids(live))
    assert dump(info.path, skip_table="audit_log") == dump(live, skip_table="audit_log")
    report = backup.check(info.path)
    assert report["ok"] and report["integrity"] == [] and report["foreign_key_errors"] == []
    assert not Path(str(info.path) + "-wal").exists()  # one self-contained file
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left

    # the daemon has stopped (the writer's connection is closed): restore
    restored = backup.restore(info.path, live)
    assert restored.previous == live.with_name(live.name + ".before-restore")
    assert restored.pending_migrations == []
    assert dump(live) == dump(info.path)
    assert len(audit_ids(restored.previous)) == final  # what was there is kept
    assert not Path(str(live) + "-wal").exists() and not Path(str(live) + "-shm").exists()
    assert sorted(p.name for p in live.parent.iterdir()) == [
        "ccd.sqlite3", "ccd.sqlite3.before-restore", "ccd.sqlite3.lock"]
    db = database.open_database(live)  # and the daemon can start on it
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == len(copied)
    db.conn.close()


def test_backup_from_an_open_connection(live: Path, tmp_path: Path) -> None:
    db = database.open_database(live)
    info = backup.backup(db, tmp_path / "b.sqlite3")
    db.conn.close()
    assert dump(info.path) == dump(live)


def hold_lock(path: Path) -> subprocess.Popen[str]:
    """A separate process holding the daemon's lock on `path` until its stdin closes."""
    code = (
        "import sys\nfrom pathlib import Path\nfrom ccd.lock import DatabaseLock\n"
        "lock = DatabaseLock(Path(sys.argv[1]))\nlock.acquire()\nprint('locked', flush=True)\n"
        "sys.stdin.read()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_restore_refuses_while_the_daemon_holds_the_database(live: Path, tmp_path: Path) -> None:
    saved = backup.backup(live, tmp_path / "b.sqlite3").path
    db = database.open_database(live)
    db.execute("DELETE FROM payments")
    db.conn.close()
    original = live.read_bytes()
    holder = hold_lock(live)
    try:
        with pytest.raises(backup.BackupError) as caught:
            backup.restore(saved, live)
        assert caught.value.error_id == "database-in-use"
        assert "stop the daemon" in caught.value.message
        assert caught.value.details["pid"] == str(holder.pid)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    assert live.read_bytes() == original
    assert not live.with_name(live.name + ".before-restore").exists()
    assert [p.name for p in live.parent.iterdir() if p.name.startswith(".")] == []
    backup.restore(saved, live)  # once the daemon is gone it works
    assert dump(live) == dump(saved)


def test_restore_refuses_a_backup_from_a_newer_ccd(live: Path, tmp_path: Path) -> None:
    newer = tmp_path / "newer.sqlite3"
    db = database.open_database(newer)
    db["_sqlite_migrations"].insert(
        {"migration_set": "ccd", "name": "9999_from_the_future", "applied_at": "2031"})
    db.conn.close()
    original = dump(live)
    with pytest.raises(SchemaError, match="newer than this ccd"):
        backup.restore(newer, live)
    assert dump(live) == original
    assert not live.with_name(live.name + ".before-restore").exists()


def test_restore_refuses_files_that_are_not_ccd_backups(live: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(os.urandom(8192))
    with pytest.raises(backup.BackupError, match="not a usable SQLite database") as caught:
        backup.restore(garbage, live)
    assert caught.value.error_id == "bad-backup" and str(garbage) in caught.value.message
    other = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(backup.BackupError, match="not a ccd database"):
        backup.restore(other, live)
    with pytest.raises(backup.BackupError) as missing:
        backup.restore(tmp_path / "missing.sqlite3", live)
    assert missing.value.error_id == "no-database"
    assert [p.name for p in live.parent.iterdir() if p.name.startswith(".")] == []


def test_restore_keeps_what_a_killed_daemon_left_in_its_wal(live: Path, tmp_path: Path) -> None:
    saved = backup.backup(live, tmp_path / "b.sqlite3").path
    # A "daemon" commits rows that stay in the -wal, then dies without closing.
    code = (
        "import os, sys\nimport db\nd = db.connect(sys.argv[1])\n"
        "d.execute('PRAGMA wal_autocheckpoint = 0')\n"
        "for i in range(50):\n"
        "    d.execute(\"INSERT INTO audit_log (at, actor, action) VALUES ('t', 'x', 'kept')\")\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(live)], cwd=ROOT, check=True)
    assert Path(str(live) + "-wal").stat().st_size > 0
    restored = backup.restore(saved, live)
    assert not Path(str(live) + "-wal").exists() and not Path(str(live) + "-shm").exists()
    assert dump(live) == dump(saved)
    assert restored.previous is not None
    conn = sqlite3.connect(restored.previous)
    kept = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'kept'").fetchone()[0]
    conn.close()
    assert kept == 50


def test_restore_into_a_new_place(live: Path, tmp_path: Path) -> None:
    saved = backup.backup(live, tmp_path / "b.sqlite3").path
    target = tmp_path / "new" / "ccd.sqlite3"
    restored = backup.restore(saved, target)
    assert restored.previous is None and dump(target) == dump(saved)


def test_backup_errors(live: Path, tmp_path: Path) -> None:
    with pytest.raises(backup.BackupError, match="no such directory"):
        backup.backup(live, tmp_path / "nowhere" / "b.sqlite3")
    with pytest.raises(backup.BackupError, match="is a directory"):
        backup.backup(live, tmp_path)
    with pytest.raises(backup.BackupError, match="is the database itself"):
        backup.backup(live, live.parent / "." / live.name)
    with pytest.raises(backup.BackupError) as caught:
        backup.backup(tmp_path / "missing.sqlite3", tmp_path / "b.sqlite3")
    assert caught.value.error_id == "no-database"
    assert list(tmp_path.glob("*b.sqlite3*")) == []


def test_check_reports_problems_and_pending_migrations(live: Path, tmp_path: Path) -> None:
    report = backup.check(live)
    assert report["ok"] and report["pending_migrations"] == [] and report["unknown_migrations"] == []
    assert report["applied_migrations"] == [m.name for m in MIGRATIONS._migrations]

    broken = tmp_path / "broken.sqlite3"
    db = database.open_database(broken)
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute("INSERT INTO accounts (account_no, customer_id, address, opened_at) "
               "VALUES ('1', 999, 'nowhere', 't')")
    db.conn.close()
    report = backup.check(broken)
    assert not report["ok"]
    assert [(e["table"], e["parent"]) for e in report["foreign_key_errors"]] == [
        ("accounts", "customers")]

    old = tmp_path / "old.sqlite3"
    db = database.connect(old)
    last = MIGRATIONS._migrations[-1].name
    MIGRATIONS.apply(db, stop_before=last)
    db.conn.close()
    report = backup.check(old)
    assert report["pending_migrations"] == [last] and report["ok"]
