"""The kiosk on a wall screen (120×40): big figures (Textual's Digits) that fill the screen, each
coloured by its threshold, and a status line that says how the kiosk is stopped (no key does)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Digits

from ccd.reports.settings import WallboardSettings
from tests.wallboard.conftest import run
from tests.wallboard.frozen import NOW, QuietClient, frozen_board, login, screen_text
from tui.wallboard import views
from tui.wallboard.app import BIG_FIGURES, create_app


def test_the_kiosk_fills_a_wall_screen_with_big_figures(tmp_path: Path) -> None:
    board = frozen_board()

    async def scenario() -> tuple[dict[str, str], list[int], str, tuple[int, int]]:
        app = create_app(QuietClient(board), login=login, clock=lambda: NOW + 1, kiosk=True,
                         settings=WallboardSettings(kiosk_page_s=3600))
        async with app.run_test(size=(120, 40)) as pilot:
            while app.board is None:
                await pilot.pause(0.02)
            await pilot.pause(0.2)
            shown = {key: str(app.query_one(f"#tile-{key} Digits", Digits).value)
                     for key in BIG_FIGURES}
            heights = [app.query_one(f"#tile-{key}").region.height for key in BIG_FIGURES]
            big = app.query_one("#big").region
            app.save_screenshot("kiosk-120x40.svg", str(tmp_path))
            return shown, heights, screen_text(app), (big.width, big.height)

    shown, heights, text, (width, height) = run(scenario)
    figures = views.big_figures(board)
    assert shown == {key: figure for key, (figure, _) in figures.items()}
    assert shown["waiting"] == str(board.headline.waiting)
    assert width >= 110 and height >= 26  # most of a 120×40 screen, not half of it
    assert min(heights) >= 12  # each tile has room around its three-line figure
    assert "systemctl stop ccd-wallboard@tty1" in text.splitlines()[-1]  # how to leave it, always shown
