"""Knowledge search on the real starter knowledge base in a real SQLite file (FTS5 trigram)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from ccd.kb import articles, starter
from ccd.kb.search import EmptyQuery, search
from db import open_database


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite_utils.Database]:
    db = open_database(tmp_path_factory.mktemp("kb") / "ccd.sqlite3")
    report = starter.load(db)
    assert report.rejected == [] and report.added >= 60
    yield db
    db.conn.close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_database(tmp_path / "ccd.sqlite3")
    yield database
    database.conn.close()


def slugs(hits: list) -> list[tuple[str, str]]:
    return [(h.slug, h.lang) for h in hits]


@pytest.mark.parametrize(("query", "expected"), [
    ("臭鸡蛋", "gas-leak-safety"),  # three characters from the middle of a sentence
    ("管网末梢压力", "water-low-pressure"),
    ("熄火保护装置", "gas-hose-and-alarm"),
    ("以水表为界", "water-indoor-leak"),
    ("跨步电压", "power-line-down"),
])
def test_chinese_by_a_substring_of_three_or_more_characters(
        kb: sqlite_utils.Database, query: str, expected: str) -> None:
    hits = search(kb, query)
    assert (expected, "zh") in slugs(hits)
    hit = next(h for h in hits if h.slug == expected)
    assert f"**{query}**" in hit.snippet or f"**{query}**" in hit.title_marked


def test_a_substring_that_is_nowhere_finds_nothing(kb: sqlite_utils.Database) -> None:
    assert search(kb, "量子计算机") == []


@pytest.mark.parametrize(("query", "expected"), [
    ("leak", {"gas-leak-safety", "water-indoor-leak"}),
    ("reconnection", {"arrears-disconnection"}),
    ("invoice", {"e-invoice"}),
])
def test_english_by_word(kb: sqlite_utils.Database, query: str, expected: set[str]) -> None:
    found = {h.slug for h in search(kb, query, lang="en")}
    assert expected <= found


def test_english_matches_words_and_word_prefixes_not_word_middles(
        kb: sqlite_utils.Database) -> None:
    assert search(kb, "eak", lang="en") == []  # the middle of "leak"
    prefix = {h.slug for h in search(kb, "reconnect", lang="en")}
    assert "arrears-disconnection" in prefix  # "reconnection"
    assert {h.slug for h in search(kb, "LEAK", lang="en")} == {
        h.slug for h in search(kb, "leak", lang="en")}


def test_title_matches_come_first(kb: sqlite_utils.Database) -> None:
    for query in ("停水", "燃气", "缴费", "水表", "gas", "meter", "outage"):
        hits = search(kb, query, limit=50)
        in_title = [query.lower() in h.title.lower() for h in hits]
        assert any(in_title) and not all(in_title), query
        # every title match before every body-only match
        assert in_title == sorted(in_title, reverse=True), (query, slugs(hits))


def test_a_title_match_outranks_a_body_full_of_the_word(db: sqlite_utils.Database) -> None:
    articles.save(db, slug="body-heavy", lang="zh", title="抄表常见问题",
                  body="水表校验。" * 30, actor="t", status="published")
    articles.save(db, slug="title-only", lang="zh", title="水表校验申请",
                  body="申请方式见营业厅。", actor="t", status="published")
    assert [h.slug for h in search(db, "水表校验")] == ["title-only", "body-heavy"]


def test_short_chinese_queries_fall_back_to_like(kb: sqlite_utils.Database) -> None:
    hits = search(kb, "停水")  # two characters: no trigram to search with
    assert ("water-planned-outage", "zh") in slugs(hits)
    assert hits[0].title_marked.count("**停水**") >= 1
    assert any("**停水**" in h.snippet for h in hits)
    assert search(kb, "氧")  # one character (制氧机)


def test_terms_are_all_required_mixing_long_and_short(kb: sqlite_utils.Database) -> None:
    both = slugs(search(kb, "水表 冻裂"))
    assert both and both[0] == ("water-meter-frozen", "zh")
    assert search(kb, "冻裂 燃气") == []


def test_pinyin_and_initials_find_chinese_titles(kb: sqlite_utils.Database) -> None:
    assert ("water-planned-outage", "zh") in slugs(search(kb, "jihuatingshui"))
    assert ("gas-leak-safety", "zh") in slugs(search(kb, "ranqixielou"))


def test_drafts_and_retired_articles_are_not_found_by_default(db: sqlite_utils.Database) -> None:
    art, _ = articles.save(db, slug="new-tariff", lang="zh", title="新阶梯水价草案",
                           body="征求意见稿", actor="t")
    assert search(db, "阶梯水价") == []
    assert [h.slug for h in search(db, "阶梯水价", status=("draft", "published"))] == [
        "new-tariff"]
    articles.set_status(db, art["id"], "published", actor="lead")
    assert [h.status for h in search(db, "阶梯水价")] == ["published"]
    articles.set_status(db, art["id"], "retired", actor="lead")
    assert search(db, "阶梯水价") == []


def test_query_syntax_is_not_fts_syntax(kb: sqlite_utils.Database) -> None:
    for query in ['"停水', "停水 OR 燃气", "NEAR(停水)", "title:停水", "*", "a-b"]:
        search(kb, query)  # no sqlite3.OperationalError
    with pytest.raises(EmptyQuery):
        search(kb, "  ，。 ")


def test_edits_are_searchable_at_once(db: sqlite_utils.Database) -> None:
    art, _ = articles.save(db, slug="a", lang="zh", title="标题", body="旧的内容文字",
                           actor="t", status="published")
    assert search(db, "旧的内容")
    articles.save(db, slug="a", lang="zh", title="标题", body="全新的说明", actor="t")
    assert search(db, "旧的内容") == [] and search(db, "全新的说明")
