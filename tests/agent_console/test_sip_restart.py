"""A daemon restart with a call ringing, end to end: the real daemon (`ccd run`, telephony on) is
killed (-9) or stopped (SIGTERM) while agent1001's desk phone rings; an agent console and a team
lead's wallboard stay open. A new daemon starts on the same site. The board must show live
figures again within 5 seconds of the new daemon being ready (even though the old daemon had
pushed many more boards than the new one), and the agent must answer the next call normally.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import trio

from hw.sipphone import open_phone
from tests.agent_console.conftest import make_site, query
from tests.agent_console.sip_helpers import (
    ConsoleDriver,
    hotline_uri,
    open_console,
    open_phones,
    prompts_fixture,  # noqa: F401
    set_station,
)
from tests.agent_console.sip_helpers import wait_call_event as _wait_event
from tests.daemon_proc import DaemonProcess
from tests.sip.conftest import free_rtp_block
from tests.wallboard.conftest import password
from tui.client import AsyncioClient
from tui.wallboard.app import WallboardApp, create_app

pytestmark = pytest.mark.sip


def _daemon(config: Path, prompts: Path) -> DaemonProcess:
    # A fast heartbeat: the old daemon's push counter runs far ahead of the new one's.
    return DaemonProcess(config, f"paths.prompts={prompts}", "acd.wrap_up_s=2",
                         "acd.ring_timeout_s=20", "wallboard.heartbeat_s=0.1",
                         "wallboard.publish_per_second=20")


async def _ring(daemon: DaemonProcess, db: Path, caller: str, console: ConsoleDriver
                ) -> tuple[object, object]:
    """A caller who presses 0 for an agent; returns (phone context, call) once agent1001's
    console shows the call ringing."""
    phone_cm = open_phone(rtp_port=free_rtp_block(), user="caller" + caller[-2:])
    phone = await phone_cm.__aenter__()
    call = await phone.dial(hotline_uri(daemon), caller_id=caller)
    await _wait_event(db, caller, "play", "main")
    await call.send_dtmf("0", "info")
    await console.until(lambda app: app.state.get("state") == "ringing"
                        and app.pop_call == app.state.get("call_id"), "ringing", 60)
    return phone_cm, call


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
async def test_console_and_wallboard_recover_from_a_restart_with_a_call_ringing(
        tmp_path: Path, prompts: Path, how: signal.Signals) -> None:
    config = make_site(tmp_path / "site")
    db = config.parent / "ccd.sqlite3"
    socket = config.parent / "run" / "ccd.sock"
    async with open_phones(desk=True) as phones:
        set_station(db, "seat01", phones["desk"].uri)
        daemon = _daemon(config, prompts)
        await trio.to_thread.run_sync(daemon.start)
        board = ConsoleDriver(create_app(AsyncioClient(socket), login=password("lead1"),
                                         retry_s=0.1), size=(120, 40))  # type: ignore[arg-type]
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(trio.to_thread.run_sync, board.run_in_thread)
                await board.wait_started()
                try:
                    await _scenario(daemon, config, db, socket, prompts, board, how)
                finally:
                    board.stop()
        finally:
            await trio.to_thread.run_sync(daemon.stop)


def _live(app: WallboardApp) -> bool:
    return app.board is not None and app.connected and not app.stale and app.board.live


async def _scenario(daemon: DaemonProcess, config: Path, db: Path, socket: Path, prompts: Path,
                    board: ConsoleDriver, how: signal.Signals) -> None:
    await board.until(lambda app: _live(app) and app.board.seq > 60,  # type: ignore[attr-defined]
                      "a live board with many pushes", 30)
    await board.do(lambda pilot, app: pilot.press("3"))  # the agents page (it used to crash)
    async with open_console(socket, answer="console") as agent:
        await agent.log_in("agent1001", "seat01")
        await agent.press("f2")
        await agent.until_state("ready")
        phone_cm, _call = await _ring(daemon, db, "13800000004", agent)
        try:
            daemon.signal(how)
            await trio.to_thread.run_sync(daemon.proc.wait)  # type: ignore[union-attr]
            daemon.drain()
            await board.until(lambda app: not app.connected, "the board sees the drop")
            await agent.until(lambda app: not app.connected, "the console sees the drop")
        finally:
            await phone_cm.__aexit__(None, None, None)  # type: ignore[attr-defined]

        await trio.to_thread.run_sync(daemon.start)  # a new daemon, same site and ports
        ready_at = time.monotonic()
        await board.until(_live, "live figures after the restart", 5)
        assert time.monotonic() - ready_at < 5
        assert await board.read(lambda app: app.is_running and app.page == "agents")
        await board.until(lambda app: any(
            a.agent == "agent1001" for a in app.board.agents), "the agent on the board", 10)

        await agent.until(lambda app: app.connected and app.state.get("state") == "ready",
                          "the console reconnected and ready", 20)
        phone_cm, _call = await _ring(daemon, db, "13800000005", agent)
        try:
            call_id = await agent.read(lambda app: app.state.get("call_id"))
            await agent.press("f3")
            await agent.until_state("talking")
            with trio.fail_after(10):  # the caller stays connected to the agent
                await trio.sleep(1.5)
            assert await agent.read(lambda app: app.state.get("state")) == "talking"
            notice = await agent.read(lambda app: app.notice_text)
            assert "不能" not in notice
            await agent.press("f4")
            await agent.until_state("wrap_up")
        finally:
            await phone_cm.__aexit__(None, None, None)  # type: ignore[attr-defined]
    ((answered, agent_name),) = query(
        db, "SELECT answer IS NOT NULL, agent FROM calls WHERE id = ?", (call_id,))
    assert answered and agent_name == "agent1001"
