"""Kiosk mode: no key does anything, pages cycle by themselves, and when the daemon dies the
board keeps its last numbers, says plainly how old they are, and recovers when it returns."""

from __future__ import annotations

import asyncio
import time

from ccd.reports.settings import WallboardSettings
from tests.wallboard.conftest import WallboardDaemon, password, run, until
from tui.client import AsyncioClient
from tui.wallboard.app import create_app


def banner(app) -> str:
    return str(app.query_one("#banner").render())


def test_kiosk_ignores_keys_shows_stale_data_and_recovers(daemon, site) -> None:
    settings = WallboardSettings(kiosk_page_s=3600, stale_after_s=3)

    async def scenario() -> WallboardDaemon:
        app = create_app(AsyncioClient(daemon.socket), login=password("qa1"), kiosk=True,
                         settings=settings, retry_s=0.2)
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.board is not None and app.connected, "connected")
            assert "实时" in banner(app)
            # Keys that would quit, switch pages, open dialogs or the command palette.
            await pilot.press("q", "ctrl+q", "ctrl+c", "escape", "3", "tab", "f", "l", "g",
                              "ctrl+p", "enter", "s")
            await pilot.click("#tabs")
            await pilot.pause(0.3)
            assert app.is_running and app.return_code is None
            assert app.page == "overview" and len(app.screen_stack) == 1
            assert app.t.language == "zh" and app.sort_key == "name"

            seen = app.board.at
            daemon.proc.kill()
            daemon.proc.wait()
            await until(pilot, lambda: app.stale and "数据已过期" in banner(app), "stale banner")
            text = banner(app)
            assert "正在重连" in text
            assert app.local_time(seen)[:5] in text  # the time of the last data, plainly
            await pilot.pause(1.5)
            assert app.is_running and app.attempt >= 2  # it keeps trying
            assert app.board.at == seen  # the last numbers stay on the wall

            back = WallboardDaemon(site).start()
            try:
                await until(pilot, lambda: app.connected and not app.stale
                            and app.board.at > seen, "recovered", timeout=20)
                assert "实时" in banner(app)
            finally:
                await pilot.pause(0)
            return back

    back = run(scenario)
    back.stop()


def test_kiosk_cycles_its_pages(daemon) -> None:
    async def scenario() -> None:
        app = create_app(AsyncioClient(daemon.socket), login=password("qa1"), kiosk=True,
                         settings=WallboardSettings(kiosk_page_s=0.2))
        async with app.run_test(size=(100, 30)) as pilot:
            seen = set()
            started = time.monotonic()
            while len(seen) < 5 and time.monotonic() - started < 10:
                seen.add(app.page)
                await asyncio.sleep(0.05)
            assert seen == {"overview", "queues", "agents", "alerts", "trends"}
            assert pilot is not None

    run(scenario)
