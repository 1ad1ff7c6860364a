"""SVG snapshots of the wallboard's main page (总览) at 80×24 and 200×50 (pytest-textual-snapshot).

The text snapshots of every page are in test_snapshots.py; these keep the picture (colours,
borders, the banner) of the page the wall shows most. The board is the frozen one
(tests/wallboard/frozen.py: the scripted morning at 08:20:50 served by a client stand-in, the
clock one second later), so no daemon and no real time is involved; nothing on the page blinks.

Snapshots live in tests/wallboard/__snapshots__/test_svg_snapshots/. After a deliberate change
to the board, regenerate them with one command and review the pictures:

    .venv/bin/pytest tests/wallboard/test_svg_snapshots.py --snapshot-update

A mismatch fails the test with a line diff of the screen's text against the stored picture.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.snapshot_helpers import assert_whole, shoot, still
from tests.wallboard.conftest import run
from tests.wallboard.frozen import NOW, QuietClient, frozen_board, login, screen_text
from tui.wallboard.app import WallboardApp, create_app

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((200, 50), id="200x50")]
FIELDS = ("演示水务热线", "监控大屏", "2026-11-23 08:20:51", "总览", "实时 · 08:20:50", "今日",
          "时段 08:15", "账务查询", "综合服务", "服务水平 0% 低于目标", "王芳 求助：客户要求减免违约金",
          "WO-20261122-0042", "WO-20261123-0007、WO-20261123-0011")
KEY_LINE = "l 监听  w 密语  b 强插  x 停听  f 强制  c 详情  h 回复  s 排序  g English  q 退出  1-5 翻页"


def board_app() -> WallboardApp:
    return create_app(QuietClient(frozen_board()), login=login, clock=lambda: NOW + 1,
                      site_name="演示水务热线")


async def show_overview(pilot: Any) -> None:
    app = pilot.app
    while app.board is None or not app.paints:
        await pilot.pause(0.02)
    await pilot.press("1")
    still(app)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_overview(snap_compare: Any, request: pytest.FixtureRequest,
                  size: tuple[int, int]) -> None:
    app = board_app()
    text = shoot(snap_compare, request, app, size, show_overview, screen_text)
    assert app.page == "overview"
    assert_whole(text, size, FIELDS)


@pytest.mark.parametrize("size", [
    pytest.param((80, 24), id="80x24"),
    pytest.param((200, 50), id="200x50"),
])
def test_overview_key_line_is_whole(size: tuple[int, int]) -> None:
    async def scenario() -> str:
        app = board_app()
        async with app.run_test(size=size) as pilot:
            await show_overview(pilot)
            return screen_text(app)

    assert_whole(run(scenario), size, [KEY_LINE])
