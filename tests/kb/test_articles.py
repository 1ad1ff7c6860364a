"""Articles, versions and Markdown in and out; the starter knowledge base; `ccd kb`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ccd.kb import articles, markdown, starter
from ccd.kb.markdown import MarkdownError, parse
from db import open_database
from tests.workorders.cli_app import build, make_site


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_database(tmp_path / "ccd.sqlite3")
    yield database
    database.conn.close()


def test_versions_record_who_changed_what_and_only_real_changes(
        db: sqlite_utils.Database) -> None:
    art, outcome = articles.save(db, slug="low-pressure", lang="zh", title="水压低",
                                 body="检查阀门", tags=["水压", "水压", " 阀门 "], actor="wang",
                                 now=1_800_000_000)
    assert (outcome, art["version"], art["status"], art["tags"]) == (
        "added", 1, "draft", "水压, 阀门")
    assert articles.save(db, slug="low-pressure", lang="zh", title="水压低", body="检查阀门",
                         tags="水压，阀门", actor="li")[1] == "unchanged"
    art, outcome = articles.save(db, slug="low-pressure", lang="zh", title="水压低",
                                 body="检查表前阀门", tags="水压, 阀门", actor="li",
                                 note="补充表前阀门", now=1_800_000_100)
    assert (outcome, art["version"], art["updated_by"]) == ("changed", 2, "li")
    art = articles.set_status(db, art["id"], "published", actor="lead", now=1_800_000_200)
    assert (art["version"], art["status"]) == (3, "published")
    history = articles.versions(db, art["id"])
    assert [(v["version"], v["changed_by"], v["status"]) for v in history] == [
        (3, "lead", "published"), (2, "li", "draft"), (1, "wang", "draft")]
    assert history[0]["note"] == "status: draft → published"
    assert history[1]["note"] == "补充表前阀门"
    old = db.execute("SELECT body FROM kb_versions WHERE version = 1").fetchone()
    assert old == ("检查阀门",)


@pytest.mark.parametrize(("kwargs", "fault"), [
    ({"slug": "Bad Slug"}, "slug"),
    ({"lang": "fr"}, "lang"),
    ({"title": " "}, "title"),
    ({"status": "gone"}, "status"),
])
def test_bad_articles_are_refused(db: sqlite_utils.Database, kwargs: dict, fault: str) -> None:
    base = {"slug": "ok", "lang": "zh", "title": "标题", "body": "", "actor": "t"}
    with pytest.raises(articles.ArticleError) as info:
        articles.save(db, **{**base, **kwargs})
    assert fault in info.value.message


def test_the_starter_knowledge_base(db: sqlite_utils.Database) -> None:
    files = starter.files()
    by_slug: dict[str, set[str]] = {}
    for f in files:
        art = parse(f.read_text(encoding="utf-8"), str(f))
        assert f.name == f"{art.slug}.{art.lang}.md"
        assert art.status == "published" and art.category and art.tags and art.phrasing
        assert len(art.body) > 150
        by_slug.setdefault(art.slug, set()).add(art.lang)
    assert len(by_slug) >= 30
    assert all(langs == {"zh", "en"} for langs in by_slug.values())
    for topic in ("water-planned-outage", "water-low-pressure", "water-burst-pipe",
                  "water-meter-reading-dispute", "payment-channels", "arrears-disconnection",
                  "water-new-connection", "power-outage-report", "gas-leak-safety"):
        assert topic in by_slug
    report = starter.load(db)
    assert (report.added, report.rejected) == (len(files), [])
    assert starter.load(db).unchanged == len(files)


def test_export_then_import_changes_nothing_and_files_round_trip(
        db: sqlite_utils.Database, tmp_path: Path) -> None:
    starter.load(db)
    written = markdown.export_dir(db, tmp_path / "out")
    assert len(written) == len(starter.files())
    for path in written:  # the shipped files are in the exported form, byte for byte
        assert path.read_text(encoding="utf-8") == (starter.FOLDER / path.name).read_text(
            encoding="utf-8")
    report = markdown.import_files(db, [tmp_path / "out"], actor="again")
    assert (report.added, report.changed, report.unchanged) == (0, 0, len(written))
    assert db.execute("SELECT max(version) FROM kb_articles").fetchone() == (1,)


_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(title=_text.filter(lambda t: t.strip()),
       category=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20),
       tags=st.lists(_text.filter(lambda t: t.strip() and not set(t) & set(",，;；[]\"")),
                     max_size=4),
       body=st.text(max_size=200), phrasing=st.text(max_size=100))
def test_markdown_round_trips_any_values(title: str, category: str, tags: list[str], body: str,
                                         phrasing: str) -> None:
    row = {"slug": "x-1", "lang": "zh", "title": title.strip(), "category": category.strip(),
           "tags": articles.tags_text(tags), "status": "draft",
           "body": markdown.split_phrasing(body)[0].replace("\r", ""),
           "phrasing": phrasing.replace("\r", "").strip()}
    if "\n##" in row["phrasing"] or row["phrasing"].startswith("##"):
        return
    back = parse(markdown.dump(row))
    assert (back.title, back.category, articles.tags_text(back.tags), back.body.strip(),
            back.phrasing) == (row["title"], row["category"], row["tags"], row["body"].strip(),
                               row["phrasing"])


@pytest.mark.parametrize(("text", "fault"), [
    ("no front matter", "the first line must be ---"),
    ("---\ntitle: x\n", "not closed"),
    ("---\nslug: a\nlang: zh\n---\nbody", "needs 'title'"),
    ("---\nslug: a\nlang: zh\ntitle: t\ncolour: red\n---\n", "expected one of"),
    ('---\nslug: a\nlang: zh\ntitle: "unclosed\n---\n', "bad quoted string"),
])
def test_bad_markdown_names_the_file_and_the_fault(text: str, fault: str) -> None:
    with pytest.raises(MarkdownError) as info:
        parse(text, "faq/a.zh.md")
    assert "faq/a.zh.md" in info.value.message and fault in info.value.message


def test_ccd_kb_import_search_export(tmp_path: Path) -> None:
    cfg = make_site(tmp_path)
    runner = CliRunner()

    def ccd(*args: str) -> tuple[int, str]:
        result = runner.invoke(build(), ["--config", str(cfg), *args])
        return result.exit_code, result.output

    bad = tmp_path / "import" / "broken.md"
    bad.parent.mkdir()
    bad.write_text("no front matter", encoding="utf-8")
    (tmp_path / "import" / "faq.zh.md").write_text(
        "---\nslug: faq\nlang: zh\ntitle: 营业时间\ncategory: 服务\ntags: [营业厅]\n---\n\n"
        "营业厅周一至周日 8:30-17:00 营业。\n\n## 标准话术\n\n您好，营业厅每天营业。\n",
        encoding="utf-8")
    code, out = ccd("kb", "import", str(tmp_path / "import"))
    assert code == 1 and "added 1, changed 0, unchanged 0, rejected 1" in out
    assert "broken.md" in out
    assert ccd("kb", "starter")[0] == 0
    code, out = ccd("kb", "search", "燃气泄漏", "--json")
    assert code == 0
    hits = json.loads(out)
    assert hits[0]["title"] == "燃气泄漏的应急处置"
    assert set(hits[0]) >= {"id", "title", "snippet"} and isinstance(hits[0]["id"], int)
    code, out = ccd("kb", "search", "营业时间")
    assert code == 0 and "**营业时间**" in out
    code, out = ccd("kb", "show", "faq")
    assert code == 0 and "## 标准话术" in out
    code, out = ccd("kb", "export", str(tmp_path / "out"))
    assert code == 0 and (tmp_path / "out" / "faq.zh.md").exists()
