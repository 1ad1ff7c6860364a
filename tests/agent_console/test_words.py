"""The console speaks the hotline's words, never the daemon's codes: queue display names, work
order types and statuses, call outcomes, the IVR's steps, one priority vocabulary, 座席."""

from __future__ import annotations

import re
from pathlib import Path

from ccd.workorders.catalogue import PRIORITY
from tui.agent import views
from tui.agent.catalog import TEXTS, Texts
from tui.agent.kbtext import marked, plain
from tui.agent.labels import Labels
from tui.agent.options import Options

OPTIONS = Options.from_reply({
    "types": [{"code": "repair", "name": "报修", "name_en": "Repair"}],
    "queues": [{"name": "general", "display_name": "综合服务"}],
    "priorities": ["urgent", "high", "normal", "low"],
})
POP = {
    "phone": "13800000004",
    "customer": {"id": 4, "name": "刘芳", "phones": [], "accounts": []},
    "call": {"src": "13800000004", "queue": "general", "digits": "20",
             "ivr_path": ["screen", "greeting", "outage_check", "main", "agent", "agent_queue"]},
    "open_work_orders": [{"number": "WO-20261123-0042", "type": "repair", "status": "dispatched",
                          "description": "水表漏水"}],
    "contacts": [{"at": "2026-11-23T00:30:00.000Z", "kind": "call", "status": "ANSWERED",
                  "summary": "general"},
                 {"at": "2026-11-23T01:00:00.000Z", "kind": "work_order", "ref": "WO-1",
                  "status": "close_requested"}],
}
CODES = re.compile(r"\b(repair|dispatched|ANSWERED|close_requested|general|screen|greeting|"
                   r"outage_check|agent_queue|main)\b")


def test_the_pop_and_the_call_lines_have_no_codes() -> None:
    t = Texts("zh")
    labels = Labels(t, OPTIONS)
    text = "\n".join(views.pop_lines(POP, t, views.SITE, labels)
                     + views.call_lines(POP["call"], "talking", {}, t, labels))
    assert not CODES.search(text), CODES.findall(text)
    for word in ("报修", "已派单", "已接通", "待结单", "综合服务", "欢迎语 › 主菜单 › 转人工 › 排队"):
        assert word in text, word


def test_english_console_uses_english_words() -> None:
    t = Texts("en")
    labels = Labels(t, OPTIONS)
    text = "\n".join(views.pop_lines(POP, t, views.SITE, labels))
    assert "Dispatched" in text and "answered" in text and "Repair" in text


def test_an_unknown_code_is_shown_as_it_is_not_guessed() -> None:
    labels = Labels(Texts("zh"), OPTIONS)
    assert labels.ivr_path(["main", "night_menu"]) == "主菜单 › night_menu"
    assert labels.queue("gas") == "gas"


def test_one_priority_vocabulary() -> None:
    zh = dict(OPTIONS.priorities(Texts("zh")))
    assert zh == {code: words["zh"] for code, words in PRIORITY.items()}


def test_zuoxi_is_spelt_one_way() -> None:
    root = Path(__file__).resolve().parents[2]
    texts = " ".join(str(v) for lang in TEXTS.values() for v in lang.values())
    assert "坐席" not in texts
    for folder in ("tui", "ccd"):
        for path in (root / folder).rglob("*"):
            if path.suffix in (".py", ".toml", ".md"):
                assert "坐席" not in path.read_text(encoding="utf-8"), path


def test_knowledge_text_has_no_markdown() -> None:
    assert plain("## 标准话术\n- **提前通知**：见[公告](http://x)。") == "标准话术\n• 提前通知：见公告。"
    snippet = marked("…计划**停水**的- **提前**通知…")
    assert "**" not in snippet.plain and "停水" in snippet.plain
    assert any(span.style == "bold reverse" for span in snippet.spans)
