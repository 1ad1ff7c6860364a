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
