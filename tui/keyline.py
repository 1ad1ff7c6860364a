"""The key line at the foot of a console: 'F2 就绪/示忙  F3 接听 …', wrapped between keys.

    key_line([("F2", "就绪"), ("F3", "接听")], width=80)  -> '[b]F2[/b] 就绪  [b]F3[/b] 接听'

A terminal line break inside a pair ('^O' at the end of one line, '签出' on the next) reads
badly on an 80-column screen, so pairs are laid out here: a pair that does not fit starts a
new line. Widths are terminal cells (a Chinese character takes two). Labels are escaped.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from rich.markup import escape

GAP = "  "


def key_line(pairs: Iterable[tuple[str, str]], width: int) -> str:
    """pairs: (key, label) in order; width: cells available (0 or less: one line)."""
    lines: list[list[str]] = [[]]
    used = 0
    for key, label in pairs:
        size = cell_len(key) + 1 + cell_len(label)
        gap = cell_len(GAP) if lines[-1] else 0
        if lines[-1] and width > 0 and used + gap + size > width:
            lines.append([])
            used, gap = 0, 0
        lines[-1].append(f"[b]{escape(key)}[/b] {escape(label)}")
        used += gap + size
    return "\n".join(GAP.join(line) for line in lines)
