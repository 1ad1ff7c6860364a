"""The day's trend drawn in the terminal (no I/O): calls offered per interval as bars, and the
service level per interval as bars coloured against the goal, one column per interval, the
latest intervals when they do not all fit."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text

from ccd.reports.board import TrendRow
from ccd.reports.settings import Thresholds
from tui.wallboard.format import LEVEL_STYLES, level_low_is_bad

BLOCKS = " ▁▂▃▄▅▆▇█"
COLUMN = 4  # three cells of bar and a space
MAX_BAR_ROWS = 10


def _bars(out: Text, values: Sequence[float], peak: float, rows: int, label_w: int,
          styles: Sequence[str], top: str, bottom: str) -> None:
    """`rows` lines of vertical bars (eighths of a cell), scale labels on the first and last."""
    for level in range(rows, 0, -1):
        scale = top if level == rows else bottom if level == 1 else ""
        out.append(f"{scale:>{label_w - 1}} ")
        for value, style in zip(values, styles, strict=True):
            eighths = round(8 * rows * value / peak) if peak else 0
            filled = max(0, min(8, eighths - (level - 1) * 8))
            out.append(BLOCKS[filled] * (COLUMN - 1) + " ", style=style)
        out.append("\n")


def chart(
    rows: Sequence[TrendRow],
    *,
    width: int,
    height: int,
    thresholds: Thresholds,
    calls_label: str,
    sl_label: str,
) -> Text:
    """Both charts in `width` × `height` cells: a title, the calls bars, the service-level
    title, its bars, the percentages and the time axis."""
    label_w = 6
    fit = max(1, (width - label_w) // COLUMN)
    shown = list(rows)[-fit:]
    bar_rows = max(2, min(MAX_BAR_ROWS, (height - 6) // 2))
    peak = max((r.offered for r in shown), default=0)
    out = Text()
    out.append(calls_label + "\n", style="bold")
    _bars(out, [r.offered for r in shown], peak, bar_rows, label_w, ["cyan"] * len(shown),
          str(peak), "0")
    goal = thresholds.service_level_goal
    out.append(f"{sl_label} ({goal * 100:.0f}%)\n", style="bold")
    levels = [level_low_is_bad(r.service_level, goal, thresholds.service_level_alarm)
              for r in shown]
    _bars(out, [r.service_level or 0.0 for r in shown], 1.0, bar_rows, label_w,
          [LEVEL_STYLES[lvl].replace("white on red", "red") for lvl in levels], "100%", "0")
    out.append(" " * label_w)
    for r, lvl in zip(shown, levels, strict=True):
        mark = " --" if r.service_level is None else f"{round(r.service_level * 100):>3d}"
        out.append(mark + " ", style=LEVEL_STYLES[lvl])
    out.append("\n" + " " * label_w)
    axis = [" "] * (len(shown) * COLUMN)
    free = 0  # the first cell a label may start at without overwriting the previous one
    for i, r in enumerate(shown):
        start = i * COLUMN
        if (r.label.endswith(":00") or i == 0) and start >= free:
            axis[start:start + cell_len(r.label)] = list(r.label)
            free = start + len(r.label) + 1
    out.append("".join(axis), style="dim")
    return out
