"""The knowledge base's user-visible words, Chinese first, English second."""

from __future__ import annotations

STATUS: dict[str, dict[str, str]] = {
    "draft": {"zh": "草稿", "en": "Draft"},
    "published": {"zh": "已发布", "en": "Published"},
    "retired": {"zh": "已停用", "en": "Retired"},
}

# The Markdown heading that starts an article's standard phrasing (标准话术), by language; any
# of them is recognised on import, the article's own language is written on export.
PHRASING_HEADINGS: dict[str, str] = {"zh": "标准话术", "en": "Standard phrasing"}
PHRASING_ALIASES: tuple[str, ...] = ("标准话术", "服务口径", "Standard phrasing", "Script")

# Marks around matched words in titles and snippets (Markdown bold: the TUI renders it).
MARKS: tuple[str, str] = ("**", "**")
ELLIPSIS = "…"

ERRORS: dict[str, dict[str, str]] = {
    "kb-no-such-article": {"zh": "没有这篇知识", "en": "no such article"},
    "kb-bad-article": {"zh": "知识条目格式有误", "en": "the article is malformed"},
    "kb-empty-query": {"zh": "请输入要查找的内容", "en": "type something to search for"},
}
