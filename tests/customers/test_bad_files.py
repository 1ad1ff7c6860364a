"""The bad customer files of issue 13, each with the exact report: nothing half-committed,
nothing hidden, one encoding, no spreadsheet formulas, and an interrupted import resumes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from ccd import import_runs
from ccd.customers_import import (
    ImportFailed,
    Neutralised,
    Rejected,
    import_csv,
)
from db import open_database

HEADER = "户号,户名,联系电话,用水地址,欠费金额\n"


def row(n: int, *, name: str | None = None, address: str | None = None,
        arrears: str = "0") -> str:
    return (f"10300{n:05d},{name if name is not None else f'用户{n}'},138{n:08d},"
            f"{address if address is not None else f'文三路{n}号'},{arrears}\n")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_database(tmp_path / "ccd.sqlite3")
    yield database
    database.conn.close()


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "customers.csv"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def accounts(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT count(*) FROM accounts").fetchone()[0]


def test_an_overflowing_amount_after_many_rows_is_one_rejected_row(db, tmp_path):
    rows = [row(n) for n in range(1, 1501)] + [row(1501, arrears="99999999999999999999999")]
    report = import_csv(db, write(tmp_path, HEADER + "".join(rows)))
    assert (report.rows, report.added, report.changed, report.unchanged) == (1501, 1500, 0, 0)
    assert report.rejected == [Rejected(
        1502, "1030001501", "bad-arrears",
        "arrears '99999999999999999999999' is out of range (at most 10,000,000 yuan either way)")]
    assert accounts(db) == 1500


def test_an_unbalanced_quote_is_one_rejection_covering_every_merged_line(db, tmp_path):
    rows = [row(n) for n in range(1, 31)]
    rows[3] = '1030000004,"张伟,13800000004,文三路4号,0\n'  # line 5: the quote never closes...
    rows[22] = '1030000023,王"五,13800000023,文三路23号,0\n'  # ...until line 24
    report = import_csv(db, write(tmp_path, HEADER + "".join(rows)))
    assert report.rows == 30
    assert report.rejected == [Rejected(
        5, "1030000004", "unbalanced-quote",
        'a quoted cell runs from line 5 to line 24 (20 lines): an unbalanced quote (") merged '
        "them into one row; fix the quote", 20)]
    assert (report.added, report.rejected_lines) == (10, 20)
    assert report.added + report.changed + report.unchanged + report.rejected_lines == report.rows
    longest = db.execute("SELECT max(length(name)) FROM customers").fetchone()[0]
    assert longest <= 100


def test_a_utf8_file_with_one_gbk_line_is_refused_whole(db, tmp_path):
    data = (HEADER + row(1) + row(2)).encode("utf-8") + row(3, name="李娜").encode("gbk") \
        + row(4).encode("utf-8")
    with pytest.raises(ImportFailed) as refused:
        import_csv(db, write(tmp_path, data))
    assert refused.value.message == (
        f"{tmp_path / 'customers.csv'}: mixes encodings: line 1 is UTF-8 text but line 4 (byte "
        "0xc0 at column 12) is not UTF-8 (GBK?); save the whole file in one encoding, or pass "
        "--encoding to read all of it as one; nothing imported")
    assert accounts(db) == 0
    # Told the encoding, the same bytes are read as one: the GBK line right, the UTF-8 ones not
    # valid GBK here, so refused again rather than stored as mojibake.
    with pytest.raises(ImportFailed) as as_gbk:
        import_csv(db, write(tmp_path, data), encoding="gbk")
    assert "not valid gbk" in as_gbk.value.message and accounts(db) == 0


def test_a_whole_gbk_file_is_read_as_gbk(db, tmp_path):
    report = import_csv(db, write(tmp_path, (HEADER + row(1, name="李娜")).encode("gbk")))
    assert (report.encoding, report.added) == ("gb18030", 1)
    assert db.execute("SELECT name FROM customers").fetchone()[0] == "李娜"


def test_formula_like_cells_are_neutralised_for_spreadsheets(db, tmp_path):
    text = HEADER + row(1, address="=1+1") + row(2, name="@SUM(A1:A9)") + row(3, name="+86 某某") \
        + row(4, address="-2+3") + row(5)
    report = import_csv(db, write(tmp_path, text))
    assert (report.rows, report.added, report.rejected) == (5, 5, [])
    assert report.neutralised == [
        Neutralised(2, "1030000001", "address"), Neutralised(3, "1030000002", "name"),
        Neutralised(4, "1030000003", "name"), Neutralised(5, "1030000004", "address")]
    stored = dict(db.execute("SELECT a.account_no, a.address || '|' || c.name FROM accounts a "
                             "JOIN customers c ON c.id = a.customer_id").fetchall())
    assert stored["1030000001"] == "'=1+1|用户1"
    assert stored["1030000002"] == "文三路2号|'@SUM(A1:A9)"
    assert stored["1030000004"] == "'-2+3|用户4"
    assert stored["1030000005"] == "文三路5号|用户5"


def test_too_long_fields_are_rejected_not_stored(db, tmp_path):
    report = import_csv(db, write(tmp_path, HEADER + row(1, name="长" * 101) + row(2)))
    assert report.rejected == [Rejected(2, "1030000001", "too-long",
                                        "name has 101 characters (at most 100)")]
    assert report.added == 1


def test_an_interrupted_import_resumes_after_its_last_committed_chunk(db, tmp_path, monkeypatch):
    monkeypatch.setattr(import_runs, "CHUNK_SECONDS", 3600.0)  # chunks by rows only: exact lines
    monkeypatch.setattr(import_runs, "CHUNK_ROWS", 1000)
    path = write(tmp_path, HEADER + "".join(row(n) for n in range(1, 2501)))
    # A real fault inside the second chunk: the database refuses account 1030001800.
    db.execute("CREATE TRIGGER refuse BEFORE INSERT ON accounts WHEN NEW.account_no = "
               "'1030001800' BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END")
    with pytest.raises(Exception, match="disk full"):
        import_csv(db, path)
    assert accounts(db) == 1000  # the first chunk, committed; the second rolled back whole
    assert db.execute("SELECT status, next_line, added FROM import_runs").fetchall() == [
        ("running", 1001, 1000)]
    db.execute("DROP TRIGGER refuse")
    report = import_csv(db, path)
    assert report.resumed_after_line == 1001
    assert (report.rows, report.added, report.unchanged, report.rejected) == (2500, 2500, 0, [])
    assert accounts(db) == 2500
    assert db.execute("SELECT status, next_line, added FROM import_runs").fetchall() == [
        ("done", 2501, 2500)]
    again = import_csv(db, path)  # a finished run is not resumed: a new run, all unchanged
    assert (again.resumed_after_line, again.unchanged, again.added) == (None, 2500, 0)
