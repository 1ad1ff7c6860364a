"""`ccd agent` in a real terminal (tmux): log in with send-keys, go ready, read the screen."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.tmux import Tmux, needs_tmux
from tests.wallboard.conftest import WallboardDaemon

ROOT = Path(__file__).resolve().parents[2]
pytestmark = needs_tmux


def test_agent_console_in_tmux(daemon: WallboardDaemon, site: Path) -> None:
    tmux = Tmux(f"ccd-agent-test-{os.getpid()}", "agent")
    command = (f"env LANG=C.UTF-8 TERM=xterm-256color {sys.executable} -m "
               f"tests.agent_console.ccd_cli --config {site} agent")
    tmux.run("new-session", "-d", "-s", "agent", "-x", "80", "-y", "24", "-c", str(ROOT), command)
    try:
        tmux.run("set-option", "-t", "agent", "remain-on-exit", "on")
        tmux.wait_for("座席登录")
        tmux.keys("-l", "agent1005")
        tmux.keys("Tab")
        tmux.keys("-l", "agent1005")
        tmux.keys("Tab")
        tmux.keys("-l", "seat05")
        tmux.keys("Enter")
        screen = tmux.wait_for("示忙")
        assert "agent1005" in screen and "seat05" in screen and "F3 接听" in screen
        tmux.keys("F2")
        screen = tmux.wait_for("就绪 · 已持续")
        assert "已连接" in screen
    finally:
        tmux.run("kill-server")
