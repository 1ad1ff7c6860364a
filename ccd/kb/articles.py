"""Knowledge articles: save (a new version only when something changed), status, history.

An article is one `slug` in one language; its Chinese and English versions share the slug. Every
change writes a full snapshot to `kb_versions` with who made it and why, so "who changed what"
is a query, and re-importing the same files changes nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any

import sqlite_utils

from ccd.errors import ClientError, NotFound
from ccd.timefmt import iso
from ccd.workorders.store import row, rows, transaction

STATUSES = ("draft", "published", "retired")
LANGS = ("zh", "en")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")
_CONTENT = ("title", "body", "phrasing", "category", "tags", "status")


class ArticleError(ClientError):
    error_id = "kb-bad-article"


class NoSuchArticle(NotFound):
    error_id = "kb-no-such-article"


def tags_text(tags: Iterable[str] | str) -> str:
    """Tags as stored: 'a, b, c' (trimmed, no empties, no repeats, order kept)."""
    items = re.split(r"[,，;；]", tags) if isinstance(tags, str) else list(tags)
    return ", ".join(dict.fromkeys(t.strip() for t in items if t.strip()))


def pinyin_of(text: str) -> str:
    """'计划停水' → 'jihuatingshui jhts': full pinyin and initials, so an agent can type either."""
    if not re.search(r"[\u4e00-\u9fff]", text):
        return ""
    from pypinyin import Style, lazy_pinyin

    syllables = [s for s in lazy_pinyin(text, errors="ignore") if s.isalpha()]
    initials = lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore")
    return " ".join(
        part for part in ("".join(syllables).lower(), "".join(initials).lower()) if part
    )


def save(
    db: sqlite_utils.Database,
    *,
    slug: str,
    lang: str,
    title: str,
    body: str,
    actor: str,
    phrasing: str = "",
    category: str = "",
    tags: Iterable[str] | str = (),
    status: str | None = None,
    note: str = "",
    now: float | None = None,
) -> tuple[dict[str, Any], str]:
    """Create or update an article; returns (article, 'added' | 'changed' | 'unchanged').

    slug: the article's stable name (lowercase, digits, '-'), shared by its languages. lang: 'zh'
    or 'en'. status: draft, published or retired (default: keep; 'draft' for a new article).
    actor: who is saving (kept with the version). note: why (kept with the version).
    """
    if not SLUG.match(slug):
        raise ArticleError(f"slug {slug!r} must be lowercase letters, digits and '-'", slug=slug)
    if lang not in LANGS:
        raise ArticleError(f"lang must be one of {', '.join(LANGS)}, not {lang!r}", lang=lang)
    if status is not None and status not in STATUSES:
        raise ArticleError(f"status must be one of {', '.join(STATUSES)}", status=status)
    if not title.strip():
        raise ArticleError(f"article {slug}.{lang} has no title", slug=slug)
    stamp = iso(time.time() if now is None else now)
    new = {
        "title": title.strip(),
        "body": body.strip(),
        "phrasing": phrasing.strip(),
        "category": category.strip(),
        "tags": tags_text(tags),
    }
    with transaction(db):
        current = row(db, "SELECT * FROM kb_articles WHERE slug = ? AND lang = ?", [slug, lang])
        if current is None:
            new["status"] = status or "draft"
            cursor = db.execute(
                "INSERT INTO kb_articles (slug, lang, title, body, phrasing, category, tags, "
                "pinyin, status, version, created_by, created_at, updated_by, updated_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,1,?,?,?,?)",
                [slug, lang, new["title"], new["body"], new["phrasing"], new["category"],
                 new["tags"], pinyin_of(new["title"] + " " + new["tags"]), new["status"],
                 actor, stamp, actor, stamp],
            )
            article_id = int(cursor.lastrowid or 0)
            _snapshot(db, article_id, 1, new, actor, stamp, note)
            return get(db, article_id), "added"
        new["status"] = status or current["status"]
        if all(new[k] == current[k] for k in _CONTENT):
            return current, "unchanged"
        version = current["version"] + 1
        db.execute(
            "UPDATE kb_articles SET title = ?, body = ?, phrasing = ?, category = ?, tags = ?, "
            "pinyin = ?, status = ?, version = ?, updated_by = ?, updated_at = ? WHERE id = ?",
            [new["title"], new["body"], new["phrasing"], new["category"], new["tags"],
             pinyin_of(new["title"] + " " + new["tags"]), new["status"], version, actor, stamp,
             current["id"]],
        )
        _snapshot(db, current["id"], version, new, actor, stamp, note)
        return get(db, current["id"]), "changed"


def _snapshot(
    db: sqlite_utils.Database, article_id: int, version: int, content: dict[str, str],
    actor: str, stamp: str, note: str,
) -> None:
    db.execute(
        "INSERT INTO kb_versions (article_id, version, title, body, phrasing, category, tags, "
        "status, changed_by, changed_at, note) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [article_id, version, *(content[k] for k in _CONTENT), actor, stamp, note],
    )


def set_status(
    db: sqlite_utils.Database, article_id: int, status: str, *, actor: str, note: str = "",
    now: float | None = None,
) -> dict[str, Any]:
    """Publish, retire or return an article to draft (a new version records who and why)."""
    art = get(db, article_id)
    saved, _ = save(
        db, slug=art["slug"], lang=art["lang"], title=art["title"], body=art["body"],
        phrasing=art["phrasing"], category=art["category"], tags=art["tags"], status=status,
        actor=actor, note=note or f"status: {art['status']} → {status}", now=now,
    )
    return saved


def get(db: sqlite_utils.Database, article_id: int) -> dict[str, Any]:
    found = row(db, "SELECT * FROM kb_articles WHERE id = ?", [article_id])
    if found is None:
        raise NoSuchArticle(f"no article {article_id}", id=article_id)
    return found


def get_by_slug(db: sqlite_utils.Database, slug: str, lang: str = "zh") -> dict[str, Any]:
    found = row(db, "SELECT * FROM kb_articles WHERE slug = ? AND lang = ?", [slug, lang])
    if found is None:
        raise NoSuchArticle(f"no article {slug} ({lang})", slug=slug, lang=lang)
    return found


def translations(db: sqlite_utils.Database, slug: str) -> dict[str, int]:
    """{lang: id} of the versions of `slug` in each language."""
    return {
        lang: aid
        for aid, lang in db.execute("SELECT id, lang FROM kb_articles WHERE slug = ?", [slug])
    }


def versions(db: sqlite_utils.Database, article_id: int) -> list[dict[str, Any]]:
    """The article's versions, newest first: who changed it, when, why."""
    get(db, article_id)
    return rows(
        db,
        "SELECT version, title, status, changed_by, changed_at, note FROM kb_versions "
        "WHERE article_id = ? ORDER BY version DESC",
        [article_id],
    )


def list_articles(
    db: sqlite_utils.Database,
    *,
    status: Iterable[str] | None = None,
    lang: str | None = None,
    category: str | None = None,
) -> list[dict[str, Any]]:
    """Articles (without bodies) ordered by category and slug."""
    where, params = [], []
    wanted = list(status) if status is not None else []
    if wanted:
        where.append(f"status IN ({', '.join('?' * len(wanted))})")
        params.extend(wanted)
    if lang:
        where.append("lang = ?")
        params.append(lang)
    if category:
        where.append("category = ?")
        params.append(category)
    sql = ("SELECT id, slug, lang, title, category, tags, status, version, updated_by, updated_at "
           "FROM kb_articles")
    if where:
        sql += " WHERE " + " AND ".join(where)
    return rows(db, sql + " ORDER BY category, slug, lang", params)
