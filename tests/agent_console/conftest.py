"""Fixtures for the agent console's tests: a demo site, the real daemon as a subprocess.

Without SIP, the daemon is the wallboard tests' launcher (tests/wallboard/daemon_main.py: `ccd
run` with the ACD on simulated phones and admin-only `testing.*` methods to place and answer
calls). The SIP end-to-end test runs the real `ccd run` with telephony (test_sip_console.py).

Textual runs on asyncio and pytest-trio on trio, so each Pilot test is a plain function that runs
its scenario with `asyncio.run`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.wallboard.conftest import WallboardDaemon
from tui.agent.app import AgentConsoleApp, create_app
from tui.client import AsyncioClient


def make_site(folder: Path, customers: int = 300) -> Path:
    subprocess.run(
        [sys.executable, "-m", "ccd", "init", "--dir", str(folder), "--demo", "--customers",
         str(customers), "--no-prompts"],
        check=True, capture_output=True, text=True,
    )
    return folder / "ccd.toml"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo site: agent1001/agent1001 ..., stations seat01.., queue general..."""
    return make_site(tmp_path_factory.mktemp("agent_console") / "site")


@pytest.fixture
def daemon(site: Path) -> Iterator[WallboardDaemon]:
    """The daemon on the demo site; every queue requires a wrap-up code."""
    d = WallboardDaemon(site, "acd.wrap_up_required=true").start()
    yield d
    d.stop()


class RecordingClient(AsyncioClient):
    """The real asyncio client, noting every method the console calls (for the key walk)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.methods: list[str] = []

    async def request(self, method: str, params: Any = None) -> Any:
        self.methods.append(method)
        return await super().request(method, params)


def console(socket: Path, **options: Any) -> AgentConsoleApp:
    options.setdefault("retry_s", 0.1)
    return create_app(RecordingClient(socket), **options)


async def until(pilot: Any, check: Callable[[], object], what: str, timeout: float = 15.0
                ) -> None:
    """Let the app run until `check()` holds (a real daemon answers in its own time)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await pilot.pause(0.05)


async def type_text(pilot: Any, text: str) -> None:
    for ch in text:
        await pilot.press(ch if ch != " " else "space")


async def log_in(pilot: Any, app: AgentConsoleApp, agent: str, station: str) -> None:
    """Fill the login screen with keys and wait for the console."""
    await type_text(pilot, agent)
    await pilot.press("tab")
    await type_text(pilot, agent)  # demo passwords equal the user name
    await pilot.press("tab")
    await type_text(pilot, station)
    await pilot.press("enter")
    await until(pilot, lambda: app.logged_in and app.state.get("state"), "the console")


async def admin(socket: Path) -> AsyncioClient:
    client = await AsyncioClient.connect(socket)
    await client.login_peer()
    return client


def screen_text(app: AgentConsoleApp) -> str:
    """Every line of the app's screen as plain text."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


def query(db: Path, sql: str, args: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def run(scenario: Callable[[], Any]) -> Any:
    return asyncio.run(scenario())
