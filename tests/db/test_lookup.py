"""The IVR and screen-pop queries against the session demo database."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlite_utils

from db import lookup, open_database
from tests.db.conftest import NOW

DAY = 86400


@pytest.mark.parametrize(("raw", "normal"), [
    ("13800000001", "13800000001"),
    ("+86 138-0000-0001", "13800000001"),
    ("008613800000001", "13800000001"),
    ("8613800000001", "13800000001"),
    ("013800000001", "13800000001"),  # mobile dialled with the long-distance 0
    ("sip:13800000001@127.0.0.1:5060", "13800000001"),
    ("sip:+8613800000001@10.0.0.1;user=phone", "13800000001"),
    ("tel:+86-138-0000-0001", "13800000001"),
    ("0571-88000007", "057188000007"),
    ("(0571) 8800 0007", "057188000007"),
    ("88000007", "057188000007"),  # local number: the default area code
    ("+86 571 88000007", "057188000007"),
    ("+86 10 12345678", "01012345678"),
    ("+44 20 7946 0000", "00442079460000"),
    ("95598", "95598"),
    ("anonymous", ""),
    ("sip:anonymous@anonymous.invalid", ""),
    ("", ""),
])
def test_normalize_phone(raw: str, normal: str) -> None:
    assert lookup.normalize_phone(raw) == normal


def test_normalize_phone_uses_the_given_area_code() -> None:
    assert lookup.normalize_phone("62345678", area_code="010") == "01062345678"


@pytest.mark.parametrize("caller_id", [
    "13800000001", "+8613800000001", "sip:13800000001@127.0.0.1", "138 0000 0001"])
def test_customer_by_phone_in_any_shape(demo_db: sqlite_utils.Database, caller_id: str) -> None:
    customer = lookup.customer_by_phone(demo_db, caller_id)
    assert customer is not None
    assert customer["id"] == 1 and customer["matched_phone"] == "13800000001"
    assert customer["phones"] == [{"phone": "13800000001", "kind": "mobile"}]
    account = customer["accounts"][0]
    assert account["account_no"] == "1030000001" and account["district_name"] == "西湖区"
    assert customer["other_customer_ids"] == []
    assert "outages" not in customer  # only with now=


def test_customer_by_phone_matches_the_database(demo_db: sqlite_utils.Database) -> None:
    for customer_id, phone in demo_db.execute(
            "SELECT customer_id, phone FROM customer_phones WHERE customer_id > 7 "
            "ORDER BY id LIMIT 200").fetchall():
        customer = lookup.customer_by_phone(demo_db, phone)
        assert customer is not None and customer["id"] == customer_id
        accounts = [row[0] for row in demo_db.execute(
            "SELECT account_no FROM accounts WHERE customer_id = ? ORDER BY account_no",
            [customer_id])]
        assert [a["account_no"] for a in customer["accounts"]] == accounts
        vip, blocked = demo_db.execute(
            "SELECT vip, blocked FROM customers WHERE id = ?", [customer_id]).fetchone()
        assert (customer["vip"], customer["blocked"]) == (bool(vip), bool(blocked))


def test_unknown_and_withheld_numbers(demo_db: sqlite_utils.Database) -> None:
    assert lookup.customer_by_phone(demo_db, "13899999999") is None
    assert lookup.customer_by_phone(demo_db, "anonymous") is None
    assert lookup.caller_flags(demo_db, "") == {"known": False, "vip": False, "blocked": False,
                                                "restricted": False}


def test_shared_numbers_and_bare_local_numbers(tmp_path: Path) -> None:
    db = open_database(tmp_path / "x.sqlite3")
    db["customers"].insert_all([
        {"id": i, "name": name, "created_at": "t", "updated_at": "t"}
        for i, name in ((1, "甲"), (2, "乙"), (3, "丙"))])
    db["customer_phones"].insert_all([
        {"customer_id": 2, "phone": "13912345678", "kind": "mobile"},
        {"customer_id": 1, "phone": "13912345678", "kind": "mobile"},
        {"customer_id": 3, "phone": "88001234", "kind": "landline"}])  # stored bare
    shared = lookup.customer_by_phone(db, "13912345678")
    assert shared is not None and shared["id"] == 1 and shared["other_customer_ids"] == [2]
    for caller_id in ("057188001234", "0571-8800-1234", "88001234"):
        found = lookup.customer_by_phone(db, caller_id)
        assert found is not None and found["id"] == 3, caller_id
    db.conn.close()


def test_customer_by_account(demo_db: sqlite_utils.Database) -> None:
    customer = lookup.customer_by_account(demo_db, " 1060000004 ")
    assert customer is not None and customer["id"] == 4 and customer["name"] == "刘芳"
    assert customer["matched_account"] == "1060000004"
    assert lookup.customer_by_account(demo_db, "9999999999") is None


def test_account_summary_of_the_arrears_fixture(demo_db: sqlite_utils.Database) -> None:
    summary = lookup.account_summary(demo_db, "1060000004")
    assert summary is not None
    assert (summary["balance_fen"], summary["arrears_fen"]) == (-12345, 12345)
    assert summary["customer_name"] == "刘芳" and summary["unit"] == "m³"
    assert summary["last_bill"]["period"] == "2026-04" and summary["last_bill"]["amount_fen"] == 0
    assert summary["last_reading"]["usage"] == 0.0
    previous = demo_db.execute(
        "SELECT amount_fen, paid_fen FROM bills WHERE account_no = '1060000004' "
        "ORDER BY period DESC LIMIT 2 OFFSET 1").fetchall()
    assert previous == [(580, 0), (11765, 0)]


def test_account_summary_agrees_with_the_tables(demo_db: sqlite_utils.Database) -> None:
    accounts = [row[0] for row in demo_db.execute(
        "SELECT account_no FROM accounts WHERE arrears_fen > 0 AND customer_id > 7 LIMIT 5")]
    assert accounts
    for account_no in accounts:
        summary = lookup.account_summary(demo_db, account_no)
        assert summary is not None
        balance, arrears = demo_db.execute(
            "SELECT balance_fen, arrears_fen FROM accounts WHERE account_no = ?",
            [account_no]).fetchone()
        assert (summary["balance_fen"], summary["arrears_fen"]) == (balance, arrears)
        last_bill = demo_db.execute(
            "SELECT period, usage, amount_fen, paid_fen, issued_at, due_at FROM bills "
            "WHERE account_no = ? ORDER BY period DESC LIMIT 1", [account_no]).fetchone()
        assert tuple(summary["last_bill"].values()) == last_bill
        last_reading = demo_db.execute(
            "SELECT read_at, reading, usage, source FROM meter_readings WHERE account_no = ? "
            "ORDER BY read_at DESC LIMIT 1", [account_no]).fetchone()
        assert tuple(summary["last_reading"].values()) == last_reading
    assert lookup.account_summary(demo_db, "0000000000") is None


def test_current_outages(demo_db: sqlite_utils.Database) -> None:
    current = lookup.current_outages(demo_db, "330106", NOW)
    assert [(o["id"], o["utility"], o["kind"], o["status"]) for o in current] == [
        (1, "water", "unplanned", "current")]
    outage = current[0]
    assert outage["district_name"] == "西湖区" and outage["area"] and outage["cause_en"]
    assert lookup.current_outages(demo_db, "330106", NOW, utility="power") == []
    start = lookup._ts(outage["starts_at"])
    end = lookup._ts(outage["ends_at"])
    assert lookup.current_outages(demo_db, "330106", start - 1) == []
    assert [o["id"] for o in lookup.current_outages(demo_db, "330106", start)] == [1]
    assert lookup.current_outages(demo_db, "330106", end) == []  # restored at ends_at
    assert lookup.current_outages(demo_db, "330102", NOW) == []
    # ISO text works as well as epoch seconds, without milliseconds too
    assert lookup.current_outages(demo_db, "330106", "2026-05-17T06:40:00Z") == current


def test_outages_for_district_lists_upcoming_ones(demo_db: sqlite_utils.Database) -> None:
    notices = lookup.outages_for_district(demo_db, "330113", NOW)
    assert [(o["utility"], o["kind"], o["status"]) for o in notices] == [
        ("water", "planned", "upcoming")]
    assert lookup.outages_for_district(demo_db, "330113", NOW, ahead_s=3600) == []
    everything = lookup.outage_notices(demo_db, NOW)
    assert [o["starts_at"] for o in everything] == sorted(o["starts_at"] for o in everything)
    assert len(lookup.districts(demo_db)) == 10


def test_vip_and_blocked(demo_db: sqlite_utils.Database) -> None:
    assert lookup.is_vip(demo_db, "13800000002") and lookup.is_vip(demo_db, "0571-87000002")
    assert not lookup.is_blocked(demo_db, "13800000002")
    assert lookup.is_blocked(demo_db, "+86 138 0000 0003")
    assert not lookup.is_vip(demo_db, "13800000003")
    assert not lookup.is_vip(demo_db, "13899999999") and not lookup.is_blocked(demo_db, "1")
    blocked = demo_db.execute(
        "SELECT p.phone FROM customer_phones p JOIN customers c ON c.id = p.customer_id "
        "WHERE c.blocked = 1").fetchall()
    assert len(blocked) > 1
    assert all(lookup.is_blocked(demo_db, phone) for (phone,) in blocked)
    plain = demo_db.execute(
        "SELECT p.phone FROM customer_phones p JOIN customers c ON c.id = p.customer_id "
        "WHERE c.blocked = 0 AND c.vip = 0 LIMIT 50").fetchall()
    assert not any(lookup.caller_flags(demo_db, p)["blocked"] for (p,) in plain)
    assert all(lookup.caller_flags(demo_db, p)["known"] for (p,) in plain)


@pytest.mark.parametrize(("text", "matched_on"), [
    ("刘芳", "name"),
    ("1060000004", "account"),
    ("106000000", "account"),
    ("13800000004", "phone"),
    ("0000004", "phone"),
    ("五常大道181号西溪蝶园", "address"),
    ("w1800000004", "meter"),
])
def test_search_customers(demo_db: sqlite_utils.Database, text: str, matched_on: str) -> None:
    results = lookup.search_customers(demo_db, text)
    assert 4 in [r["id"] for r in results]
    hit = next(r for r in results if r["id"] == 4)
    assert hit["matched_on"] == matched_on
    assert hit["accounts"][0]["account_no"] == "1060000004"


def test_search_limits_and_escapes(demo_db: sqlite_utils.Database) -> None:
    wangs = lookup.search_customers(demo_db, "王", limit=5)
    assert len(wangs) == 5 and all("王" in r["name"] for r in wangs)
    assert lookup.search_customers(demo_db, "%") == []
    assert lookup.search_customers(demo_db, "_") == []
    assert lookup.search_customers(demo_db, "   ") == []
    district = lookup.search_customers(demo_db, "西湖区", limit=1000)
    expected = demo_db.execute("SELECT count(DISTINCT customer_id) FROM accounts "
                               "WHERE address LIKE '%西湖区%'").fetchone()[0]
    assert len(district) == min(expected, 1000)


SCREEN_POP_SQL = ["PHONE_SQL", "FLAGS_SQL", "CUSTOMER_SQL", "PHONES_SQL", "ACCOUNTS_SQL",
                  "ACCOUNT_OWNER_SQL"]


@pytest.mark.parametrize("name", SCREEN_POP_SQL)
def test_screen_pop_queries_use_indexes(demo_db: sqlite_utils.Database, name: str) -> None:
    sql = getattr(lookup, name)
    params = ["x"] * sql.count("?")
    plan = [row[3] for row in demo_db.execute("EXPLAIN QUERY PLAN " + sql, params)]
    assert plan and not [step for step in plan if step.startswith("SCAN")], plan
    if name == "PHONE_SQL":
        assert any("customer_phones_phone" in step for step in plan), plan


def test_customer_by_phone_speed(demo_db: sqlite_utils.Database) -> None:
    phones = [row[0] for row in demo_db.execute("SELECT phone FROM customer_phones LIMIT 1000")]
    started = time.perf_counter()
    for phone in phones:
        assert lookup.customer_by_phone(demo_db, phone, now=NOW) is not None
    per_lookup = (time.perf_counter() - started) / len(phones)
    print(f"\ncustomer_by_phone with outages: {per_lookup * 1e6:.0f} µs per lookup")


def test_a_known_callers_language_is_the_ivrs_when_the_flow_speaks_it(demo_db) -> None:
    from ccd.telephony.ivr_services import caller_language

    assert caller_language(demo_db, "13800000005", ("zh", "en"), "zh") == "en"  # John Smith
    assert caller_language(demo_db, "+86 138 0000 0005", ("zh", "en"), "zh") == "en"
    assert caller_language(demo_db, "13800000005", ("zh",), "zh") == "zh"  # flow has no English
    assert caller_language(demo_db, "13800000004", ("zh", "en"), "zh") == "zh"
    assert caller_language(demo_db, "13999999999", ("zh", "en"), "en") == "en"  # unknown: site's
