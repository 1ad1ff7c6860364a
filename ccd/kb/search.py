"""Knowledge search: FTS5 trigram matching, title matches first, matched words marked.

A query is split on spaces into terms; an article must contain every term.
- A term of three or more characters goes to the FTS5 trigram index as a phrase: any substring
  of three or more characters matches, which is how Chinese (no spaces between words) is found.
- A shorter term (停水, 水表) cannot be a trigram query; it falls back to LIKE on the article
  (a scan, which a knowledge base of a few thousand articles affords).
- A term of Latin letters and digits matches English by word or word prefix ('pipe' finds
  "pipes", not "bagpipe"), or the pinyin of a Chinese title ('tingshui', 'jhts').
Ranking: the number of terms found in the title first, then FTS5's bm25 with the title weighted
most. Marks come from FTS5's highlight() and snippet(); terms found by LIKE are marked here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import msgspec
import sqlite_utils

from ccd.errors import ClientError
from ccd.kb.catalogue import ELLIPSIS, MARKS

# bm25 weights for the FTS columns: title, body, phrasing, tags, pinyin.
WEIGHTS = (10.0, 1.0, 1.0, 4.0, 2.0)
SNIPPET_TOKENS = 32
_SPLIT = re.compile(r"[\s,，;；、。？?！!]+")
_LATIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9'._-]*$")


class Hit(msgspec.Struct, kw_only=True):
    id: int
    slug: str
    lang: str
    title: str
    category: str
    status: str
    title_marked: str
    snippet: str
    title_hits: int


class EmptyQuery(ClientError):
    error_id = "kb-empty-query"


def terms(query: str) -> list[str]:
    """The query's terms, in order, without repeats."""
    return list(dict.fromkeys(t.strip("\"'") for t in _SPLIT.split(query) if t.strip("\"'")))


def _word_match(text: str | None, term: str | None) -> int:
    """SQL function: 1 when `term` starts a word of `text` (case-insensitive)."""
    if not text or not term:
        return 0
    return int(re.search(r"(?<![A-Za-z0-9])" + re.escape(term), text, re.IGNORECASE) is not None)


def install(db: sqlite_utils.Database) -> None:
    """Register the SQL function the search needs on this connection (idempotent)."""
    db.conn.create_function("ccd_kb_word", 2, _word_match, deterministic=True)


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search(
    db: sqlite_utils.Database,
    query: str,
    *,
    lang: str | None = None,
    status: Sequence[str] = ("published",),
    category: str | None = None,
    limit: int = 20,
    marks: tuple[str, str] = MARKS,
) -> list[Hit]:
    """Articles matching every term of `query`, best first.

    lang: only articles in this language ('zh', 'en'). status: only these statuses (agents see
    published ones). category: only this category. limit: at most this many hits. marks: the
    strings put before and after each matched word.
    """
    words = terms(query)
    if not words:
        raise EmptyQuery("the query has no words to search for")
    install(db)
    long_terms = [t for t in words if len(t) >= 3]
    where: list[str] = []
    params: list[Any] = []
    title_hits = " + ".join("(instr(lower(a.title), lower(?)) > 0)" for _ in words)
    title_params: list[Any] = list(words)
    if long_terms:
        select = (
            f"SELECT a.id, a.slug, a.lang, a.title, a.category, a.status, a.body, "
            f"({title_hits}) AS title_hits, "
            f"highlight(kb_fts, 0, ?, ?) AS title_marked, "
            f"snippet(kb_fts, 1, ?, ?, ?, {SNIPPET_TOKENS}) AS snippet, "
            f"snippet(kb_fts, 2, ?, ?, ?, {SNIPPET_TOKENS}) AS phrasing_snippet, "
            f"bm25(kb_fts, {', '.join(str(w) for w in WEIGHTS)}) AS score "
            "FROM kb_fts JOIN kb_articles a ON a.id = kb_fts.rowid"
        )
        params.extend(title_params + [*marks, *marks, ELLIPSIS, *marks, ELLIPSIS])
        where.append("kb_fts MATCH ?")
        params.append(" AND ".join(_fts_phrase(t) for t in long_terms))
    else:
        select = (
            f"SELECT a.id, a.slug, a.lang, a.title, a.category, a.status, a.body, "
            f"({title_hits}) AS title_hits, NULL AS title_marked, NULL AS snippet, "
            "NULL AS phrasing_snippet, 0 AS score "
            "FROM kb_articles a"
        )
        params.extend(title_params)
    everything = "(a.title || ' ' || a.body || ' ' || a.phrasing || ' ' || a.tags)"
    for t in words:
        if _LATIN.match(t):
            where.append(f"(ccd_kb_word({everything}, ?) OR instr(a.pinyin, lower(?)) > 0)")
            params.extend([t, t])
        elif len(t) < 3:
            where.append(f"{everything} LIKE ? ESCAPE '\\'")
            params.append(_like(t))
    if status:
        where.append(f"a.status IN ({', '.join('?' * len(status))})")
        params.extend(status)
    if lang:
        where.append("a.lang = ?")
        params.append(lang)
    if category:
        where.append("a.category = ?")
        params.append(category)
    sql = select + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY title_hits DESC, score, a.id LIMIT ?"
    params.append(limit)
    cursor = db.execute(sql, params)
    short = [t for t in words if len(t) < 3]
    hits = []
    for r in cursor.fetchall():
        aid, slug, lng, title, cat, st, body, th, title_marked, snip, phrasing_snip, _ = r
        if title_marked is None:
            title_marked = mark(title, words, marks)
            snip = snippet(body, words, marks)
        else:
            # The body's snippet when the body matched, else the phrasing's, else the body's
            # opening (a title, tag or pinyin match).
            if marks[0] not in snip:
                snip = phrasing_snip if marks[0] in phrasing_snip else snippet(body, words, marks)
            if short:
                title_marked = mark(title_marked, short, marks)
                snip = mark(snip, short, marks)
        hits.append(
            Hit(id=aid, slug=slug, lang=lng, title=title, category=cat, status=st,
                title_marked=title_marked, snippet=snip, title_hits=th)
        )
    return hits


def mark(text: str, words: Sequence[str], marks: tuple[str, str] = MARKS) -> str:
    """`text` with every occurrence of each of `words` (case-insensitive) between `marks`."""
    if not words:
        return text
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)),
                         re.IGNORECASE)
    return pattern.sub(lambda m: f"{marks[0]}{m.group(0)}{marks[1]}", text)


def snippet(body: str, words: Sequence[str], marks: tuple[str, str] = MARKS,
            width: int = 48) -> str:
    """About `width` characters of `body` around the first matched word, marked."""
    flat = " ".join(body.split())
    lower = flat.lower()
    positions = [p for p in (lower.find(w.lower()) for w in words) if p >= 0]
    if not positions:
        part = flat[:width]
        return part + (ELLIPSIS if len(flat) > width else "")
    start = max(0, min(positions) - width // 3)
    part = flat[start:start + width]
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if start + width < len(flat) else ""
    return prefix + mark(part, words, marks) + suffix
