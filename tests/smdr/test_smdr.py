"""SMDR import: Panasonic fixed columns and Avaya IP Office CSV into `calls`, idempotently."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys

import pytest

import db as database
from ccd import smdr

PANASONIC = """\
  Date     Time    Ext  CO  Dial Number                      Ring Duration  Acc code  CD
----------------------------------------------------------------------------------------
01/02/02 10:03AM   101  01  <I>13800000004                   0'05 00:01'05            TR
01/02/02 10:05AM   102  02  95598                                 00:00'32  1234
01/02/02 11:40PM   103  01  <D>96655                         0'12 00:00'00
this line is noise from the printer
"""

AVAYA = """\
2026/12/05 09:35:12,00:01:05,5,13800000004,I,96655,96655,,0,1000123,0,E201,Zhang,T9001,Line 1.1,0,0
2026/12/05 09:40:00,00:00:30,0,201,O,13912345678,13912345678,77,0,1000124,0,E201,Zhang,T9002,Line 2.1,0,0
"""


def test_panasonic_record_fields():
    call = smdr.parse_panasonic(PANASONIC.splitlines()[2])
    assert call is not None
    assert call.start == dt.datetime(2002, 1, 2, 10, 3)
    assert (call.direction, call.extension, call.line, call.number) == ("in", "101", "01",
                                                                          "13800000004")
    assert (call.ring_s, call.duration_s, call.condition) == (5, 65, "TR")
    out = smdr.parse_panasonic(PANASONIC.splitlines()[3])
    assert out is not None and (out.direction, out.number, out.account) == ("out", "95598", "1234")
    assert smdr.parse_panasonic(PANASONIC.splitlines()[0]) is None
    with pytest.raises(smdr.SmdrError):
        smdr.parse_panasonic("this line is noise from the printer")


def test_avaya_record_fields():
    inbound, outbound = (smdr.parse_avaya(x) for x in AVAYA.splitlines())
    assert inbound is not None and outbound is not None
    assert (inbound.direction, inbound.number, inbound.extension, inbound.ring_s,
            inbound.duration_s) == ("in", "13800000004", "201", 5, 65)
    assert (outbound.direction, outbound.number, outbound.account) == ("out", "13912345678", "77")


def test_import_is_idempotent_and_in_site_time(tmp_path):
    db = database.open_database(tmp_path / "ccd.sqlite3")
    first = smdr.import_lines(db, PANASONIC.splitlines(), "panasonic", "Asia/Shanghai")
    again = smdr.import_lines(db, PANASONIC.splitlines(), "panasonic", "Asia/Shanghai")
    assert (first.imported, first.skipped, len(first.errors or [])) == (3, 2, 1)
    assert "line 6" in (first.errors or [""])[0]
    assert (again.imported, again.already) == (0, 3)
    rows = db.execute("SELECT src, dst, direction, start, answer, disposition, billsec, "
                      "userfield FROM calls ORDER BY start").fetchall()
    db.conn.close()
    assert rows[0] == ("13800000004", "101", "in", "2002-01-02T02:03:00.000Z",
                       "2002-01-02T02:03:05.000Z", "ANSWERED", 65.0, "smdr")
    assert rows[1][:3] == ("102", "95598", "out")
    assert rows[2][5] == "NO ANSWER"


def test_cli_imports_a_file(tmp_path):
    site = tmp_path / "site"
    out = subprocess.run([sys.executable, "-m", "ccd", "init", "--dir", str(site)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    log = tmp_path / "smdr.csv"
    log.write_text(AVAYA, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "ccd", "--config", str(site / "ccd.toml"),
                          "smdr", "import", str(log), "--format", "avaya"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "2 imported, 0 already there" in run.stdout
    conn = sqlite3.connect(site / "ccd.sqlite3")
    count = conn.execute("SELECT COUNT(*) FROM calls WHERE userfield = 'smdr'").fetchone()
    conn.close()
    assert count == (2,)
    bad = subprocess.run([sys.executable, "-m", "ccd", "--config", str(site / "ccd.toml"),
                          "smdr", "import", str(log), "--format", "nec"],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "--format must be one of panasonic, avaya" in bad.stderr
