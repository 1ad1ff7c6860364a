"""Snapshots of every page at 80×24 and 200×50, as the terminal's text, against golden files.

The board is frozen (tests/wallboard/frozen.py: the scripted morning at 08:20:50, the clock one
second later, no cursor on the main screens). A changed layout fails here; to accept a change on
purpose, run with UPDATE_GOLDEN=1 and review the diff of tests/wallboard/golden/. SVG
screenshots of the same screens are written next to the test's tmp_path for a look by eye.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.wallboard.conftest import run
from tests.wallboard.frozen import GOLDEN, NOW, QuietClient, frozen_board, login, screen_text
from tui.wallboard.app import PAGES, create_app

SIZES = [(80, 24), (200, 50)]


def _golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from {path}"


@pytest.mark.parametrize(("width", "height"), SIZES)
@pytest.mark.parametrize("language", ["zh", "en"])
def test_pages(width: int, height: int, language: str, tmp_path: Path) -> None:
    async def scenario() -> dict[str, str]:
        app = create_app(QuietClient(frozen_board()), login=login, clock=lambda: NOW + 1,
                         language=language, site_name="演示水务热线")
        shots: dict[str, str] = {}
        async with app.run_test(size=(width, height)) as pilot:
            while app.board is None:
                await pilot.pause(0.02)
            for number, page in enumerate(PAGES, start=1):
                await pilot.press(str(number))
                await pilot.pause(0.05)
                shots[page] = screen_text(app)
                app.save_screenshot(f"{page}-{width}x{height}-{language}.svg", str(tmp_path))
        return shots

    shots = run(scenario)
    for page, text in shots.items():
        lines = text.splitlines()
        assert len(lines) <= height
        _golden(f"{page}-{width}x{height}-{language}", text)


def test_frozen_board_is_the_scripted_morning() -> None:
    """The golden files show the numbers tests/reports checks by hand: a sanity link."""
    board = frozen_board()
    today = board.headline.today
    assert (today.offered, today.answered, today.abandoned, today.short_abandoned) == (8, 5, 1, 1)
    assert board.headline.waiting == 1 and board.headline.longest_wait_s == 50
    assert [a.kind for a in board.alerts] == [
        "service_level", "help", "work_order_escalated", "work_order_overdue"]


def test_sorting_the_agents_grid() -> None:
    async def scenario() -> list[list[str]]:
        app = create_app(QuietClient(frozen_board()), login=login, clock=lambda: NOW + 1)
        orders = []
        async with app.run_test(size=(100, 30)) as pilot:
            while app.board is None:
                await pilot.pause(0.02)
            await pilot.press("3")
            grid = app.query_one("#agent-table")
            orders.append(list(grid.keys))
            for _ in range(4):
                await pilot.press("s")
                await pilot.pause(0.05)
                orders.append(list(grid.keys))
        return orders

    by_number, by_state, by_time, by_calls, again = run(scenario)
    assert by_number == ["a1", "a2", "a3"]
    assert by_state == ["a1", "a3", "a2"]  # talking, not ready, ready
    assert by_time == ["a3", "a1", "a2"]  # in state since 08:18:20, 08:19:20, 08:19:50
    assert by_calls == ["a2", "a1", "a3"]  # 3, 2 and 1 calls today
    assert again == by_number


def test_language_key_switches_every_word() -> None:
    async def scenario() -> tuple[str, str, str]:
        app = create_app(QuietClient(frozen_board()), login=login, clock=lambda: NOW + 1)
        async with app.run_test(size=(100, 30)) as pilot:
            while app.board is None:
                await pilot.pause(0.02)
            await pilot.press("3")
            await pilot.pause(0.05)
            chinese = screen_text(app)
            await pilot.press("g")
            await pilot.pause(0.05)
            english = screen_text(app)
            await pilot.press("g")
            await pilot.pause(0.05)
            return chinese, english, screen_text(app)

    chinese, english, back = run(scenario)
    assert "座席" in chinese and "示忙·用餐" in chinese
    assert "Agent" in english and "Not ready·meal" in english and "示忙" not in english
    assert back == chinese


def test_the_board_keeps_ticking_under_a_dialog() -> None:
    """The once-a-second redraw must find the board's widgets while a dialog is on top."""
    from tui.wallboard.screens import ForceStateScreen

    now = [NOW + 1]

    async def scenario() -> tuple[bool, str]:
        app = create_app(QuietClient(frozen_board()), login=login, clock=lambda: now[0])
        async with app.run_test(size=(100, 30)) as pilot:
            while app.board is None:
                await pilot.pause(0.02)
            await pilot.press("3")
            app.query_one("#agent-table").focus()
            await pilot.press("f")
            now[0] = NOW + 61
            await pilot.pause(1.3)  # at least one tick with the dialog open
            status = str(app.screen_stack[0].query_one("#status").render())
            return app.is_running and isinstance(app.screen, ForceStateScreen), status

    running, status = run(scenario)
    assert running
    assert "08:21:51" in status
