"""Surge mode on a running daemon: a caller waiting with no agent staffed switches it on (the
next caller hears the surge menu, the wallboard shows it), and it goes off when they leave."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import trio

from hw.edge import kamailio_path
from hw.sipphone import open_phone
from tests.daemon_proc import DaemonProcess
from tests.e2e.edge_site import edge_port, status
from tests.sip.conftest import free_rtp_block

pytestmark = [
    pytest.mark.sip,
    pytest.mark.skipif(kamailio_path() is None, reason="Debian's kamailio is not installed "
                       "(make deps installs it)"),
]


def call_path(db: Path, caller: str) -> tuple[str, list[str]]:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT id FROM calls WHERE src = ? ORDER BY start DESC LIMIT 1",
                           [caller]).fetchone()
        if row is None:
            return "", []
        nodes = [json.loads(d).get("node", "") for (d,) in conn.execute(
            "SELECT data FROM call_events WHERE call_id = ? AND kind = 'node' ORDER BY id",
            [row[0]])]
        return row[0], nodes
    finally:
        conn.close()


async def wait_for_node(db: Path, caller: str, node: str) -> list[str]:
    with trio.fail_after(30):
        while True:
            _, nodes = call_path(db, caller)
            if node in nodes:
                return nodes
            await trio.sleep(0.1)


async def wait_surge(config: Path, on: bool) -> dict:
    with trio.fail_after(30):
        while True:
            surge = status(config)["surge"]
            if surge["on"] is on:
                return surge
            await trio.sleep(0.1)


def wallboard_alerts(config: Path) -> list[str]:
    from ccd.api.client import SyncClient

    client = SyncClient.connect(config.parent / "run" / "ccd.sock")
    try:
        client.login_peer()
        return [a["kind"] for a in client.call("wallboard.snapshot")["alerts"]]
    finally:
        client.close()


async def test_a_waiting_caller_with_nobody_staffed_turns_surge_mode_on_and_off(edge_site):
    config, prompts = edge_site
    db = config.parent / "ccd.sqlite3"
    daemon = DaemonProcess(
        config, f"paths.prompts={prompts}", "ivr.surge.on_waiting_per_agent=1.0",
        "ivr.surge.off_waiting_per_agent=0.0", "ivr.surge.min_on_s=0.0",
        "ivr.surge.sample_s=0.2").start()
    try:
        uri = f"sip:95598@127.0.0.1:{edge_port(daemon)}"
        assert status(config)["surge"]["on"] is False
        async with open_phone(rtp_port=free_rtp_block()) as phone:
            first = await phone.dial(uri, caller_id="13900004001", timeout=10)
            await wait_for_node(db, "13900004001", "main")
            await first.send_dtmf("0", "info")  # an agent, please: into the queue
            surge = await wait_surge(config, True)
            assert surge["waiting"] == 1 and surge["staffed"] == 0
            assert "surge" in wallboard_alerts(config)

            second = await phone.dial(uri, caller_id="13900004002", timeout=10)
            nodes = await wait_for_node(db, "13900004002", "surge_menu")
            assert "main" not in nodes and nodes.index("menu_choice") > nodes.index(
                "outage_check")
            await second.hangup()

            await first.hangup()
            await wait_surge(config, False)
            assert "surge" not in wallboard_alerts(config)
            third = await phone.dial(uri, caller_id="13900004003", timeout=10)
            nodes = await wait_for_node(db, "13900004003", "main")
            assert "surge_menu" not in nodes
            await third.hangup()
        assert status(config)["surge"]["switches"] == 2
    finally:
        code = daemon.stop()
    assert code == 0, daemon.output[-3000:]
