"""`ccd customers import`: real CSV files (UTF-8, GBK, a broken line), a real SQLite file."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils
from typer.testing import CliRunner

from ccd.customers_import import ImportFailed, import_csv, normalize_phone, parse_mapping
from db import open_database
from tests.workorders.cli_app import build, make_site

HEADER = "户号,户名,联系电话,用水地址,区域,表号,用户类别,欠费金额\n"
ROWS = [
    "1030000101,张伟,138-0000-0101,西湖区文三路1号,西湖区,M0101,居民,0\n",
    "1030000102,李娜,+86 139 0000 0102;0571-8800-0102,西湖区文三路2号,330106,M0102,居民,12.50\n",
    "1030000103,杭州某某餐饮有限公司,0086 571 8800 0103,西湖区文三路3号,330106,M0103,商业,1234.56\n",
]
DUPLICATE = "1030000101,张伟(重复),13800000101,西湖区文三路1号,西湖区,M0101,居民,0\n"
BAD_PHONE = "1030000104,王芳,12345,西湖区文三路4号,西湖区,M0104,居民,0\n"
BAD_PHONE_LETTERS = "1030000105,赵强,138abc00105,西湖区文三路5号,西湖区,M0105,居民,0\n"
BAD_AMOUNT = "1030000106,钱七,13800000106,西湖区文三路6号,西湖区,M0106,居民,1.234\n"
BAD_DISTRICT = "1030000107,孙八,13800000107,火星路7号,火星区,M0107,居民,0\n"
NO_NAME = "1030000108,,13800000108,西湖区文三路8号,西湖区,M0108,居民,0\n"
SHORT_ROW = "1030000109,周九\n"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_database(tmp_path / "ccd.sqlite3")
    database.execute("INSERT INTO districts (code, name, name_en) VALUES "
                     "('330106', '西湖区', 'Xihu'), ('330102', '上城区', 'Shangcheng')")
    yield database
    database.conn.close()


def fingerprint(db: sqlite_utils.Database) -> str:
    """A hash of every customer, account and phone row, timestamps included."""
    h = hashlib.sha256()
    for table in ("customers", "accounts", "customer_phones"):
        for row in db.execute(f"SELECT * FROM {table} ORDER BY 1"):
            h.update(repr(row).encode())
    return h.hexdigest()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


MIXED = HEADER + "".join(ROWS) + DUPLICATE + BAD_PHONE + BAD_PHONE_LETTERS + BAD_AMOUNT \
    + BAD_DISTRICT + NO_NAME + SHORT_ROW


def test_good_duplicate_and_bad_rows_with_a_reason_each(db: sqlite_utils.Database,
                                                        tmp_path: Path) -> None:
    report = import_csv(db, write(tmp_path / "c.csv", MIXED), now=1_800_000_000)
    assert (report.encoding, report.rows, report.added, report.changed) == ("utf-8", 10, 3, 0)
    assert [(r.line, r.account_no, r.reason_id) for r in report.rejected] == [
        (5, "1030000101", "duplicate"),
        (6, "1030000104", "bad-phone"),
        (7, "1030000105", "bad-phone"),
        (8, "1030000106", "bad-arrears"),
        (9, "1030000107", "unknown-district"),
        (10, "1030000108", "missing-name"),
        (11, "", "bad-row"),
    ]
    assert "line 2" in report.rejected[0].reason and "'12345'" in report.rejected[1].reason
    phones = db.execute("SELECT customer_id, phone, kind FROM customer_phones ORDER BY id"
                        ).fetchall()
    assert [p[1:] for p in phones] == [
        ("13800000101", "mobile"), ("13900000102", "mobile"), ("057188000102", "landline"),
        ("057188000103", "landline")]
    acc = db.execute("SELECT account_no, address, district_code, meter_no, arrears_fen "
                     "FROM accounts ORDER BY 1").fetchall()
    assert acc[1] == ("1030000102", "西湖区文三路2号", "330106", "M0102", 1250)
    assert acc[2][4] == 123456
    cats = db.execute("SELECT name, category FROM customers ORDER BY id").fetchall()
    assert cats == [("张伟", "residential"), ("李娜", "residential"),
                    ("杭州某某餐饮有限公司", "commercial")]


def test_rerunning_the_same_file_changes_nothing(db: sqlite_utils.Database,
                                                 tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", MIXED)
    import_csv(db, path, now=1_800_000_000)
    before = fingerprint(db)
    again = import_csv(db, path, now=1_800_086_400)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 3)
    assert len(again.rejected) == 7
    assert fingerprint(db) == before  # not even updated_at moved


def test_a_changed_cell_is_one_change_naming_the_field(db: sqlite_utils.Database,
                                                       tmp_path: Path) -> None:
    import_csv(db, write(tmp_path / "a.csv", HEADER + "".join(ROWS)), now=1_800_000_000)
    moved = ROWS[0].replace("文三路1号", "文三路100号").replace("138-0000-0101",
                                                          "138-0000-0101;13700000101")
    report = import_csv(db, write(tmp_path / "b.csv", HEADER + moved + "".join(ROWS[1:])),
                        now=1_800_086_400)
    assert (report.added, report.changed, report.unchanged) == (0, 1, 2)
    assert [(c.account_no, c.fields) for c in report.changes] == [
        ("1030000101", ["address", "phones"])]
    assert db.execute("SELECT updated_at FROM customers WHERE name = '张伟'").fetchone() == (
        "2027-01-16T08:00:00.000Z",)
    assert db.execute("SELECT count(*) FROM customers").fetchone() == (3,)


def test_gbk_files_are_detected_or_named(db: sqlite_utils.Database, tmp_path: Path) -> None:
    path = write(tmp_path / "gbk.csv", HEADER + "".join(ROWS), "gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    report = import_csv(db, path)
    assert (report.encoding, report.added, report.rejected) == ("gb18030", 3, [])
    assert db.execute("SELECT name FROM customers ORDER BY id").fetchall()[0] == ("张伟",)
    named = import_csv(db, path, encoding="gbk")
    assert (named.encoding, named.unchanged) == ("gbk", 3)


def test_a_gbk_line_in_a_utf8_file_refuses_the_file(db: sqlite_utils.Database,
                                                   tmp_path: Path) -> None:
    """One encoding per file (issue 13): a mix is refused whole, naming both kinds of line."""
    data = (HEADER + ROWS[0] + ROWS[1]).encode("utf-8") + ROWS[2].encode("gbk")
    before = fingerprint(db)
    with pytest.raises(ImportFailed) as refused:
        import_csv(db, _bytes(tmp_path, data))
    assert "mixes encodings: line 1 is UTF-8 text but line 4 (byte 0xba at column 12)" \
        in refused.value.message
    assert "--encoding" in refused.value.message
    assert fingerprint(db) == before


def _bytes(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "raw.csv"
    path.write_bytes(data)
    return path


def test_a_bom_and_windows_line_ends(db: sqlite_utils.Database, tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + (HEADER + ROWS[0]).replace("\n", "\r\n").encode("utf-8")
    report = import_csv(db, _bytes(tmp_path, data))
    assert (report.added, report.rejected) == (1, [])
    assert db.execute("SELECT account_no FROM accounts").fetchone() == ("1030000101",)


def test_a_column_mapping_for_unknown_headers(db: sqlite_utils.Database, tmp_path: Path) -> None:
    text = "CUST_NO\tHOLDER\tMOBILE\tPREMISES\tNOTE\n1030000201\tAnna Li\t13800000201\t1 Road\tx\n"
    with pytest.raises(ImportFailed) as info:
        import_csv(db, write(tmp_path / "m.csv", text))
    assert "no column for account_no, name, address" in info.value.message
    mapping = parse_mapping(["CUST_NO=account_no,HOLDER=name", "MOBILE=phones",
                             "PREMISES=address"])
    report = import_csv(db, tmp_path / "m.csv", mapping=mapping)
    assert (report.added, report.ignored_columns) == (1, ["NOTE"])
    with pytest.raises(ImportFailed):
        parse_mapping(["CUST_NO=acount_no"])
    with pytest.raises(ImportFailed) as info:
        import_csv(db, tmp_path / "m.csv", mapping={"NOPE": "name"})
    assert "NOPE" in info.value.message


def test_dry_run_writes_nothing(db: sqlite_utils.Database, tmp_path: Path) -> None:
    before = fingerprint(db)
    report = import_csv(db, write(tmp_path / "c.csv", MIXED), dry_run=True)
    assert report.added == 3 and report.dry_run
    assert fingerprint(db) == before


@pytest.mark.parametrize(("raw", "normal"), [
    ("13800000001", "13800000001"),
    ("+86 138-0000-0001", "13800000001"),
    ("0086 13800000001", "13800000001"),
    ("86 13800000001", "13800000001"),
    ("0571-8800-0007", "057188000007"),
    ("(0571) 88000007", "057188000007"),
    ("+86 571 88000007", "057188000007"),
    ("88000007", "057188000007"),
    ("+44 20 7946 0958", "00442079460958"),
    ("12345", None),
    ("138abc00001", None),
    ("", None),
    ("1380000000", None),
])
def test_phone_normal_form(raw: str, normal: str | None) -> None:
    assert normalize_phone(raw) == normal


def test_ccd_customers_import(tmp_path: Path) -> None:
    cfg = make_site(tmp_path)
    db = open_database(tmp_path / "ccd.sqlite3")
    db.execute("INSERT INTO districts (code, name) VALUES ('330106', '西湖区')")
    db.conn.close()
    path = write(tmp_path / "export.csv", HEADER + "".join(ROWS) + BAD_PHONE, "gbk")
    runner = CliRunner()
    result = runner.invoke(build(), ["--config", str(cfg), "customers", "import", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (f"{path} (gb18030): 4 rows — added 3, changed 0, unchanged 0, "
                        "rejected 1")
    assert lines[1] == ("  line 5: rejected 1030000104: phone '12345' is not a mobile or "
                        "landline number")
    result = runner.invoke(build(), ["--config", str(cfg), "customers", "import", str(path),
                                     "--encoding", "gbk", "--json"])
    report = json.loads(result.output)
    assert (report["added"], report["unchanged"], report["encoding"]) == (0, 3, "gbk")
    result = runner.invoke(build(), ["--config", str(cfg), "customers", "import",
                                     str(tmp_path / "missing.csv")])
    assert result.exit_code == 1 and "no such file" in result.output


def test_phones_separated_by_spaces_or_punctuation(db: sqlite_utils.Database,
                                                   tmp_path: Path) -> None:
    text = (HEADER + '1030000301,甲,"13800000301 13900000301",地址1,,,,0\n'
            '1030000302,乙,13800000302、0571 8800 0302,地址2,,,,0\n'
            "1030000303,丙,13800000303 12,地址3,,,,0\n")
    report = import_csv(db, write(tmp_path / "p.csv", text))
    assert report.added == 2 and [r.reason_id for r in report.rejected] == ["bad-phone"]
    assert [r[0] for r in db.execute("SELECT phone FROM customer_phones ORDER BY id")] == [
        "13800000301", "13900000301", "13800000302", "057188000302"]
