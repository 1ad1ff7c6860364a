"""Pilot tests of the agent console against the real daemon (simulated phones, see conftest):
keys for every action, reconnection after a daemon restart, layouts at 80x24 and 200x50."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.agent_console.conftest import (
    admin,
    console,
    log_in,
    query,
    run,
    screen_text,
    type_text,
    until,
)
from tests.wallboard.conftest import WallboardDaemon
from tui.agent.app import DEFAULT_KEYS, KeymapError, check_keys
from tui.agent.catalog import TEXTS
from tui.agent.screens import ArticleScreen, ChoiceScreen, FormScreen, LookupScreen, TaskScreen


def test_catalogues_have_the_same_keys() -> None:
    assert set(TEXTS["zh"]) == set(TEXTS["en"])
    assert {f"key_{a}" for a in DEFAULT_KEYS} <= set(TEXTS["en"])


def test_a_keymap_with_a_typo_names_the_nearest_action() -> None:
    with pytest.raises(KeymapError, match="did you mean 'answer'"):
        check_keys({"anwser": "f1"})


SEED_TASKS = """
INSERT INTO callbacks (kind, phone, customer_id, status, due_at, note, created_at, updated_at)
VALUES ('request', '13800000004', 4, 'pending', '2000-01-01T00:00:00.000Z', '来电要求回电',
        '2000-01-01T00:00:00.000Z', '2000-01-01T00:00:00.000Z');
INSERT INTO surveys (customer_id, phone, status, created_at)
VALUES (4, '13800000004', 'pending', '2000-01-02T00:00:00.000Z');
"""


def seed_tasks(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.executescript(SEED_TASKS)
    conn.close()


def test_every_action_has_a_key(daemon: WallboardDaemon) -> None:
    """Walks every action by its key during one call (queue 'general' requires a wrap-up code
    here): the pick lists of the work order, the task list's callback and survey, the
    wrap-up dialog that opens by itself, and checks what reached the database."""
    db = daemon.socket.parent.parent / "ccd.sqlite3"
    seed_tasks(db)

    async def scenario() -> None:
        app = console(daemon.socket, keys={"answer": "f1"})
        client = app.client
        async with app.run_test(size=(100, 40)) as pilot:
            await log_in(pilot, app, "agent1002", "seat02")
            await pilot.press("f2")
            await until(pilot, lambda: app.state.get("state") == "ready", "ready")
            lead = await admin(daemon.socket)
            await lead.call("testing.call", call_id="walk-1", queue="general",
                            number="13800000006")
            await until(pilot, lambda: app.pop_call == "walk-1", "the pop")
            await pilot.press("f1")  # the remapped answer key
            await until(pilot, lambda: "agent.answer" in client.methods, "agent.answer")
            await lead.call("testing.answer", agent="agent1002", call_id="walk-1")
            await until(pilot, lambda: app.state.get("state") == "talking", "talking")
            await pilot.press("f5")
            await until(pilot, lambda: app.state.get("state") == "on_hold", "on hold")
            await pilot.press("f5")
            await until(pilot, lambda: app.state.get("state") == "talking", "resumed")

            async def dialog(key: str, kind: type) -> None:
                await pilot.press(key)
                await until(pilot, lambda: isinstance(app.screen, kind), f"{key} dialog")

            await dialog("f6", ChoiceScreen)  # transfer: blind or consult, then the target
            await pilot.press("down", "enter")  # consult
            await type_text(pilot, "agent1009")  # not logged in: the daemon says no
            await pilot.press("enter")
            await until(pilot, lambda: "agent.transfer" in client.methods, "agent.transfer")
            await until(pilot, lambda: "操作失败" in app.notice_text, "the refusal")
            await pilot.press("ctrl+e")  # end a consultation: there is none, refused
            await until(pilot, lambda: "agent.consult_end" in client.methods, "consult_end")
            await pilot.press("f7")  # conference: no consultation, so the daemon refuses
            await until(pilot, lambda: "agent.conference" in client.methods, "conference")
            await dialog("f8", FormScreen)  # dial, the caller's number prefilled
            assert app.screen.query_one("#field-number").value == "13800000006"
            await pilot.press("escape")
            await dialog("f10", LookupScreen)  # knowledge: search as you type
            await type_text(pilot, "停水")
            await until(pilot, lambda: app.screen.items, "knowledge hits")
            shown = screen_text(app)
            assert "**" not in shown and "停水" in shown  # marks, not markdown
            await pilot.press("enter")  # the article first: nothing pasted yet
            await until(pilot, lambda: isinstance(app.screen, ArticleScreen), "the article")
            article = screen_text(app)
            assert "**" not in article and "• " in article and app.note == ""
            await pilot.press("escape")  # back, nothing pasted
            await until(pilot, lambda: not isinstance(app.screen, ArticleScreen), "closed")
            assert app.note == ""
            await dialog("f10", LookupScreen)
            await type_text(pilot, "停水")
            await until(pilot, lambda: app.screen.items, "knowledge hits")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ArticleScreen), "the article")
            await pilot.press("enter")  # now it pastes (the standard phrasing)
            await until(pilot, lambda: app.note != "", "a pasted phrase")
            assert "**" not in app.note and "#" not in app.note
            await dialog("f11", LookupScreen)  # customer lookup
            await type_text(pilot, "1060000004")
            await until(pilot, lambda: app.screen.items, "customers")
            await pilot.press("enter")
            await until(pilot, lambda: (app.pop or {}).get("customer", {}).get("id") == 4,
                        "the looked-up customer")
            await dialog("f12", ChoiceScreen)  # wrap-up
            await pilot.press("escape")
            await dialog("f9", FormScreen)  # work order: the note prefilled, then pick lists
            await pilot.press("tab", "enter")  # the type list opens on 'enquiry'
            await pilot.press("home", "enter")  # the first type: repair
            await pilot.press("tab", "enter", "home", "enter")  # priority: urgent
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "WO-" in app.notice_text, "the work-order number")
            number = app.notice_text.rsplit("：", 1)[-1]
            assert query(db, "SELECT type, priority, department, call_id, customer_id "
                         "FROM work_orders WHERE number = ?", (number,)) == [
                ("repair", "urgent", "repair", "walk-1", 4)]  # the department followed
            await dialog("ctrl+r", FormScreen)  # raise a hand
            await type_text(pilot, "help")
            await pilot.press("enter")
            await until(pilot, lambda: "agent.help" in client.methods, "agent.help")
            await until(pilot, lambda: "举手" in app.notice_text, "hand raised")
            (help_id,) = query(db, "SELECT id FROM help_requests WHERE agent = 'agent1002' "
                               "AND status = 'open'")[0]
            await lead.call("supervisor.answer_help", id=help_id, answer="马上来")
            await until(pilot, lambda: "马上来" in app.notice_text, "the lead's answer")
            await dialog("ctrl+t", TaskScreen)  # tasks: the callback is due first
            await until(pilot, lambda: "回电" in screen_text(app)
                        and "满意度" in screen_text(app), "both tasks listed")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, FormScreen), "the callback form")
            await type_text(pilot, "ok")
            await pilot.press("enter")
            await until(pilot, lambda: "task.callback_done" in client.methods, "callback done")
            await until(pilot, lambda: query(
                db, "SELECT status, handled_by FROM callbacks WHERE result = 'ok'")
                == [("done", "agent1002")], "the callback stored")
            await dialog("ctrl+t", TaskScreen)  # the survey is left; the dial key calls it
            await pilot.press("f8")
            await until(pilot, lambda: isinstance(app.screen, FormScreen), "dial")
            assert app.screen.query_one("#field-number").value == "13800000004"
            await pilot.press("escape")
            await dialog("ctrl+t", TaskScreen)
            await pilot.press("enter")  # the survey: its script and one field per question
            await until(pilot, lambda: isinstance(app.screen, FormScreen), "the survey form")
            await until(pilot, lambda: "刘芳" in screen_text(app), "the survey's customer")
            await pilot.press("tab", "enter", "down", "enter")  # the score: 4 (5 is first)
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "task.survey_save" in client.methods, "survey saved")
            await until(pilot, lambda: query(
                db, "SELECT status, score, handled_by FROM surveys WHERE phone = '13800000004'")
                == [("answered", 4, "agent1002")], "the survey stored")
            await pilot.press("ctrl+l")
            assert app.t.language == "en"
            await until(pilot, lambda: "Wrap-up" in screen_text(app), "English keys")
            await pilot.press("ctrl+l")
            await pilot.press("f4")
            await until(pilot, lambda: app.state.get("state") == "wrap_up", "wrap-up")
            # the queue requires a code: the dialog opens by itself
            await until(pilot, lambda: isinstance(app.screen, ChoiceScreen), "wrap-up dialog")
            await pilot.press("escape")
            await pilot.press("f2")  # not before the wrap-up code
            await until(pilot, lambda: "话后" in app.notice_text, "wrap-up required")
            await until(pilot, lambda: "须填写处理结果" in screen_text(app), "code owed")
            await dialog("f12", ChoiceScreen)
            await pilot.press("enter", "enter")
            await until(pilot, lambda: app.state.get("state") == "ready", "ready")
            await dialog("f2", ChoiceScreen)  # ready -> not ready: the reasons
            await pilot.press("down", "down", "enter")  # training
            await until(pilot, lambda: app.state.get("reason") == "training", "not ready")
            await pilot.press("ctrl+o")
            await until(pilot, lambda: app.state.get("state") == "logged_out", "logged out")
            await lead.close()
        for method in ("agent.ready", "agent.answer", "agent.hold", "agent.unhold",
                       "agent.transfer", "agent.consult_end", "agent.conference", "kb.search",
                       "kb.get", "customer.search", "customer.screen_pop", "wo.create",
                       "agent.help", "agent.tasks", "task.survey", "task.survey_save",
                       "task.callback_done", "agent.hangup", "agent.wrap_up",
                       "agent.not_ready", "agent.logout"):
            assert method in client.methods, method

    run(scenario)
    ((code,),) = query(db, "SELECT wrap_code FROM calls WHERE id = 'walk-1'")
    assert code == "enquiry"


def test_login_chooses_a_station_and_remembers_it(daemon: WallboardDaemon) -> None:
    async def once(move: tuple[str, ...]) -> tuple[str, str]:
        app = console(daemon.socket)
        async with app.run_test(size=(80, 24)) as pilot:
            await type_text(pilot, "agent1005")
            await pilot.press("tab")
            await type_text(pilot, "agent1005")
            await pilot.press("enter")  # no station typed: the list
            await until(pilot, lambda: isinstance(app.screen, ChoiceScreen)
                        and "seat01" in screen_text(app), "the stations drawn")
            shown = screen_text(app)
            await pilot.press(*move, "enter")
            await until(pilot, lambda: app.logged_in and app.state.get("station"), "logged in")
            station = str(app.state["station"])
            await pilot.press("ctrl+o")
            await until(pilot, lambda: app.state.get("state") == "logged_out", "logged out")
            return station, shown

    first, shown = run(lambda: once(("down",)))
    assert first == "seat02" and "seat01" in shown and "空闲" in shown
    again, _ = run(lambda: once(()))  # the last station is highlighted: Enter confirms it
    assert again == "seat02"


def test_reconnects_and_restores_the_state(site: Path) -> None:
    first = WallboardDaemon(site).start()
    second: list[WallboardDaemon] = []

    async def scenario() -> None:
        import asyncio

        app = console(first.socket)
        async with app.run_test(size=(80, 24)) as pilot:
            await log_in(pilot, app, "agent1003", "seat03")
            await pilot.press("f2")
            await until(pilot, lambda: app.state.get("state") == "ready", "ready")
            await pilot.press("f2")
            await until(pilot, lambda: isinstance(app.screen, ChoiceScreen), "reasons")
            await pilot.press("down", "enter")  # meal
            await until(pilot, lambda: app.state.get("reason") == "meal", "not ready: meal")
            first.proc.kill()
            first.proc.wait()
            await until(pilot, lambda: not app.connected, "the drop")
            await until(pilot, lambda: "正在重连" in screen_text(app), "reconnecting shown")
            second.append(await asyncio.to_thread(WallboardDaemon(site).start))
            await until(pilot, lambda: app.connected and app.reconnects == 1, "reconnected", 30)
            await until(pilot, lambda: app.state.get("reason") == "meal", "restored")
            await until(pilot, lambda: "已重新连接" in screen_text(app)
                        and "示忙（用餐）" in screen_text(app), "restored shown")
            lead = await admin(second[0].socket)
            snapshot = await lead.call("acd.snapshot")
            (me,) = [a for a in snapshot["agents"] if a["agent"] == "agent1003"]
            assert (me["state"], me["reason"], me["station"]) == ("not_ready", "meal", "seat03")
            await lead.close()

    try:
        run(scenario)
    finally:
        first.stop()
        for d in second:
            d.stop()


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
def test_layout_shows_every_field(daemon: WallboardDaemon, size: tuple[int, int]) -> None:
    async def scenario() -> str:
        app = console(daemon.socket, clock=lambda: 1_800_000_000.0)
        async with app.run_test(size=size) as pilot:
            await log_in(pilot, app, "agent1004", "seat04")
            await pilot.press("f11")
            await until(pilot, lambda: isinstance(app.screen, LookupScreen), "lookup")
            await type_text(pilot, "13800000006")  # three accounts, an outage
            await until(pilot, lambda: app.screen.items, "found")
            await pilot.press("enter")
            await until(pilot, lambda: app.pop is not None, "the pop")
            await pilot.pause(0.2)
            return screen_text(app)

    text = run(scenario)
    lines = text.splitlines()
    assert len(lines) == size[1] and all(len(line) <= size[0] for line in lines)
    flat = text.replace("\n", "").replace(" ", "")
    for field in ("周敏", "1020000006", "2020000007", "3020000008", "拱墅区", "⚠停水",
                  "agent1004", "seat04"):
        assert field in flat, field
    for key in ("F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12", "^R",
                "^T", "^L", "^O"):
        assert key in text, key
