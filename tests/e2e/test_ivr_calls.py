"""The demo hotline end to end: the real daemon, real SIP phones (pjsua2 in their own processes)
on loopback, a real SQLite file. Assertions read the call records and events the daemon wrote."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio

from ccd.ivr import say
from ccd.timefmt import iso
from hw.sipphone import open_phone
from tests.daemon_proc import DaemonProcess
from tests.sip.audio import hears, write_tone
from tests.sip.conftest import free_rtp_block

pytestmark = pytest.mark.sip


class Hotline:
    def __init__(self, config: Path, daemon: DaemonProcess) -> None:
        self.config = config
        self.daemon = daemon
        self.db_path = config.parent / "ccd.sqlite3"
        line = next(x for x in daemon.stderr_lines if "answering SIP calls at" in x)
        self.uri = line.rsplit(" ", 1)[-1].strip().replace("sip:ccd@", "sip:hotline@")

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        conn = sqlite3.connect(self.db_path)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def latest_call(self, caller: str) -> str | None:
        rows = self.query("SELECT id FROM calls WHERE src = ? ORDER BY start DESC LIMIT 1", (caller,))
        return rows[0][0] if rows else None

    def events(self, call_id: str) -> list[tuple[str, dict]]:
        return [(k, json.loads(d)) for k, d in self.query(
            "SELECT kind, data FROM call_events WHERE call_id = ? ORDER BY id", (call_id,))]

    async def wait_for(self, call_id: str, kind: str, node: str | None = None,
                       limit: float = 30.0) -> dict:
        """The first event of `kind` (at `node`) of the call, as soon as the daemon wrote it."""
        with trio.fail_after(limit):
            while True:
                for k, data in self.events(call_id):
                    if k == kind and (node is None or data.get("node") == node):
                        return data
                await trio.sleep(0.05)

    async def wait_ended(self, call_id: str, limit: float = 15.0) -> dict:
        with trio.fail_after(limit):
            while True:
                conn = sqlite3.connect(self.db_path)
                conn.row_factory = sqlite3.Row
                row = conn.execute('SELECT * FROM calls WHERE id = ?', (call_id,)).fetchone()
                conn.close()
                if row is not None and row["end"] is not None:
                    return dict(row)
                await trio.sleep(0.05)

    async def dial(self, phone, caller: str):
        call = await phone.dial(self.uri, caller_id=caller)
        # the daemon's row for this call: the newest one from this number that is still open
        with trio.fail_after(10):
            while True:
                rows = self.query('SELECT id FROM calls WHERE src = ? AND "end" IS NULL '
                                  "ORDER BY start DESC LIMIT 1", (caller,))
                if rows:
                    return call, rows[0][0]
                await trio.sleep(0.05)


@pytest.fixture(scope="module")
def hotline(tmp_path_factory, built_prompts):
    prompts = built_prompts
    base = tmp_path_factory.mktemp("hotline")
    out = subprocess.run(
        [sys.executable, "-m", "ccd", "init", "--dir", str(base / "site"), "--demo",
         "--customers", "300", "--no-prompts"],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    config = base / "site" / "ccd.toml"
    daemon = DaemonProcess(config, f"paths.prompts={prompts}").start()
    try:
        yield Hotline(config, daemon)
    finally:
        assert daemon.stop() == 0, daemon.output


async def test_balance_path_reads_the_account(hotline):
    async with open_phone(rtp_port=free_rtp_block()) as phone:
        call, call_id = await hotline.dial(phone, "13800000004")
        await hotline.wait_for(call_id, "play", "main")
        await call.send_dtmf("1", "info")
        balance = await hotline.wait_for(call_id, "play", "say_balance")
        await hotline.wait_for(call_id, "play", "say_bill")
        await call.hangup()
    # 13800000004 owes exactly 123.45 yuan (db/demo.py): 负一百二十三元四角五分
    balance_fen = hotline.query(
        "SELECT balance_fen FROM accounts WHERE account_no = '1060000004'")[0][0]
    assert balance_fen == -12345
    assert balance["prompts"] == ["balance/balance_is", *say.amount(balance_fen, "zh")]
    assert say.amount(-12345, "zh")[:3] == ["num/minus", "num/1", "num/100"]
    record = await hotline.wait_ended(call_id)
    assert record["disposition"] == "ANSWERED"
    assert record["digits"] == "1"
    assert record["hangup_by"] == "caller"
    assert record["customer_id"] == 4 and record["account_no"] == "1060000004"
    path = json.loads(record["ivr_path"])
    assert path[:5] == ["screen", "greeting", "outage_check", "menu_choice", "main"]
    assert "say_balance" in path and "say_bill" in path
    assert record["answer"] and record["duration"] > record["billsec"] > 0
    kinds = [k for k, _ in hotline.events(call_id)]
    assert kinds[0] == "start" and kinds[1] == "answer" and kinds[-1] == "end"


async def test_repair_report_records_the_caller_and_opens_a_work_order(hotline, tmp_path):
    tone = write_tone(tmp_path / "tone1000.wav", 1000, 2.0)
    async with open_phone(rtp_port=free_rtp_block()) as phone:
        # 13800000001 lives in a district with a current outage: the outage comes first
        call, call_id = await hotline.dial(phone, "13800000001")
        outage = await hotline.wait_for(call_id, "play", "outage_first")
        await hotline.wait_for(call_id, "play", "main")
        await call.send_dtmf("2", "rfc4733")
        await hotline.wait_for(call_id, "play", "report")
        await call.send_dtmf("1", "rfc4733")
        await hotline.wait_for(call_id, "record_start", "record_repair")
        await call.start_play([tone], loop=True)
        await trio.sleep(3.0)  # the caller speaks for three seconds
        await call.send_dtmf("#", "info")
        created = await hotline.wait_for(call_id, "work_order", limit=20)
        readback = await hotline.wait_for(call_id, "play", "report_saved")
        await call.hangup()
    assert outage["prompts"][0] == "outage/notice"
    number = "WO-" + created["number"]  # the IVR reads the digits the caller can key in
    digits = created["number"].replace("-", "")
    assert len(digits) == 12
    assert say.digits(digits, "zh", group=4)[0] in readback["prompts"]
    wo = hotline.query(
        "SELECT id, type, source, call_id, phone, status FROM work_orders WHERE number = ?",
        (number,))[0]
    assert wo[1:5] == ("repair", "ivr", call_id, "13800000001")
    # The caller was known by their number: the order and the call record say who it is for.
    ((customer_id, account_no),) = hotline.query(
        "SELECT customer_id, account_no FROM work_orders WHERE number = ?", (number,))
    assert customer_id == 1 and account_no
    attachment = hotline.query(
        "SELECT a.path, r.call_id, r.seconds FROM attachments a JOIN recordings r "
        "ON r.id = a.recording_id WHERE a.work_order_id = ?", (wo[0],))
    assert len(attachment) == 1
    wav, rec_call, seconds = attachment[0]
    assert rec_call == call_id and seconds > 1.5
    hears(Path(wav), present=[1000.0], absent=[2000.0])
    record = await hotline.wait_ended(call_id)
    assert record["digits"].startswith("21")
    assert (record["customer_id"], record["account_no"]) == (customer_id, account_no)


async def test_a_silent_repair_report_opens_no_work_order(hotline):
    """The caller says nothing: the recorder stops on 5 s of silence; the IVR asks again
    (repair/too_short) instead of sending a crew to a blank report."""
    async with open_phone(rtp_port=free_rtp_block()) as phone:
        call, call_id = await hotline.dial(phone, "13800000002")
        await hotline.wait_for(call_id, "play", "main")
        await call.send_dtmf("2", "rfc4733")
        await hotline.wait_for(call_id, "play", "report")
        await call.send_dtmf("1", "rfc4733")
        await hotline.wait_for(call_id, "record_start", "record_repair")
        failed = await hotline.wait_for(call_id, "input_failed", "record_repair", limit=30)
        await call.hangup()
    assert failed["reason"] == "too_short"
    await hotline.wait_ended(call_id)
    assert hotline.query("SELECT count(*) FROM work_orders WHERE call_id = ?", (call_id,)) == [(0,)]
    (record,) = [data for kind, data in hotline.events(call_id) if kind == "record"]
    assert record["ended_by"] == "silence" and record["voiced_s"] == 0


async def test_blocked_caller_is_refused_politely(hotline):
    async with open_phone(rtp_port=free_rtp_block()) as phone:
        call, call_id = await hotline.dial(phone, "13800000003")
        refusal = await hotline.wait_for(call_id, "play", "refuse")
        record = await hotline.wait_ended(call_id)
    assert refusal["prompts"] == ["common/blocked"]
    assert json.loads(record["ivr_path"]) == ["screen", "refuse"]
    assert record["hangup_by"] == "ivr"


async def test_vip_caller_is_greeted_and_marked(hotline):
    async with open_phone(rtp_port=free_rtp_block()) as phone:
        call, call_id = await hotline.dial(phone, "13800000002")
        await hotline.wait_for(call_id, "play", "vip_greeting")
        await hotline.wait_for(call_id, "play", "main")
        await call.hangup()
    record = await hotline.wait_ended(call_id)
    assert record["vip"] == 1
    assert json.loads(record["ivr_path"])[:3] == ["screen", "mark_vip", "vip_greeting"]


@pytest.mark.parametrize("method", ["rfc4733", "info"])
async def test_dtmf_by_both_methods_reaches_the_menu(hotline, method):
    async with open_phone(rtp_port=free_rtp_block()) as phone:
        call, call_id = await hotline.dial(phone, "13800000005")
        await hotline.wait_for(call_id, "play", "main")
        await call.send_dtmf("3", method)
        await hotline.wait_for(call_id, "play", "outages")
        await call.hangup()
    record = await hotline.wait_ended(call_id)
    assert record["digits"] == "3"
    dtmf = [d for k, d in hotline.events(call_id) if k == "dtmf"]
    assert dtmf and dtmf[0]["digits"] == "3"


async def test_the_daemon_answers_while_calls_come_and_go(hotline):
    """Many short calls in a row leave one complete record each and no call left open."""
    t0 = time.time()
    async with open_phone(rtp_port=free_rtp_block()) as phone:
        for _ in range(5):
            call, call_id = await hotline.dial(phone, "13900000099")
            await hotline.wait_for(call_id, "node", "greeting")
            await call.hangup()
            await hotline.wait_ended(call_id)
    open_calls = hotline.query("SELECT count(*) FROM calls WHERE \"end\" IS NULL")[0][0]
    assert open_calls == 0
    recent = hotline.query(
        "SELECT disposition, hangup_by FROM calls WHERE src = '13900000099' AND start >= ?",
        (iso(t0),))
    assert recent == [("ANSWERED", "caller")] * 5


def admin(hotline: Hotline):
    from ccd.api.client import SyncClient

    client = SyncClient.connect(hotline.config.parent / "run" / "ccd.sock")
    client.login_peer()
    return client


# (caller, digits to send at the main menu, the node to hang up in, the event that says we are
# in it): a hang-up in the middle of each kind of node.
HANGUP_POINTS = [
    ("13900000001", "", "greeting", "play"),            # play
    ("13900000002", "", "main", "play"),                # menu
    ("13800000004", "1", "say_balance", "play"),        # say
    ("13900000003", "1", "ask_account", "play"),        # collect (unknown caller)
    ("13800000004", "21", "record_repair", "record_start"),  # record
    ("13800000004", "4", "status", "play"),             # work-order status
]


async def test_hangup_in_every_kind_of_node_leaves_a_complete_record_and_no_leaks(hotline):
    async with open_phone(rtp_port=free_rtp_block()) as phone:
        for caller, digits, node, kind in HANGUP_POINTS:
            call, call_id = await hotline.dial(phone, caller)
            if digits:
                await hotline.wait_for(call_id, "play", "main")
                await call.send_dtmf(digits[0], "info")
                if len(digits) > 1:
                    await hotline.wait_for(call_id, "play", "report")
                    await call.send_dtmf(digits[1], "info")
            await hotline.wait_for(call_id, kind, node)
            await call.hangup()
            record = await hotline.wait_ended(call_id)
            assert record["disposition"] == "ANSWERED", (node, record)
            assert record["hangup_by"] == "caller", (node, record)
            assert json.loads(record["ivr_path"])[-1] == node, (node, record["ivr_path"])
            assert hotline.events(call_id)[-1][0] == "end"
    with admin(hotline) as client:
        with trio.fail_after(10):  # the worker lets go of a call's objects as its BYE completes
            while True:
                stats = client.call("telephony.stats")["workers"][0]
                if stats["legs"] == stats["pj_calls"] == stats["players"] == stats["recorders"] == 0:
                    break
                await trio.sleep(0.1)
    assert stats["conf_ports_active"] <= 1  # only the conference bridge's own port


async def test_calls_list_json_gives_the_digits_in_order(hotline):
    async with open_phone(rtp_port=free_rtp_block()) as phone:
        call, call_id = await hotline.dial(phone, "13900000077")
        await hotline.wait_for(call_id, "play", "main")
        await call.send_dtmf("3", "info")
        await hotline.wait_for(call_id, "play", "outages")
        await call.send_dtmf("2", "info")
        await hotline.wait_for(call_id, "play", "ask_district")
        await call.hangup()
    await hotline.wait_ended(call_id)
    out = await trio.run_process(
        [sys.executable, "-m", "ccd", "--config", str(hotline.config), "calls", "list", "--json"],
        capture_stdout=True, capture_stderr=True,
    )
    calls = json.loads(out.stdout)
    mine = next(c for c in calls if c["id"] == call_id)
    assert mine["digits"] == "32"
    assert mine["ivr_path"][-1] == "ask_district"
    shown = await trio.run_process(
        [sys.executable, "-m", "ccd", "--config", str(hotline.config), "calls", "show", call_id],
        capture_stdout=True, capture_stderr=True,
    )
    assert b"dtmf" in shown.stdout


async def test_a_killed_media_worker_fails_its_calls_and_the_next_call_works(hotline):
    with admin(hotline) as client:
        before = client.call("status")["sip"]["workers"][0]
    async with open_phone(rtp_port=free_rtp_block()) as phone:
        call, call_id = await hotline.dial(phone, "13900000066")
        await hotline.wait_for(call_id, "play", "main")
        os.kill(before["pid"], signal.SIGKILL)
        record = await hotline.wait_ended(call_id)
        assert record["disposition"] == "FAILED"
        assert record["hangup_by"] == "worker-lost"
        with admin(hotline) as client:  # the daemon never stopped answering its socket
            with trio.fail_after(20):
                while True:
                    worker = client.call("status")["sip"]["workers"][0]
                    if worker["alive"] and worker["pid"] != before["pid"]:
                        break
                    await trio.sleep(0.1)
        assert worker["restarts"] == before["restarts"] + 1
        call, call_id = await hotline.dial(phone, "13900000066")
        await hotline.wait_for(call_id, "play", "main")
        await call.hangup()
    record = await hotline.wait_ended(call_id)
    assert record["disposition"] == "ANSWERED"


async def test_press_0_reaches_a_logged_in_agent_and_the_record_says_so(hotline):
    """The whole path in the real daemon: IVR → queue → the agent's desk phone → bridged."""
    from ccd.api.client import SyncClient
    from tests.daemon_proc import free_port

    port = free_port()
    async with open_phone(listen="127.0.0.1", sip_port=port, user="desk", auto_answer=True,
                          rtp_port=free_rtp_block()) as desk, \
            open_phone(rtp_port=free_rtp_block()) as phone:
        with admin(hotline) as client:
            client.call("stations.add", name="e2e-desk", uri=f"sip:desk@127.0.0.1:{port}")
        agent = SyncClient.connect(hotline.config.parent / "run" / "ccd.sock")
        agent.login("agent1001", "agent1001")
        agent.call("agent.login", station="e2e-desk", ready=True)
        try:
            call, call_id = await hotline.dial(phone, "13800000004")
            await hotline.wait_for(call_id, "play", "main")
            await call.send_dtmf("0", "info")
            with trio.fail_after(20):
                answered = await desk.incoming()
            with trio.fail_after(10):
                while True:
                    (agent_on_record,), = hotline.query(
                        "SELECT agent FROM calls WHERE id = ?", (call_id,))
                    if agent_on_record == "agent1001":
                        break
                    await trio.sleep(0.05)
            await trio.sleep(1.0)  # one second of conversation
            await call.hangup()
            record = await hotline.wait_ended(call_id)
            assert answered.info.caller  # the desk phone saw who was calling
        finally:
            agent.call("agent.logout")
            agent.close()
    assert record["queue"] == "general" and record["agent"] == "agent1001"
    assert record["station"] == "e2e-desk"
    assert record["wait_s"] is not None and record["talk_s"] >= 0.9
    assert json.loads(record["ivr_path"])[-1] == "agent_queue"
    states = [s for (s,) in hotline.query(
        "SELECT state FROM agent_state_log WHERE agent = 'agent1001' AND call_id = ? ORDER BY id",
        (call_id,))]
    assert "talking" in states
    events = [e for (e,) in hotline.query(
        "SELECT event FROM queue_events WHERE call_id = ? ORDER BY id", (call_id,))]
    assert events[0] == "enter_queue"
    assert "answered" in events


async def test_an_english_speaking_customer_is_greeted_in_english(hotline):
    async with open_phone(rtp_port=free_rtp_block()) as phone:
        call, call_id = await hotline.dial(phone, "13800000005")  # John Smith, language 'en'
        greeting = await hotline.wait_for(call_id, "play", "greeting")
        menu = await hotline.wait_for(call_id, "play", "main")
        await call.hangup()
    assert greeting["lang"] == "en" and menu["lang"] == "en"
    record = await hotline.wait_ended(call_id)
    assert record["language"] == "en"


async def test_each_call_is_one_info_line_at_start_and_one_at_the_end(hotline):
    async with open_phone(rtp_port=free_rtp_block()) as phone:
        call, call_id = await hotline.dial(phone, "13800000004")
        await hotline.wait_for(call_id, "play", "main")
        await call.hangup()
    await hotline.wait_ended(call_id)
    started = await trio.to_thread.run_sync(hotline.daemon.wait_for_line,
                                            f"call {call_id} from", 10.0)
    ended = await trio.to_thread.run_sync(hotline.daemon.wait_for_line,
                                          f"call {call_id} ended", 10.0)
    assert "INFO" in started and "13800000004" in started
    assert "INFO" in ended and "hung up by caller" in ended
