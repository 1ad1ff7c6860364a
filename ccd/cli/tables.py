"""How list commands print: a rich table with a header row, padded by display width (a Chinese
character takes two columns), or one line saying the list is empty; `--json` beside it prints
the daemon's data instead.

    show_table([("号码", "left"), ("时长", "right")], rows, empty="没有通话")

On a terminal the table fits the terminal's width; into a pipe or a file it is never wrapped
(one record, one line), so `grep` and `awk` still work.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable, Sequence
from typing import Literal

import typer
from rich import box
from rich.console import Console
from rich.table import Table

Justify = Literal["left", "right", "center"]
PIPE_WIDTH = 1000  # wide enough that no cell of a record is ever wrapped


def render_table(columns: Sequence[tuple[str, Justify]], rows: Iterable[Sequence[object]],
                 width: int | None = None) -> str:
    """The table as text (no colours): a header row, a rule, then one line per row."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for header, justify in columns:
        table.add_column(header, justify=justify, no_wrap=width is None, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console = Console(width=width or PIPE_WIDTH, no_color=True, color_system=None,
                      highlight=False, markup=False, emoji=False)
    with console.capture() as capture:
        console.print(table, markup=False, highlight=False)
    return "\n".join(line.rstrip() for line in capture.get().splitlines())


def show_table(columns: Sequence[tuple[str, Justify]], rows: Sequence[Sequence[object]],
               empty: str) -> None:
    """Print `rows` under `columns` ((header, justify) pairs), or `empty` when there are none."""
    if not rows:
        typer.echo(empty)
        return
    typer.echo(render_table(columns, rows, _terminal_width()))


def _terminal_width() -> int | None:
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None
