"""Knowledge articles as Markdown files with front matter, in and out (`ccd kb import/export`).

    ---
    slug: water-planned-outage
    lang: zh
    title: 计划停水的通知与查询
    category: 停水
    tags: [停水, 计划停水]
    status: published
    ---

    Body in Markdown.

    ## 标准话术

    What the agent says, ready to paste.

The front matter is the small YAML subset above (`key: value`, `[a, b]` lists, double-quoted
strings when a value needs them), read and written here without a YAML library. A file exported
and imported again changes nothing; files are named `<slug>.<lang>.md`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec
import sqlite_utils

from ccd.kb import articles
from ccd.kb.catalogue import PHRASING_ALIASES, PHRASING_HEADINGS

FRONT_KEYS = ("slug", "lang", "title", "category", "tags", "status")
_NEEDS_QUOTES = re.compile(r"(^[\s\[\]{}\"'&*!|>%@`#-])|(: )|( #)|(\s$)|(^$)")


class MarkdownError(articles.ArticleError):
    pass


class Article(msgspec.Struct, kw_only=True):
    slug: str
    lang: str
    title: str
    body: str
    phrasing: str = ""
    category: str = ""
    tags: list[str] = msgspec.field(default_factory=list)
    status: str | None = None


def _scalar(text: str, where: str) -> str:
    text = text.strip()
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise MarkdownError(f"{where}: bad quoted string {text}") from None
        if not isinstance(value, str):
            raise MarkdownError(f"{where}: expected a string")
        return value
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    return text


def _list(text: str, where: str) -> list[str]:
    inner = text.strip()[1:-1]
    out, buf, quoted = [], "", False
    for ch in inner:
        if ch == '"':
            quoted = not quoted
            buf += ch
        elif ch == "," and not quoted:
            out.append(buf)
            buf = ""
        else:
            buf += ch
    if buf.strip():
        out.append(buf)
    return [_scalar(item, where) for item in out if item.strip()]


def parse(text: str, source: str = "<text>") -> Article:
    """An Article from a Markdown file's text; MarkdownError names `source` and the fault."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise MarkdownError(f"{source}: no front matter (the first line must be ---)",
                            source=source)
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise MarkdownError(f"{source}: the front matter is not closed with ---",
                            source=source) from None
    front: dict[str, Any] = {}
    for number, line in enumerate(lines[1:end], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        where = f"{source}:{number}"
        if not sep or key not in FRONT_KEYS:
            raise MarkdownError(
                f"{where}: expected one of {', '.join(FRONT_KEYS)} as 'key: value'",
                source=source, line=number,
            )
        value = value.strip()
        front[key] = _list(value, where) if value.startswith("[") else _scalar(value, where)
    for key in ("slug", "lang", "title"):
        if not front.get(key):
            raise MarkdownError(f"{source}: front matter needs '{key}'", source=source, key=key)
    body, phrasing = split_phrasing("\n".join(lines[end + 1:]))
    tags = front.get("tags", [])
    return Article(
        slug=front["slug"], lang=front["lang"], title=front["title"], body=body,
        phrasing=phrasing, category=front.get("category", ""),
        tags=tags if isinstance(tags, list) else [t.strip() for t in tags.split(",")],
        status=front.get("status") or None,
    )


def split_phrasing(markdown: str) -> tuple[str, str]:
    """(body, phrasing): the phrasing is what follows a '## 标准话术' heading (any alias)."""
    headings = "|".join(re.escape(h) for h in PHRASING_ALIASES)
    m = re.search(rf"^##\s+(?:{headings})\s*$", markdown, re.MULTILINE)
    if m is None:
        return markdown.strip(), ""
    return markdown[: m.start()].strip(), markdown[m.end():].strip()


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False) if _NEEDS_QUOTES.search(value) else value


def dump(article: dict[str, Any]) -> str:
    """The Markdown text of an article row (as `parse` reads it back)."""
    tags = [t for t in (x.strip() for x in article["tags"].split(",")) if t]
    front = [
        f"slug: {article['slug']}",
        f"lang: {article['lang']}",
        f"title: {_quote(article['title'])}",
        f"category: {_quote(article['category'])}",
        "tags: [" + ", ".join(_quote(t) for t in tags) + "]",
        f"status: {article['status']}",
    ]
    out = "---\n" + "\n".join(front) + "\n---\n\n" + article["body"].strip() + "\n"
    if article["phrasing"].strip():
        heading = PHRASING_HEADINGS.get(article["lang"], PHRASING_HEADINGS["zh"])
        out += f"\n## {heading}\n\n" + article["phrasing"].strip() + "\n"
    return out


class KbImportReport(msgspec.Struct, kw_only=True):
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: list[dict[str, str]] = msgspec.field(default_factory=list)


def markdown_files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(p.rglob("*.md")) if p.is_dir() else [p])
    return out


def import_files(
    db: sqlite_utils.Database,
    paths: Iterable[Path | str],
    *,
    actor: str,
    status: str | None = None,
    default_status: str = "published",
    note: str = "import",
    now: float | None = None,
) -> KbImportReport:
    """Import Markdown articles from files and folders (recursively, *.md).

    status: force this status on every article. default_status: for files without one.
    actor / note: recorded with each new version. A file that cannot be read is rejected with
    the reason; the others still go in.
    """
    report = KbImportReport()
    for path in markdown_files(Path(p) for p in paths):
        try:
            art = parse(path.read_text(encoding="utf-8"), str(path))
            _, outcome = articles.save(
                db, slug=art.slug, lang=art.lang, title=art.title, body=art.body,
                phrasing=art.phrasing, category=art.category, tags=art.tags,
                status=status or art.status or default_status, actor=actor, note=note, now=now,
            )
        except (articles.ArticleError, UnicodeDecodeError, OSError) as e:
            report.rejected.append({"file": str(path), "reason": str(e)})
            continue
        if outcome == "added":
            report.added += 1
        elif outcome == "changed":
            report.changed += 1
        else:
            report.unchanged += 1
    return report


def export_dir(
    db: sqlite_utils.Database, dest: Path | str, *, status: Iterable[str] | None = None
) -> list[Path]:
    """Write every article (or those of `status`) to `dest/<slug>.<lang>.md`; returns the files."""
    out_dir = Path(dest)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for summary in articles.list_articles(db, status=status):
        art = articles.get(db, summary["id"])
        path = out_dir / f"{art['slug']}.{art['lang']}.md"
        path.write_text(dump(art), encoding="utf-8")
        written.append(path)
    return written
