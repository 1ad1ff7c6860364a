"""Customer history: every call, work order, callback and survey, newest first, in one query."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from ccd.errors import ClientError
from ccd.history import HISTORY_SQL, history
from ccd.workorders.service import WorkOrders
from ccd.workorders.settings import WorkOrderSettings
from db import open_database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_database(tmp_path / "ccd.sqlite3")
    for cid, name, phones in ((1, "陈建国", ["13800000001", "057188000001"]),
                              (2, "林晓燕", ["13800000002"])):
        database.execute("INSERT INTO customers (id, name, created_at, updated_at) "
                         "VALUES (?, ?, 'x', 'x')", [cid, name])
        for p in phones:
            database.execute("INSERT INTO customer_phones (customer_id, phone) VALUES (?, ?)",
                             [cid, p])
    yield database
    database.conn.close()


def utc(y: int, m: int, d: int, hh: int) -> float:
    return dt.datetime(y, m, d, hh, tzinfo=dt.timezone.utc).timestamp()


def call(db: sqlite_utils.Database, cid: str, start: str, src: str,
         customer: int | None) -> None:
    db.execute("INSERT INTO calls (id, start, src, customer_id, disposition, agent) "
               "VALUES (?, ?, ?, ?, 'ANSWERED', 'a1')", [cid, start, src, customer])


def seed(db: sqlite_utils.Database) -> dict[str, str]:
    call(db, "c1", "2026-11-01T01:00:00.000Z", "13800000001", 1)
    call(db, "c2", "2026-11-02T01:00:00.000Z", "057188000001", None)  # not linked yet
    call(db, "c3", "2026-11-03T01:00:00.000Z", "13800000002", 2)  # someone else
    call(db, "c4", "2026-11-05T01:00:00.000Z", "13700000000", 1)  # linked, from another phone
    wo = WorkOrders(db, WorkOrderSettings(satisfaction_share=1.0, notify_callback=True),
                    now=lambda: utc(2026, 11, 4, 1))
    w1 = wo.create(type="repair", created_by="a1", customer_id=1, description="漏水")
    wo.act(w1["number"], "close", actor="a1", note="已修", now=utc(2026, 11, 5, 2))
    w2 = wo.create(type="enquiry", created_by="a1", phone="13800000002")
    return {"w1": w1["number"], "w2": w2["number"]}


def test_everything_for_a_customer_newest_first_without_duplicates(
        db: sqlite_utils.Database) -> None:
    numbers = seed(db)
    items = history(db, customer_id=1)
    assert [(i["kind"], i["ref"]) for i in items] == [
        ("callback", "2"),  # the survey callback, made by the close at 11-05 02:00
        ("callback", "1"),  # the close notification, made at the same moment
        ("survey", "1"),
        ("call", "c4"),
        ("work_order", numbers["w1"]),
        ("call", "c2"),  # from the customer's landline, before it was linked to a customer
        ("call", "c1"),
    ]
    assert [i["at"] for i in items] == sorted((i["at"] for i in items), reverse=True)
    assert items[2]["detail"] == numbers["w1"]  # the survey names its work order


def test_by_phone_finds_the_customers_behind_it(db: sqlite_utils.Database) -> None:
    numbers = seed(db)
    by_phone = history(db, phone="+86 571 8800 0001")
    assert [(i["kind"], i["ref"]) for i in by_phone] == [
        (i["kind"], i["ref"]) for i in history(db, customer_id=1)]
    other = history(db, phone="138-0000-0002")
    assert [(i["kind"], i["ref"]) for i in other] == [("work_order", numbers["w2"]),
                                                      ("call", "c3")]
    assert history(db, phone="13900000000") == []


def test_limit_and_bad_input(db: sqlite_utils.Database) -> None:
    seed(db)
    assert len(history(db, customer_id=1, limit=3)) == 3
    with pytest.raises(ClientError):
        history(db)
    with pytest.raises(ClientError):
        history(db, customer_id=1, limit=0)


def test_every_branch_uses_an_index(db: sqlite_utils.Database) -> None:
    plan = [row[3] for row in db.execute(
        "EXPLAIN QUERY PLAN " + HISTORY_SQL, {"customer_id": 1, "phone": "1", "limit": 50})]
    scans = [p for p in plan if p.startswith("SCAN ") and " USING " not in p
             and not p.startswith(("SCAN (subquery", "SCAN who", "SCAN nums",
                                   "SCAN CONSTANT ROW"))]
    assert scans == [], plan
    searched = {p.split()[1] for p in plan if p.startswith("SEARCH ")}
    assert {"c", "w", "b", "s", "customer_phones"} <= searched
