"""Call records: complete rows, events in order, open calls closed as failed."""

import db as database
from ccd.calls import ANSWERED, FAILED, IN_PROGRESS, CallLog, new_call_id


def test_call_record_lifecycle(tmp_path):
    db = database.open_database(tmp_path / "c.sqlite3")
    log = CallLog(db)
    cid = new_call_id()
    log.start(cid, src="13800000001", dst="12345", channel="sip/w0", now=1000.0)
    assert log.get(cid)["disposition"] == IN_PROGRESS
    log.answered(cid, now=1001.5)
    log.event(cid, "digit", now=1005.0, digit="1")
    log.update(cid, digits="1", ivr_path=["greeting", "menu", "balance"])
    log.end(cid, cause=200, hangup_by="caller", now=1031.5)
    call = log.get(cid)
    assert call["disposition"] == ANSWERED
    assert call["duration"] == 31.5
    assert call["billsec"] == 30.0
    assert call["hangup_by"] == "caller"
    assert call["ivr_path"] == '["greeting", "menu", "balance"]'
    assert [e["kind"] for e in call["events"]] == ["start", "answer", "digit", "end"]
    assert call["events"][2]["data"] == {"digit": "1"}


def test_unanswered_call_ends_no_answer_and_open_calls_fail(tmp_path):
    db = database.open_database(tmp_path / "c.sqlite3")
    log = CallLog(db)
    log.start("a", src="1", dst="2", now=10.0)
    log.end("a", now=15.0)
    assert log.get("a")["disposition"] == "NO ANSWER"
    assert log.get("a")["billsec"] == 0.0
    log.start("b", src="1", dst="2")
    log.start("c", src="1", dst="2")
    assert log.fail_open(["b"], reason="worker-lost") == 1
    assert log.get("b")["disposition"] == FAILED
    assert log.get("b")["hangup_by"] == "worker-lost"
    assert log.get("c")["disposition"] == IN_PROGRESS
    assert log.fail_open() == 1
    assert log.get("c")["disposition"] == FAILED


def _queue_row(db, call_id, event, at, agent=None):
    db.execute(
        "INSERT INTO queue_events (at, queue, call_id, agent, event, data) VALUES (?,?,?,?,?,?)",
        [at, "water", call_id, agent, event, "{}"],
    )


def test_restart_closes_answered_calls_too_and_their_queue_rows(tmp_path):
    from ccd.timefmt import iso

    db = database.open_database(tmp_path / "c.sqlite3")
    log = CallLog(db)
    # Cut by a kill: one answered and talking to an agent, one waiting in the queue, one in
    # the IVR without answer, and one that had ended properly.
    log.start("talking", src="1", dst="2", now=100.0)
    log.answered("talking", now=101.0)
    _queue_row(db, "talking", "enter_queue", iso(102.0))
    _queue_row(db, "talking", "answered", iso(110.0), agent="agent1001")
    log.event("talking", "digit", now=130.0, digit="5")
    log.start("waiting", src="3", dst="2", now=200.0)
    log.answered("waiting", now=200.5)
    _queue_row(db, "waiting", "enter_queue", iso(205.0))
    log.start("ringing", src="4", dst="2", now=300.0)
    log.start("done", src="5", dst="2", now=400.0)
    log.end("done", hangup_by="caller", now=410.0)

    assert CallLog(db).fail_open(reason="daemon-restart") == 3
    rows = {r["id"]: r for r in db.query("SELECT * FROM calls")}
    assert rows["talking"]["disposition"] == ANSWERED
    # the end is the last moment the call was known alive (its last event), not the restart
    assert rows["talking"]["duration"] == 30.0 and rows["talking"]["billsec"] == 29.0
    assert rows["waiting"]["disposition"] == ANSWERED
    assert rows["ringing"]["disposition"] == FAILED and rows["ringing"]["duration"] == 0.0
    for cid in ("talking", "waiting", "ringing"):
        assert rows[cid]["hangup_by"] == "daemon-restart" and rows[cid]["hangup_cause"] == 500
    assert rows["done"]["hangup_by"] == "caller"
    ends = db.execute(
        "SELECT call_id, event, agent, data FROM queue_events WHERE id > 3 ORDER BY id"
    ).fetchall()
    assert ends == [
        ("talking", "completed", "agent1001", '{"reason": "daemon-restart", "by": "acd"}'),
        ("waiting", "left_queue", None, '{"reason": "daemon-restart", "by": "acd"}'),
    ]
    assert CallLog(db).fail_open() == 0
