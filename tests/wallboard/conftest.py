"""Fixtures for the wallboard's Pilot tests: a demo site, and the real daemon as a subprocess
(tests/wallboard/daemon_main.py: `ccd run` with the ACD runtime on simulated phones).

Textual runs on asyncio while pytest-trio runs async tests on trio, so each Pilot test is a
plain function that runs its scenario with `asyncio.run`.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_proc import DaemonProcess
from tui.client import AsyncioClient


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo site (users lead1/lead1, qa1/qa1, agent1001/agent1001 ...; stations seat01..)."""
    folder = tmp_path_factory.mktemp("wallboard") / "site"
    subprocess.run(
        [sys.executable, "-m", "ccd", "init", "--dir", str(folder), "--demo", "--customers", "200",
         "--no-prompts"],
        check=True, capture_output=True, text=True,
    )
    return folder / "ccd.toml"


class WallboardDaemon(DaemonProcess):
    """The daemon with the test launcher instead of `-m ccd` and telephony off."""

    def __init__(self, config: Path, *overrides: str) -> None:
        super().__init__(config, "sip.enabled=false", *overrides)
        self.args[self.args.index("ccd")] = "tests.wallboard.daemon_main"
        self.socket = config.parent / "run" / "ccd.sock"


@pytest.fixture
def daemon(site: Path) -> Iterator[WallboardDaemon]:
    d = WallboardDaemon(site).start()
    yield d
    d.stop()


async def until(pilot: Any, check: Callable[[], object], what: str, timeout: float = 10.0
                ) -> None:
    """Let the app run until `check()` holds (a real daemon answers in its own time)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await pilot.pause(0.05)


def password(username: str, secret: str | None = None) -> Callable[[AsyncioClient], Any]:
    async def login(client: AsyncioClient) -> dict[str, Any]:
        return await client.login(username, secret or username)

    return login


async def admin_client(socket: Path) -> AsyncioClient:
    client = await AsyncioClient.connect(socket)
    await client.login_peer()
    return client


def run(scenario: Callable[[], Any]) -> Any:
    return asyncio.run(scenario())
