"""A note the agent pasted from the knowledge base survives a wrap-up that times out: the console
keeps it on the call (`agent.note`) when the wrap-up ends without a code. The real daemon
(simulated phones); queue general set to 2 s of wrap-up, no code required."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent_console.conftest import admin, console, log_in, query, run, type_text, until
from tests.wallboard.conftest import WallboardDaemon
from tui.agent.screens import ArticleScreen, LookupScreen


@pytest.fixture
def quick_wrap(site: Path) -> Iterator[WallboardDaemon]:
    d = WallboardDaemon(site).start()
    yield d
    d.stop()


def test_a_pasted_note_is_kept_when_wrap_up_times_out(quick_wrap: WallboardDaemon) -> None:
    db = quick_wrap.socket.parent.parent / "ccd.sqlite3"

    async def scenario() -> str:
        app = console(quick_wrap.socket)
        async with app.run_test(size=(100, 40)) as pilot:
            await log_in(pilot, app, "agent1007", "seat07")
            await pilot.press("f2")
            await until(pilot, lambda: app.state.get("state") == "ready", "ready")
            lead = await admin(quick_wrap.socket)
            # 2 s of wrap-up, no code required (applies to the running ACD at once)
            await lead.call("queues.set", name="general", wrap_up_s=2, wrap_up_required=False)
            await lead.call("testing.call", call_id="note-1", queue="general",
                            number="13800000004")
            await until(pilot, lambda: app.pop_call == "note-1", "the pop")
            await lead.call("testing.answer", agent="agent1007", call_id="note-1")
            await until(pilot, lambda: app.state.get("state") == "talking", "talking")
            await pilot.press("f10")
            await until(pilot, lambda: isinstance(app.screen, LookupScreen), "the search")
            await type_text(pilot, "停水")
            await until(pilot, lambda: app.screen.items, "knowledge hits")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ArticleScreen), "the article")
            await pilot.press("enter")
            await until(pilot, lambda: app.note != "", "the pasted phrase")
            pasted = app.note
            await lead.call("testing.caller_hangup", call_id="note-1")
            await until(pilot, lambda: app.state.get("state") == "wrap_up", "wrap-up")
            # nobody codes the call: the 2 s run out and the agent is ready again
            await until(pilot, lambda: app.state.get("state") == "ready", "ready again", 10)
            await until(pilot, lambda: query(db, "SELECT note FROM calls WHERE id = 'note-1'")
                        [0][0] != "", "the note on the call")
            await lead.close()
            return pasted

    pasted = run(scenario)
    ((note, code),) = query(db, "SELECT note, wrap_code FROM calls WHERE id = 'note-1'")
    assert note == pasted and code is None
