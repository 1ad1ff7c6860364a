"""Shared pieces of the SVG snapshot tests (the `snap_compare` fixture of tests/conftest.py).

    assert snap_compare(app, terminal_size=(80, 24), run_before=scenario)

`snap_compare` runs the app headless (Pilot), awaits `run_before(pilot)`, exports the screen as
SVG and compares it with `<test folder>/__snapshots__/<test module>/<test name>[<id>].svg`;
`--snapshot-update` writes the files instead. A mismatch makes `snap_compare` return False.

What this module adds is determinism, a readable difference and the "nothing cut off" check:
- `shoot(...)`: snap_compare with a scenario; on a mismatch it fails with a line diff of the
  screen's text (old snapshot against the new screen) besides the HTML report.
- `still(app)`: Textual's headless runs still blink text cursors every 0.5 s, so a snapshot
  would catch the cursor on or off by chance; this turns blinking off everywhere (the cursor
  then stays drawn).
- `assert_whole(text, size, fields)`: the screen text has the terminal's shape and every field
  appears unbroken (spaces and line ends removed, so wrapping between cells is fine, clipping or
  an ellipsis is not); `region_text` gives the text inside one widget (a dialog), where a
  wrapped field is not interleaved with the border and the screen behind.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from rich.cells import cell_len

T = TypeVar("T")
TEXT = re.compile(r"<text[^>]*>([^<]*)</text>")


def shoot(snap_compare: Any, request: pytest.FixtureRequest, app: Any, size: tuple[int, int],
          scenario: Callable[[Any], Awaitable[None]], text: Callable[[Any], T]) -> T:
    """Snapshot `app` at `size` after `scenario(pilot)` and `still`; returns `text(app)` (the
    screen as lines, say) taken at the same moment. snap_compare, request: the test's
    fixtures."""
    shown: dict[str, Any] = {}

    async def run_before(pilot: Any) -> None:
        await scenario(pilot)
        still(app)
        await pilot.pause()
        shown["text"] = text(app)
        shown["svg"] = app.export_screenshot(simplify=True)  # as snap_compare takes it

    if not snap_compare(app, terminal_size=size, run_before=run_before):
        pytest.fail(mismatch(stored(request), shown.get("svg", "")), pytrace=False)
    result: T = shown["text"]
    return result


def stored(request: pytest.FixtureRequest) -> Path:
    """Where the test's SVG is kept: __snapshots__/<module>/<test name>.svg."""
    path = request.node.path
    return path.parent / "__snapshots__" / path.stem / f"{request.node.name}.svg"


def svg_lines(svg: str) -> list[str]:
    """The screen's text rows in an exported SVG (one SVG line per terminal row)."""
    rows = []
    for line in svg.splitlines():
        parts = TEXT.findall(line)
        if parts:
            rows.append(html.unescape("".join(parts)).replace("\xa0", " ").rstrip())
    return rows


def mismatch(path: Path, svg: str) -> str:
    """The failure message: what changed on screen, and how to accept it."""
    if not path.exists():
        return f"no snapshot {path}: run with --snapshot-update and review the new file"
    diff = difflib.unified_diff(svg_lines(path.read_text(encoding="utf-8")), svg_lines(svg),
                                "snapshot", "screen", lineterm="", n=1)
    body = "\n".join(diff) or "(same text: colours or styles differ)"
    return (f"the screen differs from {path}\n{body}\nif the change is meant, run with "
            "--snapshot-update and review the new picture")


def still(app: Any) -> None:
    """Stop the blinking of every cursor on every screen of `app` (inputs, text areas...)."""
    for screen in app.screen_stack:
        for widget in screen.walk_children(with_self=False):
            if hasattr(widget, "cursor_blink"):
                widget.cursor_blink = False


def region_text(app: Any, region: Any) -> str:
    """The lines of the app's screen inside `region` (a widget's `content_region`, say): a
    field wrapped inside a dialog reads whole there, with no border or background between."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strips[y].crop(region.x, region.right).text
                     for y in range(region.y, min(region.bottom, len(strips))))


def flat(text: str) -> str:
    """The text without spaces and line ends (a field wrapped over two lines reads whole)."""
    return text.replace("\n", "").replace(" ", "").replace("\xa0", "")


def assert_whole(text: str, size: tuple[int, int], fields: Iterable[str]) -> None:
    """text: the screen as lines (tests' `screen_text`), or a part of it (`region_text`);
    size: (width, height) of the terminal;
    fields: texts that must each be visible in full. Fails naming every missing field."""
    width, height = size
    lines = text.splitlines()
    assert len(lines) <= height, f"{len(lines)} lines on a {height}-line terminal"
    too_wide = [line for line in lines if cell_len(line) > width]
    assert not too_wide, f"lines wider than {width} cells: {too_wide}"
    shown = flat(text)
    missing = [field for field in fields if flat(field) not in shown]
    assert not missing, f"cut off or missing: {missing}\n--- screen ---\n{text}"
