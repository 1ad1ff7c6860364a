"""One run of `ccd wallboard --kiosk` in a real terminal (tmux): it draws the board, ignores
keys, shows stale data when the daemon dies, and comes back when it returns."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from tests.tmux import Tmux, needs_tmux
from tests.wallboard.conftest import WallboardDaemon

ROOT = Path(__file__).resolve().parents[2]
pytestmark = needs_tmux


def test_kiosk_in_tmux(daemon, site) -> None:
    tmux = Tmux(f"ccd-wallboard-test-{os.getpid()}", "board")
    command = (f"env LANG=C.UTF-8 CCD_USER=lead1 CCD_PASSWORD=lead1 {sys.executable} -m "
               f"tests.wallboard.ccd_cli --config {site} wallboard --kiosk")
    tmux.run("new-session", "-d", "-s", "board", "-x", "100", "-y", "30", "-c", str(ROOT),
             command)
    back = None
    try:
        tmux.run("set-option", "-t", "board", "remain-on-exit", "on")
        screen = tmux.wait_for("实时")
        assert "监控大屏" in screen and "总览" in screen
        tmux.run("send-keys", "-t", "board", "q", "C-c", "C-q", "3", "f", "Escape")
        time.sleep(1.0)
        dead = tmux.run("list-panes", "-t", "board", "-F", "#{pane_dead}").strip()
        assert dead == "0", tmux.screen()
        daemon.proc.kill()
        daemon.proc.wait()
        screen = tmux.wait_for("数据已过期")
        assert "正在重连" in screen
        back = WallboardDaemon(site).start()
        tmux.wait_for("实时")
        assert tmux.run("list-panes", "-t", "board", "-F", "#{pane_dead}").strip() == "0"
    finally:
        tmux.run("kill-server")
        if back is not None:
            back.stop()
