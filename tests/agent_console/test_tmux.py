"""`ccd agent` in a real terminal (tmux): log in with send-keys, go ready, read the screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.wallboard.conftest import WallboardDaemon

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """A private tmux server (its own socket name), so no one else's sessions are touched."""

    def __init__(self, name: str) -> None:
        self.base = ["tmux", "-u", "-L", name]

    def run(self, *args: str) -> str:
        return subprocess.run([*self.base, *args], check=True, capture_output=True,
                              text=True).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "agent")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "agent", *keys)
        time.sleep(0.3)  # a terminal user types no faster; Textual reads keys in batches

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not on the screen:\n{screen}")


def test_agent_console_in_tmux(daemon: WallboardDaemon, site: Path) -> None:
    tmux = Tmux(f"ccd-agent-test-{os.getpid()}")
    command = (f"env LANG=C.UTF-8 TERM=xterm-256color {sys.executable} -m "
               f"tests.agent_console.ccd_cli --config {site} agent")
    tmux.run("new-session", "-d", "-s", "agent", "-x", "80", "-y", "24", "-c", str(ROOT), command)
    try:
        tmux.run("set-option", "-t", "agent", "remain-on-exit", "on")
        tmux.wait_for("坐席登录")
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
