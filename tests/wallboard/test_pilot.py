"""The wallboard against the real daemon: calls placed and answered on simulated phones move the
numbers and the agent grid; help requests; forced states; what other roles may do."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from textual.widgets import DataTable

from tests.wallboard.conftest import admin_client, password, run, until
from tui.client import AsyncioClient
from tui.wallboard.app import WallboardApp, create_app
from tui.wallboard.grid import AgentGrid
from tui.wallboard.messages import ActionResult
from tui.wallboard.screens import CallDetailsScreen, ForceStateScreen, TextPromptScreen


def board_app(daemon: Any, user: str, **options: Any) -> WallboardApp:
    return create_app(AsyncioClient(daemon.socket), login=password(user), **options)


def cell(app: WallboardApp, agent: str, column: str) -> str:
    return app.query_one("#agent-table", AgentGrid).cell_text(agent, column)


def agent_row(app: WallboardApp, agent: str) -> Any:
    assert app.board is not None
    return next((a for a in app.board.agents if a.agent == agent), None)


async def select_agent(pilot: Any, app: WallboardApp, agent: str) -> None:
    await pilot.press("3")
    app.query_one("#agent-table", AgentGrid).focus()
    await pilot.press("home")
    for _ in range(app._agent_order.index(agent)):
        await pilot.press("down")
    assert app.selected_agent() is not None and app.selected_agent().agent == agent


def audit_rows(daemon: Any, action: str) -> list[dict[str, Any]]:
    """The daemon's audit entries for `action`, read from its database file."""
    with sqlite3.connect(daemon.socket.parent.parent / "ccd.sqlite3") as db:
        rows = db.execute(
            "SELECT actor, target, outcome, details FROM audit_log WHERE action = ? ORDER BY id",
            (action,),
        ).fetchall()
    return [{"actor": a, "target": t, "outcome": o, "details": json.loads(d)}
            for a, t, o, d in rows]


def test_numbers_and_agent_grid_follow_calls(daemon) -> None:
    async def scenario() -> None:
        admin = await admin_client(daemon.socket)
        app = board_app(daemon, "lead1")
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.board is not None and app.connected, "first snapshot")
            assert app.board is not None and app.board.live
            assert app.board.headline.today.offered == 0
            await admin.call("testing.login", agents=["agent1001", "agent1002"],
                             stations=["seat01", "seat02"])
            await until(pilot, lambda: app.board.headline.agents.ready == 2, "two agents ready")

            await admin.call("testing.call", call_id="w-1", queue="general",
                             number="13911112222")
            await until(pilot, lambda: app.board.headline.agents.ringing == 1, "a station rings")
            ringing = next(a.agent for a in app.board.agents if a.state == "ringing")
            assert app.board.headline.today.offered == 1
            await admin.call("testing.answer", agent=ringing, call_id="w-1")
            await until(pilot, lambda: agent_row(app, ringing).state == "talking", "talking")
            general = next(q for q in app.board.queues if q.queue == "general")
            assert (general.today.offered, general.today.answered) == (1, 1)
            assert general.today.service_level == 1.0
            await pilot.press("3")
            await pilot.pause(0.1)
            assert cell(app, ringing, "col_caller") == "13911112222"
            assert cell(app, ringing, "col_state") == "通话"
            assert cell(app, ringing, "col_queue") == general.name

            # The call's details, from the grid.
            await select_agent(pilot, app, ringing)
            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, CallDetailsScreen), "details")
            events = [e["event"] for e in app.screen.details["queue_events"]]
            assert events[:3] == ["enter_queue", "offered", "answered"]
            assert app.screen.details["call"]["src"] == "13911112222"
            await pilot.press("escape")

            # A second caller gives up after a moment: an abandon (or a short one).
            await admin.call("testing.call", call_id="w-2", queue="general")
            other = next(a for a in ("agent1001", "agent1002") if a != ringing)
            await until(pilot, lambda: agent_row(app, other).state == "ringing", "second ring")
            await admin.call("testing.caller_hangup", call_id="w-2")
            await admin.call("testing.caller_hangup", call_id="w-1")
            await until(pilot, lambda: agent_row(app, ringing).state == "wrap_up", "wrap-up")
            today = app.board.headline.today
            assert (today.offered, today.answered) == (2, 1)
            assert today.abandoned + today.short_abandoned == 1
            assert agent_row(app, other).state == "ready"
            assert agent_row(app, ringing).calls_today == 1
        await admin.close()

    run(scenario)


def test_help_request_appears_and_is_answered(daemon) -> None:
    async def scenario() -> None:
        agent = await AsyncioClient.connect(daemon.socket)
        await agent.login("agent1003", "agent1003")
        await agent.subscribe("agent.agent1003")
        app = board_app(daemon, "lead1")
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.board is not None, "first snapshot")
            raised = await agent.call("agent.help", message="客户要求赔偿")
            await until(pilot, lambda: any(a.kind == "help" for a in app.board.alerts), "alert")
            alert = next(a for a in app.board.alerts if a.kind == "help")
            assert (alert.ref, alert.subject, alert.text) == (raised["id"], "agent1003", "客户要求赔偿")
            assert alert.items == ["张伟"]  # agent1003's display name in the demo
            await pilot.press("4")
            table = app.query_one("#alert-table", DataTable)
            table.focus()
            row = [a.kind for a in app.board.alerts].index("help")
            await pilot.press("home", *["down"] * row)
            await pilot.press("h")
            await until(pilot, lambda: isinstance(app.screen, TextPromptScreen), "answer dialog")
            await pilot.press(*"按规定答复", "enter")
            await until(pilot, lambda: not any(a.kind == "help" for a in app.board.alerts),
                        "alert gone")
        told = None
        async for event in agent.events():
            if event.data.get("kind") == "help_answered":
                told = event.data
                break
        assert told is not None and told["answer"] == "按规定答复"
        assert told["answered_by"] == "lead1" and told["status"] == "answered"
        (entry,) = audit_rows(daemon, "supervisor.answer_help")
        assert entry["actor"] == "lead1" and entry["target"] == "agent1003"
        await agent.close()

    run(scenario)


def test_forced_state_reaches_the_agent_and_the_audit_log(daemon) -> None:
    async def scenario() -> None:
        agent = await AsyncioClient.connect(daemon.socket)
        await agent.login("agent1004", "agent1004")
        await agent.subscribe("agent.agent1004")
        await agent.call("agent.login", station="seat04", ready=True)
        app = board_app(daemon, "lead1")
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.board is not None
                        and agent_row(app, "agent1004") is not None, "agent on the board")
            await select_agent(pilot, app, "agent1004")
            await pilot.press("f")
            await until(pilot, lambda: isinstance(app.screen, ForceStateScreen), "dialog")
            await pilot.press("down", "enter")  # 强制示忙
            await pilot.press("enter")  # no reason yet: refused, the dialog stays
            assert isinstance(app.screen, ForceStateScreen)
            await pilot.press(*"meeting", "enter")
            await until(pilot, lambda: agent_row(app, "agent1004").state == "not_ready",
                        "forced not ready on the board")
            assert agent_row(app, "agent1004").reason == "meeting"
            await pilot.pause(0.1)
            assert cell(app, "agent1004", "col_state") == "示忙·会议"
        seen = None
        async for event in agent.events():
            details = event.data.get("details", {})
            if event.data.get("kind") == "agent_state" and details.get("to") == "not_ready":
                seen = event.data
                break
        assert seen is not None and seen["by"] == "lead1"
        assert (await agent.call("agent.state"))["state"] == "not_ready"
        (entry,) = audit_rows(daemon, "supervisor.force_state")
        assert entry["actor"] == "lead1" and entry["target"] == "agent1004"
        assert entry["details"] == {"from": "ready", "to": "not_ready", "reason": "meeting"}
        await agent.close()

    run(scenario)


def test_other_roles_cannot_open_supervisor_actions(daemon) -> None:
    async def scenario() -> None:
        admin = await admin_client(daemon.socket)
        await admin.call("testing.login", agents=["agent1005"], stations=["seat05"])
        # An agent may not even watch: the board says so and no key opens an action.
        app = board_app(daemon, "agent1005")
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.refused != "", "refusal")
            assert app.board is None
            await pilot.press("3", "f", "l", "w", "b", "h", "c", "x")
            await pilot.pause(0.2)
            assert len(app.screen_stack) == 1
            assert "无权查看监控大屏" in str(app.query_one("#banner").render())
        # QA may watch, but acting is refused on the board, before any request is sent.
        qa = board_app(daemon, "qa1")
        async with qa.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: qa.board is not None
                        and agent_row(qa, "agent1005") is not None, "qa board")
            await select_agent(pilot, qa, "agent1005")
            for key in ("f", "l", "w", "b", "c", "x"):
                await pilot.press(key)
                await pilot.pause(0.05)
                assert len(qa.screen_stack) == 1, key
        for action in ("supervisor.force_state", "supervisor.listen", "supervisor.stop"):
            assert [r for r in audit_rows(daemon, action) if r["actor"] == "qa1"] == []
        # And the daemon refuses a QA session that tries anyway.
        client = await AsyncioClient.connect(daemon.socket)
        await client.login("qa1", "qa1")
        try:
            await client.call("supervisor.force_state", agent="agent1005", state="ready")
        except Exception as exc:
            assert getattr(exc, "error_id", "") == "forbidden"
        else:
            raise AssertionError("QA forced a state")
        await client.close()
        await admin.close()

    run(scenario)


def test_listen_asks_for_the_phone_once_and_reaches_the_daemon(daemon) -> None:
    """Listening needs telephony; here the daemon has none, so the request is refused — by the
    daemon, after the board asked for the lead's phone and sent it (and the refusal is shown
    and audited)."""
    results: list[ActionResult] = []

    def hook(message: object) -> None:
        if isinstance(message, ActionResult):
            results.append(message)

    async def scenario() -> None:
        admin = await admin_client(daemon.socket)
        await admin.call("testing.login", agents=["agent1006"], stations=["seat06"])
        app = board_app(daemon, "lead2")
        async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
            await until(pilot, lambda: app.board is not None
                        and agent_row(app, "agent1006") is not None, "agent on the board")
            await select_agent(pilot, app, "agent1006")
            await pilot.press("l")
            await until(pilot, lambda: isinstance(app.screen, TextPromptScreen), "phone prompt")
            await pilot.press(*"seat12", "enter")
            await until(pilot, lambda: len(results) == 1, "listen answered")
            await pilot.press("w")  # the phone is known now: no prompt, straight to the daemon
            await until(pilot, lambda: len(results) == 2, "whisper answered")
            assert len(app.screen_stack) == 1
        await admin.close()

    run(scenario)
    listen, whisper = results
    assert (listen.action, listen.agent, listen.ok) == ("supervisor.listen", "agent1006", False)
    assert whisper.action == "supervisor.whisper" and not whisper.ok
    entries = [e for e in audit_rows(daemon, "supervisor.listen") if e["actor"] == "lead2"]
    assert [(e["target"], e["outcome"]) for e in entries] == [("agent1006", "failed")]
    assert entries[0]["details"]["mode"] == "listen"
