"""The agents grid: a table for a thousand rows that redraws only the rows that changed.

Textual's DataTable redraws every visible line whenever one cell changes, which at four pushes
a second on a 200×50 wall costs a good part of a core. This grid (Textual's line API) keeps one
rendered line per row and, when a row changes, marks only that line of the screen dirty.

Rows are keyed (the agent's username) and hold a list of Rich `Text` cells; the columns are
sized to their widest cell. The cursor row (shown when focused) moves with the usual keys.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

GAP = 2  # spaces between columns
NULL = Style.null()


class AgentGrid(ScrollView, can_focus=True):
    """A header line and keyed rows of Text cells; only changed rows are redrawn."""

    BINDINGS = [
        Binding("up", "cursor(-1)", show=False),
        Binding("down", "cursor(1)", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("home", "edge(0)", show=False),
        Binding("end", "edge(1)", show=False),
    ]
    DEFAULT_CSS = """
    AgentGrid {
        background: $surface;
    }
    """
    cursor_row: reactive[int] = reactive(0, repaint=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns: list[tuple[str, str, str]] = []  # (key, label, justify)
        self.widths: list[int] = []
        self.keys: list[str] = []
        self.cells: dict[str, list[Text]] = {}
        self._index: dict[str, int] = {}
        self._lines: dict[int, Strip] = {}  # row index -> rendered line (without cursor)

    # ------------------------------------------------------------ data

    def set_columns(self, columns: Sequence[tuple[str, str, str]]) -> None:
        """(key, label, justify 'left'/'right') for each column; clears the rows."""
        self.columns = list(columns)
        self.set_rows([], {})

    def set_rows(self, keys: Sequence[str], cells: dict[str, list[Text]]) -> None:
        """Replace every row: `keys` in display order, `cells` by key."""
        self.keys = list(keys)
        self.cells = {k: list(cells[k]) for k in self.keys}
        self._index = {k: i for i, k in enumerate(self.keys)}
        self._measure()
        self.cursor_row = min(self.cursor_row, max(0, len(self.keys) - 1))
        self.refresh()

    def update_row(self, key: str, cells: list[Text]) -> None:
        """New cells for one row; redraws that line only (all, if a column must widen)."""
        index = self._index.get(key)
        if index is None:
            return
        self.cells[key] = cells
        if any(cell_len(c.plain) > w for c, w in zip(cells, self.widths, strict=False)):
            self._measure()
            self.refresh()
            return
        self._lines.pop(index, None)
        y = index - int(self.scroll_y) + 1
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def cell_text(self, key: str, column: str) -> str:
        """The plain text shown in one cell (tests read the grid this way)."""
        i = [c[0] for c in self.columns].index(column)
        return self.cells[key][i].plain

    @property
    def row_count(self) -> int:
        return len(self.keys)

    @property
    def visible_keys(self) -> list[str]:
        first = int(self.scroll_y)
        return self.keys[first:first + max(0, self.size.height - 1)]

    def _measure(self) -> None:
        widths = [cell_len(label) for _, label, _ in self.columns]
        for row in self.cells.values():
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], cell_len(cell.plain))
        self.widths = widths
        self._lines.clear()
        total = sum(widths) + GAP * max(0, len(widths) - 1) + 2
        self.virtual_size = Size(total, len(self.keys) + 1)

    # ------------------------------------------------------------ cursor

    def action_cursor(self, step: int) -> None:
        self._move(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        self._move(self.cursor_row + direction * max(1, self.size.height - 2))

    def action_edge(self, end: int) -> None:
        self._move(len(self.keys) - 1 if end else 0)

    def move_cursor(self, row: int) -> None:
        self._move(row)

    def _move(self, row: int) -> None:
        if not self.keys:
            return
        old = self.cursor_row
        self.cursor_row = max(0, min(len(self.keys) - 1, row))
        visible = max(1, self.size.height - 1)
        if self.cursor_row < self.scroll_y:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= self.scroll_y + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False)
        for index in (old, self.cursor_row):
            y = index - int(self.scroll_y) + 1
            if 1 <= y < self.size.height:
                self.refresh(Region(0, y, self.size.width, 1))

    @property
    def cursor_key(self) -> str | None:
        return self.keys[self.cursor_row] if self.keys else None

    # ------------------------------------------------------------ drawing

    def _line(self, texts: Sequence[Text], style: Style | None = None) -> Strip:
        line = Text(" ", end="")
        for i, (cell, width) in enumerate(zip(texts, self.widths, strict=False)):
            justify = self.columns[i][2] if i < len(self.columns) else "left"
            pad = " " * max(0, width - cell_len(cell.plain))
            line.append_text(Text(pad) + cell if justify == "right" else cell + Text(pad))
            if i < len(self.widths) - 1:
                line.append(" " * GAP)
        segments = list(line.render(self.app.console))
        strip = Strip(segments, line.cell_len)
        return strip.apply_style(style) if style is not None else strip

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x = int(self.scroll_x)
        if y == 0:
            header = [Text(label, style="bold") for _, label, _ in self.columns]
            strip = self._line(header, Style(bold=True, underline=True))
        else:
            index = int(self.scroll_y) + y - 1
            if index >= len(self.keys):
                # A real (null) style, never None: Textual's opacity (the stale board's
                # dimming) reads `style.color` of every segment.
                return Strip.blank(width, NULL)
            cached = self._lines.get(index)
            if cached is None:
                zebra = Style(bgcolor="grey15") if index % 2 else None
                cached = self._lines[index] = self._line(self.cells[self.keys[index]], zebra)
            strip = cached
            if index == self.cursor_row and self.has_focus:
                strip = strip.apply_style(Style(reverse=True))
        return strip.crop_extend(scroll_x, scroll_x + width, NULL).simplify()

    def on_focus(self) -> None:
        self._move(self.cursor_row)

    def on_blur(self) -> None:
        self._move(self.cursor_row)

