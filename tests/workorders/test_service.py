"""Work orders in a real SQLite file: numbers, the trail, refusals that leave no trace, and what a
close sets off (SMS, callback, survey)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlite_utils

from ccd.workorders import queries, sampling
from ccd.workorders.errors import (
    BadValue,
    IllegalTransition,
    NoSuchWorkOrder,
    NoteRequired,
    UnknownDepartment,
    UnknownType,
)
from ccd.workorders.service import WorkOrders, normalize_number
from ccd.workorders.settings import WorkOrderSettings
from db import connect
from tests.workorders.conftest import local

FRIDAY_9 = local(2026, 11, 20, 9)


def add_customer(db: sqlite_utils.Database, cid: int = 1, phone: str = "13800000001",
                 lang: str = "zh") -> None:
    db.execute("INSERT INTO districts (code, name) VALUES ('330106', '西湖区') "
               "ON CONFLICT DO NOTHING")
    db.execute("INSERT INTO customers (id, name, language, created_at, updated_at) "
               "VALUES (?, ?, ?, 'x', 'x')", [cid, f"客户{cid}", lang])
    db.execute("INSERT INTO customer_phones (customer_id, phone) VALUES (?, ?)", [cid, phone])
    db.execute("INSERT INTO accounts (account_no, customer_id, address, district_code, opened_at)"
               " VALUES (?, ?, ?, '330106', 'x')", [f"10300000{cid:02d}", cid, f"文三路{cid}号"])


def service(db: sqlite_utils.Database, **settings: Any) -> WorkOrders:
    return WorkOrders(db, WorkOrderSettings(**settings), site_name="演示水务热线",
                      now=lambda: FRIDAY_9)


def count(db: sqlite_utils.Database, table: str) -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_numbers_are_per_local_day_and_readable(db: sqlite_utils.Database) -> None:
    wo = service(db)
    first = wo.create(type="enquiry", created_by="a1")
    second = wo.create(type="enquiry", created_by="a1")
    # 2026-11-22T17:30Z is already the 23rd in Shanghai: a new day, a new sequence.
    third = wo.create(type="enquiry", created_by="a1", now=local(2026, 11, 23, 1, 30))
    assert [first["number"], second["number"], third["number"]] == [
        "WO-20261120-0001", "WO-20261120-0002", "WO-20261123-0001"]
    assert db.execute("SELECT day, last FROM work_order_seq ORDER BY day").fetchall() == [
        ("20261120", 2), ("20261123", 1)]


def test_two_connections_never_get_the_same_number(db: sqlite_utils.Database,
                                                   tmp_path: Any) -> None:
    other = connect(tmp_path / "ccd.sqlite3")
    try:
        a, b = service(db), service(other)
        numbers = [(a if i % 2 else b).create(type="enquiry", created_by="x")["number"]
                   for i in range(20)]
    finally:
        other.conn.close()
    assert len(set(numbers)) == 20
    assert sorted(numbers) == [f"WO-20261120-{i:04d}" for i in range(1, 21)]


@pytest.mark.parametrize(("text", "number"), [
    ("WO-20261123-0042", "WO-20261123-0042"),
    ("wo-20261123-0042", "WO-20261123-0042"),
    ("202611230042", "WO-20261123-0042"),
    ("20261123-0042", "WO-20261123-0042"),
    ("2026112300042", "WO-20261123-00042"),
    ("WO-2026", None),
    ("hello", None),
])
def test_number_spellings(text: str, number: str | None) -> None:
    assert normalize_number(text) == number


def test_create_fills_the_customer_from_the_account_and_normalises_the_phone(
        db: sqlite_utils.Database) -> None:
    add_customer(db)
    wo = service(db).create(
        type="repair", created_by="a1", account_no="1030000001", phone="+86 138-0000-0001",
        description="厨房水管漏水", attachments=[{"path": "rec/1.wav", "recording_id": None}],
        call_id="call-1",
    )
    assert (wo["customer_id"], wo["contact_name"], wo["address"], wo["district_code"]) == (
        1, "客户1", "文三路1号", "330106")
    assert wo["phone"] == "13800000001"
    assert wo["status"] == "new" and wo["owner"] == "a1" and wo["source"] == "agent"
    assert [a["path"] for a in wo["attachments"]] == ["rec/1.wav"]
    assert [e["kind"] for e in wo["events"]] == ["create"]
    assert wo["events"][0]["data"]["hours"] == 16.0  # repair, normal: 16 business hours
    # Fri 09:00 + 16 business hours: 7.5 on Friday, 8 on Monday, 0.5 on Tuesday → Tue 09:00.
    assert wo["deadline_at"] == "2026-11-24T01:00:00.000Z"


def test_create_by_phone_only_finds_the_customer(db: sqlite_utils.Database) -> None:
    add_customer(db, 7, "057188000007")
    wo = service(db).create(type="complaint", created_by="a1", phone="0571-8800-0007")
    assert wo["customer_id"] == 7 and wo["address"] == "文三路7号"


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"type": "teleport"}, UnknownType),
    ({"type": "repair", "priority": "asap"}, BadValue),
    ({"type": "repair", "phone": "12ab"}, BadValue),
    ({"type": "repair", "account_no": "999"}, BadValue),
    ({"type": "repair", "department": "moon"}, UnknownDepartment),
])
def test_create_refuses_bad_input_and_writes_nothing(db: sqlite_utils.Database,
                                                     kwargs: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        service(db).create(created_by="a1", **kwargs)
    assert count(db, "work_orders") == 0 and count(db, "work_order_events") == 0
    assert count(db, "work_order_seq") == 0


def test_the_whole_loop_leaves_a_trail_of_who_when_and_why(db: sqlite_utils.Database) -> None:
    add_customer(db)
    wo = service(db)
    number = wo.create(type="repair", created_by="agent1", account_no="1030000001",
                       description="水表漏水")["number"]
    steps = [
        ("dispatch", "agent1", "", "repair"),
        ("send_back", "crew1", "表前漏水归区域所", None),
        ("dispatch", "agent1", "改派区域所", "district"),
        ("accept", "crew2", "", None),
        ("feedback", "crew2", "已到现场", None),
        ("pause", "crew2", "客户不在家", None),
        ("resume", "crew2", "", None),
        ("request_close", "crew2", "已更换表前阀", None),
        ("send_back", "agent1", "客户说仍在漏", None),
        ("request_close", "crew2", "已重新密封", None),
        ("close", "agent1", "已修复，客户确认", None),
    ]
    for i, (kind, actor, note, dept) in enumerate(steps):
        got = wo.act(number, kind, actor=actor, note=note, department=dept,
                     now=FRIDAY_9 + 60 * (i + 1))
    assert got["status"] == "closed" and got["resolution"] == "已修复，客户确认"
    assert got["department"] == "district" and got["owner"] == "crew2"
    trail = [(e["kind"], e["actor"], e["from_status"], e["to_status"], e["note"])
             for e in got["events"]]
    assert trail[0][:4] == ("create", "agent1", None, "new")
    assert [t[0] for t in trail[1:-1]] == [s[0] for s in steps]
    assert all(t[4] == s[2] for t, s in zip(trail[1:-1], steps, strict=True))
    assert trail[-1][0] == "notify"  # what the close set off
    assert [e["at"] for e in got["events"]] == sorted(e["at"] for e in got["events"])
    assert got["allowed"] == []


def test_a_refused_action_changes_nothing(db: sqlite_utils.Database) -> None:
    wo = service(db)
    number = wo.create(type="enquiry", created_by="a1")["number"]
    before = db.execute("SELECT * FROM work_orders").fetchall()
    events = count(db, "work_order_events")
    with pytest.raises(IllegalTransition) as info:
        wo.act(number, "accept", actor="crew")
    assert info.value.details["allowed"] == ["dispatch", "close", "cancel"]
    with pytest.raises(NoteRequired):
        wo.act(number, "close", actor="a1", note="")
    with pytest.raises(UnknownDepartment):
        wo.act(number, "dispatch", actor="a1", department="moon")
    with pytest.raises(NoSuchWorkOrder) as missing:
        wo.act("WO-20991231-0001", "close", actor="a1", note="x")
    assert missing.value.error_id == "no-such-work-order"
    assert db.execute("SELECT * FROM work_orders").fetchall() == before
    assert count(db, "work_order_events") == events


def test_close_queues_an_sms_in_the_customers_language(db: sqlite_utils.Database) -> None:
    add_customer(db, 5, "13800000005", lang="en")
    wo = service(db, satisfaction_share=0.0)
    number = wo.create(type="enquiry", created_by="a1", customer_id=5)["number"]
    wo.act(number, "close", actor="a1", note="answered on the call")
    sms = db.execute("SELECT phone, body, language, status, work_order_id FROM sms_outbox"
                     ).fetchall()
    assert len(sms) == 1
    phone, body, lang, status, wo_id = sms[0]
    assert (phone, lang, status) == ("13800000005", "en", "queued")
    assert number in body and "answered on the call" in body and "演示水务热线" in body
    assert count(db, "callbacks") == 0 and count(db, "surveys") == 0


def test_close_without_a_mobile_sends_no_sms_but_a_callback_when_configured(
        db: sqlite_utils.Database) -> None:
    add_customer(db, 7, "057188000007")
    wo = service(db, notify_callback=True, satisfaction_share=0.0)
    number = wo.create(type="enquiry", created_by="a1", customer_id=7)["number"]
    closed = wo.act(number, "close", actor="a1", note="已答复")
    assert count(db, "sms_outbox") == 0
    assert db.execute("SELECT kind, phone, status FROM callbacks").fetchall() == [
        ("notify", "057188000007", "pending")]
    assert closed["events"][-1]["data"] == {"callback_id": 1}


def test_no_phone_at_all_is_written_down(db: sqlite_utils.Database) -> None:
    wo = service(db)
    number = wo.create(type="suggestion", created_by="a1")["number"]
    closed = wo.act(number, "close", actor="a1", note="已采纳")
    assert closed["events"][-1]["note"] == "无联系电话，未通知客户"
    assert count(db, "sms_outbox") == 0 and count(db, "callbacks") == 0


def test_a_sampled_close_gets_a_survey_callback_after_the_delay(db: sqlite_utils.Database) -> None:
    add_customer(db)
    wo = service(db, satisfaction_share=1.0, survey_delay_minutes=90)
    number = wo.create(type="repair", created_by="a1", customer_id=1)["number"]
    wo.act(number, "close", actor="a1", note="已修复", now=local(2026, 11, 20, 10))
    assert db.execute("SELECT kind, due_at FROM callbacks").fetchall() == [
        ("survey", "2026-11-20T03:30:00.000Z")]
    survey = db.execute("SELECT work_order_id, callback_id, customer_id, phone, status "
                        "FROM surveys").fetchall()
    assert survey == [(1, 1, 1, "13800000001", "pending")]
    assert db.execute("SELECT survey_sampled FROM work_orders").fetchone() == (1,)


def test_the_close_and_what_it_sets_off_are_one_transaction(db: sqlite_utils.Database) -> None:
    add_customer(db)
    wo = service(db, satisfaction_share=1.0)
    number = wo.create(type="repair", created_by="a1", customer_id=1)["number"]
    # Make the survey insert fail: the close, the SMS and the callback must all roll back.
    db.execute("CREATE TRIGGER no_surveys BEFORE INSERT ON surveys "
               "BEGIN SELECT RAISE(ABORT, 'surveys off'); END")
    with pytest.raises(Exception, match="surveys off"):
        wo.act(number, "close", actor="a1", note="已修复")
    assert wo.get(number)["status"] == "new"
    assert count(db, "sms_outbox") == 0 and count(db, "callbacks") == 0


def test_closing_many_picks_exactly_the_seeded_sample(db: sqlite_utils.Database) -> None:
    wo = service(db, satisfaction_share=0.3, satisfaction_seed=7)
    numbers = []
    for _ in range(400):
        w = wo.create(type="enquiry", created_by="a1", phone="13900000000")
        wo.act(w["number"], "close", actor="a1", note="ok")
        numbers.append(w["number"])
    sampled = {r[0] for r in db.execute(
        "SELECT w.number FROM surveys s JOIN work_orders w ON w.id = s.work_order_id")}
    assert sampled == {n for n in numbers if sampling.picked(7, n, 0.3)}
    # 400 draws at p = 0.3: mean 120, sd 9.2; 4 sd either side.
    assert 83 <= len(sampled) <= 157


def test_lists_and_the_overdue_list(db: sqlite_utils.Database) -> None:
    wo = service(db)
    a = wo.create(type="outage_report", created_by="a1", department="repair")["number"]  # 2 h
    b = wo.create(type="complaint", created_by="a1")["number"]
    c = wo.create(type="enquiry", created_by="a1")["number"]
    wo.act(c, "close", actor="a1", note="ok")
    assert [w["number"] for w in queries.list_orders(db)] == [c, b, a]
    assert [w["number"] for w in queries.list_orders(db, open_only=True)] == [b, a]
    assert [w["number"] for w in queries.list_orders(db, department="repair")] == [a]
    assert [w["number"] for w in queries.list_orders(db, status=["closed"])] == [c]
    assert queries.overdue(db, FRIDAY_9 + 3600) == []
    assert [w["number"] for w in queries.overdue(db, FRIDAY_9 + 2 * 3600)] == [a]
    assert wo.get(a, now=FRIDAY_9 + 2 * 3600)["overdue"] is True
    with pytest.raises(BadValue):
        queries.list_orders(db, status=["lost"])


def test_escalation_is_recorded_with_who_hears_of_it(db: sqlite_utils.Database) -> None:
    db.execute("UPDATE departments SET head_username = 'zhang' WHERE code = 'repair'")
    wo = service(db)
    number = wo.create(type="outage_report", created_by="a1", department="repair")["number"]
    assert wo.fire_timer(number, FRIDAY_9 + 3600) == "remind"
    assert wo.fire_timer(number, FRIDAY_9 + 3600) is None
    assert wo.fire_timer(number, FRIDAY_9 + 7200) == "escalate"
    events = wo.get(number)["events"]
    assert [(e["kind"], e["actor"]) for e in events[-2:]] == [
        ("remind", "system"), ("escalate", "system")]
    assert events[-2]["data"]["notify"] == ["zhang"]
    assert events[-1]["data"]["notify"] == ["zhang", "role:teamlead"]
    row = db.execute("SELECT reminded_at, escalated_at, timer_at FROM work_orders").fetchone()
    assert row == ("2026-11-20T02:00:00.000Z", "2026-11-20T03:00:00.000Z", None)
    assert json.loads(db.execute("SELECT data FROM work_order_events WHERE kind = 'create'"
                                 ).fetchone()[0])["clock"] == "calendar"


def test_public_status_for_the_ivr(db: sqlite_utils.Database) -> None:
    wo = service(db)
    number = wo.create(type="repair", created_by="ivr", source="ivr", phone="13800000001",
                       description="录音报修")["number"]
    keyed = number.replace("WO-", "").replace("-", "")
    assert queries.public_status(db, keyed) == {
        "number": number, "status": "dispatched", "type": "repair",
        "created": "2026-11-20T01:00:00.000Z", "updated": "2026-11-20T01:00:00.000Z",
        "closed": None, "status_text": "已派单", "type_text": "报修"}
    assert queries.public_status(db, number, "en")["type_text"] == "Repair"
    assert queries.public_status(db, "202611209999") is None
    assert queries.public_status(db, "12") is None


def test_ivr_reports_are_dispatched_to_the_types_department_at_once(
        db: sqlite_utils.Database) -> None:
    wo = service(db)
    ivr = wo.create(type="repair", created_by="ivr", source="ivr", phone="13800000001",
                    attachments=[{"path": "recordings/2026/11/20/c1.wav"}])
    assert (ivr["status"], ivr["department"]) == ("dispatched", "repair")
    agent = wo.create(type="repair", created_by="agent1")
    assert (agent["status"], agent["department"]) == ("new", None)


def test_what_a_caller_keyed_in_the_ivr_is_kept_not_refused(db: sqlite_utils.Database) -> None:
    add_customer(db)
    wo = service(db)
    keyed = wo.create(type="repair", created_by="ivr", source="ivr", phone="1001",
                      account_no="9999999999")
    assert (keyed["phone"], keyed["account_no"], keyed["customer_id"]) == (
        "1001", "9999999999", None)
    by_phone = wo.create(type="repair", created_by="ivr", source="ivr", phone="13800000001",
                         account_no="0000000000")
    assert (by_phone["customer_id"], by_phone["account_no"]) == (1, "0000000000")
    with pytest.raises(BadValue):
        wo.create(type="repair", created_by="agent1", phone="1001")
