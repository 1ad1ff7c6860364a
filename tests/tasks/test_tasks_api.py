"""The task list: agent.tasks, task.survey, task.survey_save and task.callback_done over a real
socket, with callbacks and surveys seeded as rows in a real SQLite file."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from ccd.api.protocol import ErrorReply
from tests.tasks.conftest import Site

T0 = "2026-03-01T08:00:00.000Z"
LATER = "2999-01-01T00:00:00.000Z"  # not due yet


def insert(db: sqlite_utils.Database, table: str, **values: Any) -> int:
    names = ", ".join(values)
    marks = ", ".join("?" * len(values))
    cursor = db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(values.values()))
    return int(cursor.lastrowid or 0)


def customer(db: sqlite_utils.Database, name: str) -> int:
    return insert(db, "customers", name=name, created_at=T0, updated_at=T0)


def work_order(db: sqlite_utils.Database, number: str, customer_id: int | None) -> int:
    return insert(db, "work_orders", number=number, type="repair", status="closed",
                  customer_id=customer_id, phone="13800000011", description="水表漏水",
                  resolution="已更换水表", created_by="agent1002", created_at=T0,
                  updated_at=T0, closed_at="2026-03-01T10:00:00.000Z")


def callback(db: sqlite_utils.Database, kind: str, due_at: str, **values: Any) -> int:
    return insert(db, "callbacks", kind=kind, phone=values.pop("phone", "13800000011"),
                  due_at=due_at, created_at=T0, updated_at=T0, **values)


def survey(db: sqlite_utils.Database, **values: Any) -> int:
    return insert(db, "surveys", phone=values.pop("phone", "13800000011"), created_at=T0,
                  **values)


def seeded_survey(db: sqlite_utils.Database) -> tuple[int, int, int]:
    """A closed work order picked for a survey, as the work-order service leaves it: the
    survey row and its dialler callback. Returns (survey id, callback id, customer id)."""
    cid = customer(db, "王秀英")
    wo = work_order(db, "WO-20260301-0007", cid)
    cb = callback(db, "survey", "2026-03-01T11:00:00.000Z", customer_id=cid, work_order_id=wo)
    return survey(db, customer_id=cid, work_order_id=wo, callback_id=cb), cb, cid


async def test_the_task_list_names_customers_and_work_orders_callbacks_first(site: Site) -> None:
    db = site.db
    sid, survey_callback, cid = seeded_survey(db)
    wo = db.execute("SELECT work_order_id FROM surveys WHERE id = ?", [sid]).fetchone()[0]
    request = callback(db, "request", LATER, customer_id=cid,
                       note='{"queue": "water", "account": "1030000011"}')
    notify = callback(db, "notify", "2026-03-01T12:00:00.000Z", work_order_id=wo,
                      phone="13900000022", note="告知结单")
    callback(db, "request", T0, status="done")  # done: not a task any more
    anonymous = survey(db, phone="13900000033")  # made without a work order or a customer
    agent = await site.client("agent1001")
    tasks = await agent.call("agent.tasks")
    assert [(t["kind"], t["id"]) for t in tasks] == [
        ("callback", notify), ("callback", request), ("survey", anonymous), ("survey", sid)]
    by_id = {(t["kind"], t["id"]): t for t in tasks}
    assert by_id[("callback", notify)] == {
        "kind": "callback", "id": notify, "callback_kind": "notify", "phone": "13900000022",
        "customer_id": None, "customer_name": None, "work_order": "WO-20260301-0007",
        "due_at": "2026-03-01T12:00:00.000Z", "due": True, "status": "pending", "attempts": 0,
        "note": "告知结单", "details": {}}
    asked = by_id[("callback", request)]
    assert (asked["customer_name"], asked["due"], asked["note"]) == ("王秀英", False, "")
    assert asked["details"] == {"queue": "water", "account": "1030000011"}
    picked = by_id[("survey", sid)]
    assert (picked["customer_name"], picked["work_order"]) == ("王秀英", "WO-20260301-0007")
    assert picked["due_at"] == "2026-03-01T11:00:00.000Z"  # its callback's due time
    assert by_id[("survey", anonymous)]["work_order"] is None  # due since it was made (T0)
    assert survey_callback not in [t["id"] for t in tasks if t["kind"] == "callback"]
    assert [t["id"] for t in await agent.call("agent.tasks", limit=1)] == [notify]
    await agent.aclose()


async def test_a_survey_shows_its_customer_work_order_and_filled_script(site: Site) -> None:
    sid, _, cid = seeded_survey(site.db)
    agent = await site.client("agent1001")
    got = await agent.call("task.survey", id=sid)
    assert {k: got[k] for k in ("id", "status", "phone", "score", "handled_by", "answers")} == {
        "id": sid, "status": "pending", "phone": "13800000011", "score": None,
        "handled_by": None, "answers": {}}
    assert got["customer"] == {"id": cid, "name": "王秀英"}
    assert got["work_order"] == {
        "number": "WO-20260301-0007", "type": "repair", "description": "水表漏水",
        "closed_at": "2026-03-01T10:00:00.000Z", "resolution": "已更换水表"}
    script = got["script"]
    assert script["intro_zh"] == "您好，这里是滨江水务热线，就工单 WO-20260301-0007 做个回访。"
    assert script["intro_en"] == "Hello from 滨江水务热线 about work order WO-20260301-0007."
    assert [q["id"] for q in script["questions"]] == ["overall", "fixed", "remarks"]
    bare = await agent.call("task.survey", id=survey(site.db, phone="13900000033"))
    assert bare["customer"] is None and bare["work_order"] is None
    assert bare["script"]["intro_en"] == "Hello from 滨江水务热线 about work order ."
    assert await agent.error("task.survey", id=sid + 100) == "no-such-task"
    await agent.aclose()


async def test_saving_a_survey_stores_answers_score_and_agent_once(site: Site) -> None:
    sid, cb, _ = seeded_survey(site.db)
    agent = await site.client("agent1001")
    await agent.call("subscribe", topics=["tasks"])
    saved = await agent.call("task.survey_save", id=sid, status="answered",
                             answers={"remarks": " 师傅很耐心 ", "fixed": "yes", "overall": "4"})
    assert saved["answers"] == {"overall": "4", "fixed": "yes", "remarks": "师傅很耐心"}
    assert (saved["status"], saved["score"], saved["handled_by"]) == ("answered", 4, "agent1001")
    # Committed before the reply: a second connection sees it all.
    (row,) = site.rows("SELECT status, score, answered_at, handled_by FROM surveys WHERE id = ?",
                       [sid])
    assert row == {"status": "answered", "score": 4, "answered_at": saved["answered_at"],
                   "handled_by": "agent1001"}
    answers = site.rows("SELECT question, answer, at FROM survey_answers WHERE survey_id = ? "
                        "ORDER BY id", [sid])
    assert [(a["question"], a["answer"]) for a in answers] == [
        ("overall", "4"), ("fixed", "yes"), ("remarks", "师傅很耐心")]
    assert {a["at"] for a in answers} == {saved["answered_at"]}
    (dialler,) = site.rows("SELECT status, result, attempts, handled_by FROM callbacks "
                           "WHERE id = ?", [cb])
    assert dialler == {"status": "done", "result": "answered", "attempts": 1,
                       "handled_by": "agent1001"}
    (audit,) = site.rows("SELECT actor, target FROM audit_log WHERE action = 'task.survey_save'")
    assert audit == {"actor": "agent1001", "target": f"survey:{sid}"}
    assert [e.data for e in agent.events if e.event == "tasks"] == [
        {"kind": "survey", "id": sid, "status": "answered", "by": "agent1001"}]
    # Once only, whoever tries again.
    other = await site.client("agent1002")
    again = await other.request("task.survey_save", id=sid, status="refused")
    assert isinstance(again, ErrorReply)
    assert again.error.code == "task-done"
    assert again.error.details == {"kind": "survey", "id": sid, "status": "answered"}
    assert len(site.rows("SELECT id FROM survey_answers WHERE survey_id = ?", [sid])) == 3
    assert sid not in [t["id"] for t in await agent.call("agent.tasks") if t["kind"] == "survey"]
    assert (await agent.call("task.survey", id=sid))["answers"]["fixed"] == "yes"
    await agent.aclose()
    await other.aclose()


async def test_no_answer_needs_no_answers_and_fails_its_callback(site: Site) -> None:
    sid, cb, _ = seeded_survey(site.db)
    lead = await site.client("lead1")
    saved = await lead.call("task.survey_save", id=sid, status="no_answer")
    assert (saved["score"], saved["answers"], saved["handled_by"]) == (None, {}, "lead1")
    assert site.rows("SELECT status, score FROM surveys WHERE id = ?", [sid]) == [
        {"status": "no_answer", "score": None}]
    assert site.rows("SELECT status, result FROM callbacks WHERE id = ?", [cb]) == [
        {"status": "failed", "result": "no_answer"}]
    await lead.aclose()


async def test_bad_answers_are_refused_naming_the_question_and_store_nothing(site: Site) -> None:
    sid, cb, _ = seeded_survey(site.db)
    agent = await site.client("agent1001")

    async def refused(status: str, **answers: str) -> ErrorReply:
        reply = await agent.request("task.survey_save", id=sid, status=status, answers=answers)
        assert isinstance(reply, ErrorReply), reply
        return reply

    score = await refused("answered", overall="6", fixed="yes")
    assert (score.error.code, score.error.details["question"]) == ("bad-answer", "overall")
    assert score.error.details["allowed"] == ["1", "2", "3", "4", "5"]
    assert "overall" in score.error.message
    yes_no = await refused("refused", fixed="maybe")
    assert (yes_no.error.code, yes_no.error.details["question"]) == ("bad-answer", "fixed")
    unknown = await refused("answered", overal="5")
    assert (unknown.error.code, unknown.error.details["question"]) == (
        "unknown-question", "overal")
    long = await refused("answered", overall="5", fixed="no", remarks="长" * 501)
    assert (long.error.code, long.error.details["question"]) == ("answer-too-long", "remarks")
    missing = await refused("answered", overall="5", remarks="")
    assert (missing.error.code, missing.error.details["questions"]) == (
        "answer-missing", ["fixed"])
    assert await agent.error("task.survey_save", id=sid, status="maybe") == "bad-params"
    assert await agent.error("task.survey_save", id=sid + 100, status="refused") == "no-such-task"
    assert site.rows("SELECT status, score, handled_by FROM surveys WHERE id = ?", [sid]) == [
        {"status": "pending", "score": None, "handled_by": None}]
    assert site.rows("SELECT id FROM survey_answers") == []
    assert site.rows("SELECT status, attempts FROM callbacks WHERE id = ?", [cb]) == [
        {"status": "pending", "attempts": 0}]
    # The longest text allowed is fine.
    ok = await agent.call("task.survey_save", id=sid, status="answered",
                          answers={"overall": "1", "fixed": "no", "remarks": "长" * 500})
    assert ok["score"] == 1
    await agent.aclose()


async def test_callback_done_records_result_note_agent_and_attempt(site: Site) -> None:
    db = site.db
    asked = callback(db, "request", T0, attempts=1)
    dialing = callback(db, "notify", T0, status="dialing")
    survey_cb = seeded_survey(db)[1]
    agent = await site.client("agent1003")
    done = await agent.call("task.callback_done", id=asked, result="failed", note="无人接听")
    assert {k: done[k] for k in ("id", "status", "result", "attempts", "handled_by")} == {
        "id": asked, "status": "failed", "result": "无人接听", "attempts": 2,
        "handled_by": "agent1003"}
    assert site.rows("SELECT status, result, attempts, handled_by, updated_at FROM callbacks "
                     "WHERE id = ?", [asked]) == [
        {"status": "failed", "result": "无人接听", "attempts": 2, "handled_by": "agent1003",
         "updated_at": done["updated_at"]}]
    assert (await agent.call("task.callback_done", id=dialing, result="done"))["attempts"] == 1
    again = await agent.request("task.callback_done", id=asked, result="done")
    assert isinstance(again, ErrorReply)
    assert (again.error.code, again.error.details["status"]) == ("task-done", "failed")
    # A survey's own callback closes with the survey, not here.
    assert await agent.error("task.callback_done", id=survey_cb, result="done") == "no-such-task"
    assert await agent.error("task.callback_done", id=999, result="done") == "no-such-task"
    assert await agent.error("task.callback_done", id=asked, result="later") == "bad-params"
    assert [t["id"] for t in await agent.call("agent.tasks") if t["kind"] == "callback"] == []
    await agent.aclose()
