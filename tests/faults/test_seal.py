"""Tamper-evident call records: `ccd db verify` finds an edited duration, a deleted row, an
inserted row, a forged seal and a cut-off tail; `ccd db check` fails with it. Real SQLite files;
the tampering is done the way a person would, with a second connection (sqlite3)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import db as database
from ccd.calls import CallLog
from db import seal


def _ccd(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ccd", "--config", str(config), *args],
                          capture_output=True, text=True)


def _site(tmp_path: Path) -> Path:
    out = subprocess.run([sys.executable, "-m", "ccd", "init", "--dir", str(tmp_path / "site")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "site" / "seal.key").stat().st_mode & 0o777 == 0o600
    return tmp_path / "site" / "ccd.toml"


def _calls(site: Path, n: int) -> None:
    """n ended calls, sealed as the daemon seals them (same CallLog, the site's key)."""
    db = database.open_database(site / "ccd.sqlite3")
    key_path = site / "seal.key"
    sealer, made = seal.open_sealer(db, key_path)
    assert not made
    log = CallLog(db, sealer=sealer)
    for i in range(1, n + 1):
        cid = f"c{i}"
        log.start(cid, src=f"1380000000{i}", dst="96116", now=1000.0 * i)
        log.answered(cid, now=1000.0 * i + 2)
        log.end(cid, hangup_by="caller", now=1000.0 * i + 60 + i)
    db.conn.close()


def _tamper(site: Path, *sql: str) -> None:
    conn = sqlite3.connect(site / "ccd.sqlite3", isolation_level=None)
    try:
        for statement in sql:
            conn.execute(statement)
    finally:
        conn.close()


def test_verify_finds_an_edited_duration_a_deleted_row_and_an_inserted_row(tmp_path):
    config = _site(tmp_path)
    site = config.parent
    _calls(site, 6)
    ok = _ccd(config, "db", "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.splitlines() == ["seals: 6 call records checked", "seals: ok"]

    _tamper(site,
            "UPDATE calls SET duration = 6.0, billsec = 4.0 WHERE id = 'c2'",  # 收费 shortened
            "DELETE FROM call_events WHERE call_id = 'c4'",
            "DELETE FROM calls WHERE id = 'c4'",
            "INSERT INTO calls (id, start, \"end\", src, dst, disposition, duration, billsec) "
            "VALUES ('fake', '2026-11-01T00:00:00.000Z', '2026-11-01T00:01:00.000Z', "
            "'13900000000', '96116', 'ANSWERED', 60, 58)")
    bad = _ccd(config, "db", "verify")
    assert bad.returncode == 1
    assert bad.stdout.splitlines() == [
        "seals: 6 call records checked",
        "changed since sealed: call c2 (seal 2)",
        "removed: call c4 (seal 4) is gone",
        "not sealed (inserted or ended outside the daemon): call fake",
        "seals: FAULTS FOUND (see above)",
    ]
    check = _ccd(config, "db", "check")
    assert check.returncode == 1 and "changed since sealed: call c2 (seal 2)" in check.stdout


def test_a_forged_seal_and_a_cut_off_tail_are_found(tmp_path):
    config = _site(tmp_path)
    site = config.parent
    _calls(site, 5)
    _tamper(site, "UPDATE call_seals SET digest = '" + "ab" * 32 + "' WHERE seq = 3",
            "DELETE FROM call_seals WHERE seq = 5", "DELETE FROM call_events WHERE call_id = 'c5'",
            "DELETE FROM calls WHERE id = 'c5'")
    bad = _ccd(config, "db", "verify")
    assert bad.returncode == 1
    assert bad.stdout.splitlines() == [
        "seals: 4 call records checked",
        "removed: seals 5-5 (the newest) are gone",
        "seal does not follow the chain (forged or edited): seal 3 (call c3)",
        "seals: FAULTS FOUND (see above)",
    ]


def test_without_the_key_nothing_verifies_and_a_new_key_is_not_made_silently(tmp_path):
    config = _site(tmp_path)
    site = config.parent
    _calls(site, 2)
    (site / "seal.key").rename(site / "seal.key.away")
    out = _ccd(config, "db", "verify")
    assert out.returncode == 1 and "2 call records are sealed: restore the key" in out.stdout
    run = _ccd(config, "--set", "sip.enabled=false", "run")
    assert run.returncode == 1
    assert "the seal key is missing, but 2 call records are sealed" in run.stderr
    assert not (site / "seal.key").exists()


def test_a_restored_backup_verifies_without_a_false_cut_off(tmp_path):
    config = _site(tmp_path)
    site = config.parent
    _calls(site, 2)
    backup = _ccd(config, "db", "backup", str(tmp_path / "b.sqlite3"))
    assert backup.returncode == 0, backup.stderr
    # one more call after the backup, then the restore undoes it
    db = database.open_database(site / "ccd.sqlite3")
    sealer, _ = seal.open_sealer(db, site / "seal.key")
    log = CallLog(db, sealer=sealer)
    log.start("later", src="13800000009", dst="96116", now=9000.0)
    log.end("later", hangup_by="caller", now=9010.0)
    db.conn.close()
    assert _ccd(config, "db", "verify").returncode == 0
    restored = _ccd(config, "db", "restore", str(tmp_path / "b.sqlite3"))
    assert restored.returncode == 0, restored.stderr
    out = _ccd(config, "db", "verify")
    assert out.returncode == 0 and out.stdout.splitlines()[0] == "seals: 2 call records checked"
