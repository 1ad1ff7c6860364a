"""An agent whose console is killed must not keep being offered calls: the real daemon (simulated
phones) logs them out when their last console connection closes, and a call in progress is not
cut (they are logged out when it ends)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.agent_console.conftest import admin, query, run
from tui.client import AsyncioClient


def _last_state(db: Path, agent: str) -> str:
    rows = query(db, "SELECT state FROM agent_state_log WHERE agent = ? ORDER BY id DESC LIMIT 1",
                 (agent,))
    return rows[0][0] if rows else "logged_out"


def _wait_state(db: Path, agent: str, state: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while _last_state(db, agent) != state:
        assert time.monotonic() < deadline, f"{agent} never {state}: {_last_state(db, agent)}"
        time.sleep(0.05)


def test_a_killed_console_logs_its_agent_out_and_gets_no_calls(daemon, site) -> None:
    db = site.parent / "ccd.sqlite3"
    console = subprocess.Popen(
        [sys.executable, "-m", "ccd", "--config", str(site), "agent-cli", "--user", "agent1005",
         "--station", "seat05", "--ready"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "CCD_PASSWORD": "agent1005"})
    try:
        _wait_state(db, "agent1005", "ready")
        console.send_signal(signal.SIGKILL)
        console.wait()
        _wait_state(db, "agent1005", "logged_out")
    finally:
        if console.poll() is None:
            console.kill()
            console.wait()

    async def call_comes() -> None:
        lead = await admin(daemon.socket)
        await lead.call("testing.call", call_id="gone-1", queue="general", number="13900000001")
        await lead.close()

    run(call_comes)
    offered = query(db, "SELECT count(*) FROM agent_state_log WHERE agent = 'agent1005' "
                    "AND state = 'ringing'")
    assert offered == [(0,)]


def test_a_console_gone_during_a_call_keeps_the_call_then_logs_out(daemon, site) -> None:
    db = site.parent / "ccd.sqlite3"

    async def scenario() -> None:
        agent = await AsyncioClient.connect(daemon.socket)
        await agent.login("agent1006", "agent1006")
        await agent.call("agent.login", station="seat06", ready=True)
        lead = await admin(daemon.socket)
        await lead.call("testing.call", call_id="gone-2", queue="general", number="13900000002")
        while _last_state(db, "agent1006") != "ringing":
            await lead.call("ping")
        await lead.call("testing.answer", agent="agent1006", call_id="gone-2")
        while _last_state(db, "agent1006") != "talking":
            await lead.call("ping")
        await agent.close()  # the console goes while the agent talks
        for _ in range(20):
            await lead.call("ping")
        assert _last_state(db, "agent1006") == "talking"  # the caller is not cut off
        await lead.call("testing.caller_hangup", call_id="gone-2")
        await lead.close()

    run(scenario)
    _wait_state(db, "agent1006", "logged_out")
    states = [r[0] for r in query(db, "SELECT state FROM agent_state_log WHERE agent = "
                                  "'agent1006' ORDER BY id")]
    assert states[-3:] == ["talking", "wrap_up", "logged_out"]
