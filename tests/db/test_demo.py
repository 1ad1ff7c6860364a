"""The demo generator: deterministic, internally consistent, with its well-known customers."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import time
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st

from ccd.api import auth
from ccd.timefmt import iso
from db import demo, lookup, open_database
from db.demo_data.calendar import Calendar
from db.demo_data.fixtures import FIXTURES
from tests.db.conftest import DEMO_CUSTOMERS, NOW


def content_digest(db: sqlite_utils.Database) -> str:
    """SHA-256 of every row of every table, sorted; salted password hashes and the migration
    log's wall-clock times left out."""
    digest = hashlib.sha256()
    tables = sorted(t for t in db.table_names() if not t.startswith(("_sqlite", "sqlite_")))
    for table in tables:
        columns = [c.name for c in db[table].columns if c.name != "password_hash"]
        digest.update(f"{table}:{columns}\n".encode())
        select = ", ".join(f'"{c}"' for c in columns)
        order = ", ".join(str(i + 1) for i in range(len(columns)))
        for row in db.execute(f'SELECT {select} FROM "{table}" ORDER BY {order}'):
            digest.update(repr(row).encode())
    return digest.hexdigest()


def make_demo(path: Path, **kwargs: object) -> tuple[sqlite_utils.Database, dict]:
    db = open_database(path)
    summary = demo.generate(db, **kwargs)  # type: ignore[arg-type]
    return db, summary


def scalar(db: sqlite_utils.Database, sql: str, params: list | None = None) -> object:
    return db.execute(sql, params or []).fetchone()[0]


def assert_consistent(db: sqlite_utils.Database, now: float) -> None:
    """Every invariant the generator promises (db/demo.py docstring)."""
    now_iso = iso(now)
    # balance = payments - bills, for every account
    assert scalar(db, """
        SELECT count(*) FROM accounts a WHERE a.balance_fen !=
          (SELECT coalesce(sum(amount_fen), 0) FROM payments p WHERE p.account_no = a.account_no)
        - (SELECT coalesce(sum(amount_fen), 0) FROM bills b WHERE b.account_no = a.account_no)
    """) == 0
    # arrears = the unpaid part of bills already past due
    assert scalar(db, """
        SELECT count(*) FROM accounts a WHERE a.arrears_fen !=
          (SELECT coalesce(sum(amount_fen - paid_fen), 0) FROM bills b
           WHERE b.account_no = a.account_no AND b.due_at < ?)
    """, [now_iso]) == 0
    assert scalar(db, "SELECT count(*) FROM bills WHERE paid_fen < 0 OR paid_fen > amount_fen") == 0
    # what bills record as paid was really paid (the rest of the payments are prepayments)
    assert scalar(db, """
        SELECT count(*) FROM accounts a WHERE
          (SELECT coalesce(sum(paid_fen), 0) FROM bills b WHERE b.account_no = a.account_no) >
          (SELECT coalesce(sum(amount_fen), 0) FROM payments p WHERE p.account_no = a.account_no)
    """) == 0
    # every account in a known district, every customer reachable and holding an account
    assert scalar(db, "SELECT count(*) FROM accounts WHERE district_code IS NULL OR "
                      "district_code NOT IN (SELECT code FROM districts)") == 0
    assert scalar(db, "SELECT count(*) FROM customers WHERE id NOT IN "
                      "(SELECT customer_id FROM customer_phones)") == 0
    assert scalar(db, "SELECT count(*) FROM customers WHERE id NOT IN "
                      "(SELECT customer_id FROM accounts)") == 0
    assert scalar(db, "SELECT max(n) FROM (SELECT count(*) AS n FROM customer_phones "
                      "GROUP BY customer_id)") <= 3
    # phone numbers: globally unique, stored in the normal form
    assert db.execute("SELECT phone FROM customer_phones GROUP BY phone HAVING count(*) > 1"
                      ).fetchall() == []
    phones = [row[0] for row in db.execute("SELECT phone FROM customer_phones")]
    assert [p for p in phones if lookup.normalize_phone(p) != p] == []
    # nothing happened after now; readings and bills agree on usage
    for sql in ("SELECT max(issued_at) FROM bills", "SELECT max(paid_at) FROM payments",
                "SELECT max(read_at) FROM meter_readings"):
        assert scalar(db, sql) <= now_iso
    assert scalar(db, """
        SELECT count(*) FROM accounts a WHERE
          (SELECT coalesce(sum(usage), 0) FROM bills b WHERE b.account_no = a.account_no) !=
          (SELECT coalesce(sum(usage), 0) FROM meter_readings r WHERE r.account_no = a.account_no)
    """) == 0
    assert scalar(db, "SELECT max(n) FROM (SELECT count(*) AS n FROM bills GROUP BY account_no)"
                  ) == 12
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_full_size_demo_is_consistent_and_reports_its_time(tmp_path: Path) -> None:
    started = time.perf_counter()
    db, summary = make_demo(tmp_path / "ccd.sqlite3", seed=1, customers=20000, now=NOW)
    seconds = time.perf_counter() - started
    size_mb = (tmp_path / "ccd.sqlite3").stat().st_size / 1e6
    print(f"\ndemo: 20000 customers in {seconds:.2f} s, {size_mb:.0f} MB: {summary}")
    assert summary["customers"] == scalar(db, "SELECT count(*) FROM customers") == 20000
    for table, key in (("customer_phones", "phones"), ("accounts", "accounts"),
                       ("bills", "bills"), ("payments", "payments"),
                       ("meter_readings", "meter_readings"), ("outages", "outages")):
        assert scalar(db, f"SELECT count(*) FROM {table}") == summary[key]
    assert_consistent(db, NOW)
    vip = scalar(db, "SELECT sum(vip) FROM customers")
    blocked = scalar(db, "SELECT sum(blocked) FROM customers")
    assert 20 <= vip <= 300 and 3 <= blocked <= 60  # "a few"
    utilities = dict(db.execute("SELECT utility, count(*) FROM accounts GROUP BY utility"))
    assert utilities["water"] > utilities["power"] > 0 and utilities["gas"] > 0
    # Chinese names, common surnames most common
    top = [row[0] for row in db.execute(
        "SELECT substr(name, 1, 1) AS s, count(*) FROM customers WHERE category = 'residential' "
        "GROUP BY s ORDER BY 2 DESC LIMIT 6")]
    assert {"王", "李", "张", "陈"} <= set(top)
    db.conn.close()


def test_same_seed_gives_same_content_another_seed_does_not(tmp_path: Path) -> None:
    digests = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        db, _ = make_demo(tmp_path / f"{name}.sqlite3", seed=seed, customers=800, now=NOW)
        digests[name] = content_digest(db)
        db.conn.close()
    assert digests["a"] == digests["b"]
    assert digests["c"] != digests["a"]


def test_the_history_moves_with_now() -> None:
    today = build_rows(NOW, customers=30)
    assert build_rows(NOW, customers=30) == today
    tomorrow = build_rows(NOW + 86400, customers=30)
    assert tomorrow.customers != today.customers  # created_at counts back from now
    # same billed months and amounts; some more of them paid by tomorrow
    assert [b[:6] for b in tomorrow.bills] == [b[:6] for b in today.bills]
    assert len(tomorrow.payments) >= len(today.payments)
    next_month = build_rows(NOW + 31 * 86400, customers=30)
    assert [b[1] for b in next_month.bills] != [b[1] for b in today.bills]


def test_session_demo_is_consistent(demo_db: sqlite_utils.Database) -> None:
    assert scalar(demo_db, "SELECT count(*) FROM customers") == DEMO_CUSTOMERS
    assert_consistent(demo_db, NOW)


def test_well_known_customers(demo_db: sqlite_utils.Database) -> None:
    by_key = {}
    for fixture in FIXTURES:
        customer = lookup.customer_by_phone(demo_db, fixture.phones[0][0], now=NOW)
        assert customer is not None, fixture.key
        assert customer["id"] == fixture.customer_id and customer["name"] == fixture.name
        assert [a["account_no"] for a in customer["accounts"]] == sorted(
            a.account_no for a in fixture.accounts)
        by_key[fixture.key] = customer
    outage = by_key["outage"]
    assert outage["accounts"][0]["district_code"] == "330106"
    assert [(o["utility"], o["kind"]) for o in outage["outages"]] == [("water", "unplanned")]
    assert by_key["vip"]["vip"] and not by_key["vip"]["blocked"]
    assert by_key["vip"]["accounts"][0]["balance_fen"] == 50000
    assert by_key["blocked"]["blocked"] and not by_key["blocked"]["vip"]
    arrears = by_key["arrears"]["accounts"][0]
    assert (arrears["balance_fen"], arrears["arrears_fen"]) == (-12345, 12345)
    assert by_key["english"]["language"] == "en"
    assert [a["utility"] for a in by_key["multi"]["accounts"]] == ["water", "power", "gas"]
    assert [o["utility"] for o in by_key["multi"]["outages"]] == ["water"]
    landline = lookup.customer_by_phone(demo_db, "0571-88000007", now=NOW)
    assert landline is not None and landline["id"] == 7 and landline["category"] == "commercial"
    assert [o["utility"] for o in landline["outages"]] == ["gas"]
    # districts with no current outage, as the docstring promises
    for key in ("vip", "blocked", "arrears", "english"):
        assert by_key[key]["outages"] == [], key


def test_demo_staff_queues_and_stations(demo_db: sqlite_utils.Database) -> None:
    roles = dict(demo_db.execute(
        "SELECT role, count(*) FROM user_roles GROUP BY role").fetchall())
    assert roles["admin"] == 1 and roles["teamlead"] == 2 and roles["agent"] >= 10
    agents = demo_db.execute(
        "SELECT u.username, u.agent_number, count(s.skill), min(s.level), max(s.level) "
        "FROM users u JOIN user_roles r ON r.user_id = u.id AND r.role = 'agent' "
        "LEFT JOIN agent_skills s ON s.user_id = u.id "
        # back-office staff (crew1, bill1...) hold the agent role for work orders, not calls
        "WHERE u.username NOT IN (SELECT u2.username FROM users u2 JOIN department_members m "
        "ON m.user_id = u2.id WHERE u2.agent_number IS NULL) GROUP BY u.id").fetchall()
    assert len(agents) >= 12
    for username, number, skills, low, high in agents:
        assert number and skills >= 1 and 1 <= low <= high <= 10, username
    assert {row[0] for row in demo_db.execute("SELECT name FROM skills")} == {
        "water", "billing", "power", "gas", "english"}
    assert {row[0] for row in demo_db.execute("SELECT name FROM queues")} == {
        "general", "billing", "repair", "english", "vip"}
    assert scalar(demo_db, "SELECT count(*) FROM queues WHERE name NOT IN "
                           "(SELECT queue FROM queue_skills)") == 0
    assert scalar(demo_db, "SELECT uri FROM stations WHERE name = 'seat01'") == (
        "sip:agent1001@127.0.0.1:5070")
    setting = json.loads(scalar(demo_db, "SELECT value FROM settings WHERE key = 'demo'"))
    assert "admin" in setting["insecure_passwords"] and setting["seed"] == 7


def test_demo_passwords_are_scrypt_hashes_that_verify(demo_db: sqlite_utils.Database) -> None:
    stored = dict(demo_db.execute("SELECT username, password_hash FROM users").fetchall())
    assert auth.verify_password("admin", stored["admin"])
    assert not auth.verify_password("wrong", stored["admin"])
    assert auth.verify_password("agent1001", stored["agent1001"])
    assert len(set(stored.values())) == len(stored)  # salted: no two hashes alike


def test_generate_refuses_a_database_with_customers(demo_db: sqlite_utils.Database) -> None:
    with pytest.raises(demo.DemoNotEmpty) as caught:
        demo.generate(demo_db, customers=10, now=NOW)
    assert caught.value.error_id == "demo-not-empty"
    assert "customers" in caught.value.details["tables"]


def test_generate_refuses_a_database_with_users(tmp_path: Path) -> None:
    db = open_database(tmp_path / "x.sqlite3")
    db["users"].insert({"username": "root", "created_at": "t", "updated_at": "t"})
    with pytest.raises(demo.DemoNotEmpty, match="already has users"):
        demo.generate(db, customers=10, now=NOW)
    assert scalar(db, "SELECT count(*) FROM customers") == 0
    db.conn.close()


def test_generate_refuses_fewer_customers_than_fixtures(tmp_path: Path) -> None:
    db = open_database(tmp_path / "x.sqlite3")
    with pytest.raises(ValueError, match="at least 7"):
        demo.generate(db, customers=3, now=NOW)
    assert scalar(db, "SELECT count(*) FROM customers") == 0
    db.conn.close()


# -- the history around any `now` --------------------------------------------------------------

LOCAL = dt.timezone(dt.timedelta(hours=8))


def build_rows(now: int, customers: int, seed: int = 1) -> demo._Rows:
    builder = demo._Builder(random.Random(seed), Calendar(now))
    rows = demo._Rows([], [], [], [], [], [])
    for chunk in builder.chunks(customers, size=7):
        for name in demo._Rows.__dataclass_fields__:
            getattr(rows, name).extend(getattr(chunk, name))
    return rows


@settings(max_examples=40, deadline=None)
@given(st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2031, 12, 31)))
def test_history_is_consistent_whatever_the_day(moment: dt.datetime) -> None:
    now = int(moment.replace(tzinfo=LOCAL).timestamp())
    now_iso = iso(now)
    rows = build_rows(now, customers=40)
    bills: dict[str, list[tuple]] = {}
    for bill in rows.bills:
        bills.setdefault(bill[0], []).append(bill)
    paid: dict[str, int] = {}
    for account_no, paid_at, amount, _channel in rows.payments:
        assert paid_at <= now_iso
        paid[account_no] = paid.get(account_no, 0) + amount
    for account_no, *_, balance, arrears, _status, opened_at in rows.accounts:
        mine = bills.get(account_no, [])
        assert len(mine) <= 12
        assert all(b[4] <= now_iso for b in mine)  # issued already
        assert balance == paid.get(account_no, 0) - sum(b[3] for b in mine)
        assert arrears == sum(b[3] - b[6] for b in mine if b[5] < now_iso)
        assert opened_at <= now_iso
    # the arrears fixture owes exactly 123.45 yuan, all of it overdue, on any day
    fixture = next(a for a in rows.accounts if a[0] == "1060000004")
    assert (fixture[6], fixture[7]) == (-12345, 12345)
    assert [b[3] for b in bills["1060000004"]][-3:] == [11765, 580, 0]


def test_current_and_upcoming_outages_surround_now(demo_db: sqlite_utils.Database) -> None:
    notices = lookup.outage_notices(demo_db, NOW)
    current = [o for o in notices if o["status"] == "current"]
    upcoming = [o for o in notices if o["status"] == "upcoming"]
    assert {(o["utility"], o["kind"], o["district_code"]) for o in current} == {
        ("water", "unplanned", "330106"), ("water", "planned", "330105"),
        ("power", "unplanned", "330108"), ("gas", "planned", "330109")}
    assert len(upcoming) == 2 and all(o["kind"] == "planned" for o in upcoming)
    for outage in current:
        assert outage["starts_at"] <= iso(NOW) < outage["ends_at"]
        assert outage["cause"] and outage["cause_en"] and outage["area"] and outage["area_en"]
    past = scalar(demo_db, "SELECT count(*) FROM outages WHERE ends_at <= ?", [iso(NOW)])
    assert past >= 30
