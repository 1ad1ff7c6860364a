"""The console end to end over real SIP: the real daemon (`ccd run`, telephony on), a pjsua2
caller who presses 0 in the IVR, and agent1001's desk phone (a pjsua2 phone that auto-answers, so
the console's answer key answers: answer mode 'console').

The phones run on trio (this test); the console runs on asyncio in a worker thread, driven with
Pilot by keys only. The two sides hand over with trio events set from the console's thread.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
import trio

from hw.sipphone import open_phone
from tests.agent_console.conftest import console, log_in, make_site, query, screen_text, until
from tests.agent_console.sip_helpers import hotline_uri, prompts_fixture  # noqa: F401
from tests.agent_console.sip_helpers import wait_call_event as _wait_event
from tests.daemon_proc import DaemonProcess
from tests.sip.conftest import free_rtp_block

pytestmark = pytest.mark.sip


async def test_call_from_ivr_to_wrap_up_by_keys(tmp_path: Path, prompts: Path) -> None:
    config = make_site(tmp_path / "site")
    db = config.parent / "ccd.sqlite3"
    async with open_phone(rtp_port=free_rtp_block(), user="agent1001", auto_answer=True) as desk:
        conn = sqlite3.connect(db)
        conn.execute("UPDATE stations SET uri = ? WHERE name = 'seat01'", [desk.uri])
        conn.commit()
        conn.close()
        daemon = DaemonProcess(config, f"paths.prompts={prompts}", "acd.wrap_up_s=60").start()
        try:
            await _scenario(daemon, config, db)
        finally:
            assert daemon.stop() == 0, daemon.output


async def _scenario(daemon: DaemonProcess, config: Path, db: Path) -> None:
    socket = config.parent / "run" / "ccd.sock"
    agent_ready = trio.Event()
    call_over = trio.Event()
    seen: dict[str, object] = {}

    async def console_side() -> None:
        app = console(socket, answer="console")
        async with app.run_test(size=(100, 40)) as pilot:
            await log_in(pilot, app, "agent1001", "seat01")
            await pilot.press("f2")
            await until(pilot, lambda: app.state.get("state") == "ready", "ready")
            trio.from_thread.run_sync(agent_ready.set)
            # the phone rings: the screen pop is painted while the state is still ringing
            await until(pilot, lambda: app.pop_call is not None
                        and app.pop_call == app.state.get("call_id"), "the screen pop", 60)
            await pilot.pause(0.1)
            seen["state_at_pop"] = app.state.get("state")
            seen["pop_screen"] = screen_text(app)
            seen["call_id"] = app.pop_call
            await pilot.press("f3")  # answer
            await until(pilot, lambda: app.state.get("state") == "talking", "talking")
            await pilot.press("f9")  # work order, prefilled; Enter submits
            await pilot.pause(0.2)
            await pilot.press("enter")
            await until(pilot, lambda: "WO-" in app.notice_text, "the work-order number")
            seen["wo_notice"] = app.notice_text
            await pilot.press("f4")  # hang up
            await until(pilot, lambda: app.state.get("state") == "wrap_up", "wrap-up")
            seen["wrap_screen"] = screen_text(app)
            await pilot.press("f12")  # wrap-up: first code (enquiry), then the note
            await pilot.pause(0.2)
            await pilot.press("down", "enter")  # the second code: billing
            for ch in "ok":
                await pilot.press(ch)
            await pilot.press("enter")
            await until(pilot, lambda: app.state.get("state") == "ready", "ready after wrap-up")
        trio.from_thread.run_sync(call_over.set)

    async def caller_side() -> None:
        await agent_ready.wait()
        async with open_phone(rtp_port=free_rtp_block(), user="caller") as phone:
            call = await phone.dial(hotline_uri(daemon), caller_id="13800000004")
            await _wait_event(db, "13800000004", "play", "main")
            await call.send_dtmf("0", "info")
            with trio.fail_after(90):
                await call_over.wait()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(caller_side)
        await trio.to_thread.run_sync(lambda: asyncio.run(console_side()))

    call_id = seen["call_id"]
    assert seen["state_at_pop"] == "ringing"  # the pop came before the answer
    pop = str(seen["pop_screen"])
    assert "刘芳" in pop and "1060000004" in pop and "123.45" in pop
    assert "13800000004" in pop and "综合服务" in pop  # the queue's name, not its code
    assert "主菜单" in pop and "按键：0" in pop  # the IVR path in words, and the key pressed
    assert "剩余" in str(seen["wrap_screen"])  # the wrap-up countdown
    ((agent, wrap_code, note, queue),) = query(
        db, "SELECT agent, wrap_code, note, queue FROM calls WHERE id = ?", (call_id,))
    assert (agent, wrap_code, note, queue) == ("agent1001", "billing", "ok", "general")
    number = str(seen["wo_notice"]).rsplit("：", 1)[-1]
    ((wo_call, customer_id, phone),) = query(
        db, "SELECT call_id, customer_id, phone FROM work_orders WHERE number = ?", (number,))
    assert (wo_call, customer_id, phone) == (call_id, 4, "13800000004")
    states = [r[0] for r in query(
        db, "SELECT state FROM agent_state_log WHERE agent = 'agent1001' ORDER BY id")]
    assert states[:2] == ["not_ready", "ready"]
    # ... and the console closing at the end logs the agent out (no calls for an empty desk)
    assert states[-5:] == ["ringing", "talking", "wrap_up", "ready", "logged_out"]
    logged_calls = {r[0] for r in query(
        db, "SELECT call_id FROM agent_state_log WHERE agent = 'agent1001' AND state IN "
        "('ringing', 'talking', 'wrap_up')")}
    assert logged_calls == {call_id}
    path = json.loads(query(db, "SELECT ivr_path FROM calls WHERE id = ?", (call_id,))[0][0])
    assert "agent_queue" in path

