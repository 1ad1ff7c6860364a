"""What a daemon restart does to an open board, without a daemon: a new daemon counts its pushes
from zero (the board must take its first snapshot anyway), and the stale board's dimming must
draw every page (page 3 once crashed inside Textual's opacity code on blank grid lines).

The end-to-end restart, with SIP and a ringing call, is tests/agent_console/test_sip_restart.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from tests.wallboard.conftest import run
from tests.wallboard.frozen import NOW, QuietClient, frozen_board, login
from tui.wallboard.app import create_app


class RestartingClient(QuietClient):
    """Serves a board with seq 42, drops the link, then (a new daemon) serves seq 3."""

    def __init__(self) -> None:
        super().__init__(frozen_board())
        self.restarted = asyncio.Event()
        self.snapshots = 0

    async def reconnect(self) -> None:
        self.connected = True

    async def call(self, method: str, /, **params: Any) -> Any:
        if method == "wallboard.snapshot":
            self.snapshots += 1
            seq = 42 if self.snapshots == 1 else 3
            board = frozen_board(NOW + (0 if seq == 42 else 60))
            return msgspec.to_builtins(msgspec.structs.replace(board, seq=seq))
        return await super().call(method, **params)

    async def events(self) -> AsyncIterator[Any]:
        if self.snapshots == 1:
            self.connected = False  # the daemon goes away once
            return
        await asyncio.Event().wait()
        yield None  # pragma: no cover


def test_a_restarted_daemons_first_snapshot_is_taken_whatever_its_seq() -> None:
    async def scenario() -> None:
        client = RestartingClient()
        app = create_app(client, login=login, clock=lambda: NOW + 61, retry_s=0.01)
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(200):
                if client.snapshots >= 2 and app.board is not None and app.board.seq == 3:
                    break
                await pilot.pause(0.02)
            assert app.board is not None and app.board.seq == 3
            assert app.board.at == NOW + 60 and not app.stale

    run(scenario)


def test_a_stale_kiosk_draws_its_big_figures() -> None:
    async def scenario() -> None:
        app = create_app(QuietClient(frozen_board()), login=login, clock=lambda: NOW + 3600,
                         kiosk=True)
        async with app.run_test(size=(120, 40)) as pilot:
            while app.board is None:
                await pilot.pause(0.02)
            await pilot.pause(0.1)
            assert app.stale and app.has_class("-stale")
            app.export_screenshot()
            assert app.is_running

    run(scenario)


def test_a_stale_board_draws_every_page() -> None:
    async def scenario() -> None:
        app = create_app(QuietClient(frozen_board()), login=login, clock=lambda: NOW + 3600)
        async with app.run_test(size=(120, 40)) as pilot:
            while app.board is None:
                await pilot.pause(0.02)
            await pilot.pause(0.1)
            assert app.stale and app.has_class("-stale")
            for key in "12345":
                await pilot.press(key)
                await pilot.pause(0.1)
                app.export_screenshot()  # renders every line, dimmed, through the compositor
            assert app.is_running and app.page == "trends"

    run(scenario)
