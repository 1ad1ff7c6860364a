"""A big customer import never keeps the daemon from writing for long: it commits in short
transactions, and a dry run takes no write lock at all."""

from __future__ import annotations

import sqlite3
import threading
import time

import db as database
from ccd.customers_import import import_csv


def _big_csv(path, rows: int) -> None:
    lines = ["account_no,name,phones,address,balance"]
    lines += [f"A{n:07d},用户{n},138{n:08d},幸福路{n}号,{n % 500}.50" for n in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _writer_probe(path, stop: threading.Event, waits: list[float], busy_ms: int) -> None:
    """What the daemon does meanwhile: take the write lock again and again; note each wait."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=busy_ms / 1000)
    try:
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
            except sqlite3.OperationalError:
                waits.append(float("inf"))
                continue
            waits.append(time.monotonic() - t0)
            time.sleep(0.005)
    finally:
        conn.close()


def _import_while_probing(tmp_path, *, dry_run: bool, busy_ms: int) -> tuple[list[float], object]:
    path = tmp_path / "c.sqlite3"
    database.open_database(path).conn.close()
    csv = tmp_path / "big.csv"
    _big_csv(csv, 40_000)
    stop, waits = threading.Event(), []
    probe = threading.Thread(target=_writer_probe, args=(path, stop, waits, busy_ms))
    db = database.open_database(path)
    probe.start()
    try:
        report = import_csv(db, csv, dry_run=dry_run)
    finally:
        stop.set()
        probe.join()
        db.conn.close()
    return waits, report


def test_a_big_import_leaves_the_write_lock_free_at_least_every_second(tmp_path):
    waits, report = _import_while_probing(tmp_path, dry_run=False, busy_ms=1000)
    assert report.added == 40_000 and not report.rejected
    assert len(waits) > 10
    assert float("inf") not in waits, "the import held the write lock for more than 1 s"


def test_a_dry_run_takes_no_write_lock(tmp_path):
    waits, report = _import_while_probing(tmp_path, dry_run=True, busy_ms=1)
    assert report.added == 40_000 and report.dry_run
    assert len(waits) > 10 and float("inf") not in waits
