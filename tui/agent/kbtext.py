"""Knowledge-base text as an agent reads it: no markdown marks on screen.

    plain("- **提前通知**：计划停水…")   -> "• 提前通知：计划停水…"
    marked("…**停水**区域…")             -> Text with 停水 highlighted (the search's marks)
"""

from __future__ import annotations

import re

from rich.text import Text

from ccd.kb.catalogue import MARKS

_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)
_BULLET = re.compile(r"^(\s*)[-*+]\s+", re.MULTILINE)
_QUOTE = re.compile(r"^\s{0,3}>\s?", re.MULTILINE)


def plain(markdown: str) -> str:
    """The text of a markdown article or snippet without its marks (bullets become •)."""
    text = _LINK.sub(r"\1", markdown)
    text = _HEADING.sub("", text)
    text = _QUOTE.sub("", text)
    text = _BULLET.sub(r"\1• ", text)
    for _ in range(2):  # nested emphasis (**_x_**)
        text = _EMPHASIS.sub(r"\2", text)
    return text.replace("**", "").replace("`", "")


def marked(snippet: str, style: str = "bold reverse") -> Text:
    """A search snippet: the search's own marks (around the words found) become `style`, the
    rest of the markdown goes."""
    opening, closing = MARKS
    out = Text()
    rest = snippet
    while (start := rest.find(opening)) >= 0:
        end = rest.find(closing, start + len(opening))
        if end < 0:
            break
        out.append(plain(rest[:start]))
        out.append(plain(rest[start + len(opening):end]), style=style)
        rest = rest[end + len(closing):]
    out.append(plain(rest))
    return out
