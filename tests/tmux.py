"""A private tmux server for the tests that run a console in a real terminal.

    tmux = Tmux(f"ccd-agent-test-{os.getpid()}", session="agent")
    tmux.run("new-session", "-d", "-s", "agent", "-x", "80", "-y", "24", command)
    tmux.keys("-l", "agent1005")
    tmux.wait_for("示忙")
"""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """A tmux server of its own (its own socket name), so no one else's sessions are touched;
    `session` is the one session the test reads and types into."""

    def __init__(self, name: str, session: str) -> None:
        self.base = ["tmux", "-u", "-L", name]
        self.session = session

    def run(self, *args: str) -> str:
        return subprocess.run([*self.base, *args], check=True, capture_output=True,
                              text=True).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)
        time.sleep(0.3)  # a terminal user types no faster; Textual reads keys in batches

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        """The screen once `text` is on it (AssertionError with the screen after `timeout`)."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not on the screen:\n{screen}")
