"""Consultation, three-way conference and dial-out from the console, by keys, over real SIP.

The real daemon (`ccd run`, telephony on), pjsua2 phones for the caller, the agents' desk phones
(auto-answer: the console's answer key answers, answer mode 'console') and "the outside world"
behind `acd.outbound_uri`, and consoles under Pilot driven by keys only (`sip_helpers`). Each
phone plays its own tone; what a phone hears is recorded and its tones measured (Goertzel), so
"in one conference" means every party hears the others.

Tones: caller 1000 Hz, agent1001 (A) 2000 Hz, agent1002 (B) 1100 Hz, music on hold 500 Hz.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import trio
from textual.widgets import Input

from hw.sip import SipChannel
from hw.sipphone import SipPhone
from tests.agent_console.conftest import make_site, query, screen_text
from tests.agent_console.sip_helpers import (
    ConsoleDriver,
    hotline_uri,
    make_tones,
    open_console,
    open_phones,
    prompts_fixture,  # noqa: F401 - the `prompts` fixture
    record,
    running_daemon,
    set_station,
    wait_call_event,
    wait_hearing,
)
from tests.sip.audio import hears
from tui.agent.app import AgentConsoleApp
from tui.agent.screens import ConsoleScreen

pytestmark = pytest.mark.sip

CALLER, A, B, MUSIC = 1000, 2000, 1100, 500
CUSTOMER_PHONE = "13800000004"  # demo customer 4, 刘芳


@pytest.fixture(scope="module")
def site_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo site, made once; each test works on its own copy."""
    return make_site(tmp_path_factory.mktemp("sip_site") / "site", customers=20)


def copy_site(template: Path, folder: Path) -> Path:
    """A fresh copy of the site of config `template` in `folder`; its config's path."""
    shutil.copytree(template.parent, folder)
    return folder / template.name


def on_console(app: AgentConsoleApp) -> bool:
    """No dialog open: the console screen itself has the keys."""
    return isinstance(app.screen, ConsoleScreen)


def ringing_with_pop(app: AgentConsoleApp) -> bool:
    return (app.state.get("state") == "ringing" and app.pop_call is not None
            and app.pop_call == app.state.get("call_id"))


async def consult(a: ConsoleDriver, target: str) -> None:
    """F6: the list (blind first, consult second): Down, Enter, the target, Enter."""
    await a.press("f6")
    await a.until(lambda app: not on_console(app), "the transfer list")
    await a.press("down", "enter")
    await a.until(lambda app: isinstance(app.focused, Input), "the transfer target field")
    await a.type(target)
    await a.press("enter")
    await a.until(lambda app: on_console(app) and app.state.get("state") == "on_hold",
                  "consulting (the caller on hold)")


async def answer(console: ConsoleDriver, desk: SipPhone) -> SipChannel:
    """The console rings with the call on screen; F3 answers; the auto-answer desk phone's leg."""
    await console.until(ringing_with_pop, "ringing with the screen pop", 30)
    await console.press("f3")
    with trio.fail_after(10):
        leg = await desk.incoming()
    await console.until_state("talking")
    return leg


async def test_consult_end_then_three_way_conference_by_keys(
    tmp_path: Path, prompts: Path, site_template: Path
) -> None:
    config = copy_site(site_template, tmp_path / "site")
    db = config.parent / "ccd.sqlite3"
    socket = config.parent / "run" / "ccd.sock"
    tones = make_tones(tmp_path / "tones", CALLER, A, B, MUSIC)
    heard_dir = tmp_path / "heard"
    heard_dir.mkdir()
    async with open_phones(caller=False, agent1001=True, agent1002=True) as phones:
        set_station(db, "seat01", phones["agent1001"].uri)
        set_station(db, "seat02", phones["agent1002"].uri)
        async with running_daemon(config, f"paths.prompts={prompts}",
                                  f"acd.music={tones[MUSIC]}") as daemon, \
                open_console(socket, answer="console") as a, \
                open_console(socket, answer="console") as b:
            await a.log_in("agent1001", "seat01")
            await a.press("f2")
            await a.until_state("ready")

            # The caller presses 0 in the IVR; A is the only agent ready.
            call = await phones["caller"].dial(hotline_uri(daemon), caller_id=CUSTOMER_PHONE)
            await wait_call_event(db, CUSTOMER_PHONE, "play", "main")
            await call.send_dtmf("0", "info")
            desk_a = await answer(a, phones["agent1001"])
            call_id = await a.read(lambda app: app.state.get("call_id"))
            await call.start_play([tones[CALLER]])
            await desk_a.start_play([tones[A]])

            # B comes in after A took the call (else the ACD could offer it to B).
            await b.log_in("agent1002", "seat02")
            await b.press("f2")
            await b.until_state("ready")

            # Consultation: the caller holds (music), A and B talk.
            await consult(a, "agent1002")
            desk_b = await answer(b, phones["agent1002"])
            assert await b.read(lambda app: app.state.get("call_id")) == call_id
            # the daemon says whom A consults (a restarted console would know it too)
            await a.until(lambda app: app.state.get("consulting") == "agent1002"
                          and "agent1002" in screen_text(app), "consulting shown")
            await desk_b.start_play([tones[B]])
            await wait_hearing(heard_dir, desk_a, B)
            heard = await record(heard_dir, {"caller": call, "a": desk_a, "b": desk_b})
            hears(heard["caller"], present=[MUSIC], absent=[A, B])
            hears(heard["a"], present=[B], absent=[CALLER])
            hears(heard["b"], present=[A], absent=[CALLER])

            # Ctrl+E ends the consultation: B's phone is hung up, B is ready again, the caller
            # waits on hold for A; F5 takes them off hold and A and the caller talk again.
            await a.press("ctrl+e")
            with trio.fail_after(10):
                await desk_b.wait_gone()
            await b.until_state("ready")
            await a.until(lambda app: app.state.get("state") == "on_hold"
                          and app.state.get("call_id") == call_id, "A holding the caller")
            await a.press("f5")
            await a.until_state("talking")
            assert await a.read(lambda app: app.consulting) is None
            await wait_hearing(heard_dir, call, A)
            heard = await record(heard_dir, {"caller": call, "a": desk_a})
            hears(heard["caller"], present=[A], absent=[MUSIC, B])
            hears(heard["a"], present=[CALLER], absent=[MUSIC, B])

            # Consult B again, then F7: one conference of three.
            await consult(a, "agent1002")
            desk_b = await answer(b, phones["agent1002"])
            await desk_b.start_play([tones[B]])
            await wait_hearing(heard_dir, desk_a, B)
            await a.press("f7")
            await a.until(lambda app: app.state.get("state") == "talking"
                          and app.state.get("conference") is True, "the conference")
            assert await a.read(lambda app: (app.consulting, app.state.get("consulting"))) == (
                None, None)  # a conference is no longer a consultation
            notice = await a.read(lambda app: app.notice_text)
            assert notice == await a.read(lambda app: app.t("conference_done", agent="agent1002"))
            await wait_hearing(heard_dir, call, B)
            heard = await record(heard_dir, {"caller": call, "a": desk_a, "b": desk_b})
            hears(heard["caller"], present=[A, B], absent=[MUSIC])
            hears(heard["a"], present=[CALLER, B], absent=[MUSIC])
            hears(heard["b"], present=[CALLER, A], absent=[MUSIC])

            # F4: A leaves; the caller stays with B (a consulted transfer).
            await a.press("f4")
            with trio.fail_after(10):
                await desk_a.wait_gone()
            await a.until_state("wrap_up")
            assert await b.read(lambda app: app.state.get("state")) == "talking"
            heard = await record(heard_dir, {"caller": call, "b": desk_b})
            hears(heard["caller"], present=[B], absent=[A, MUSIC])
            hears(heard["b"], present=[CALLER], absent=[A, MUSIC])

            # The caller hangs up: B's phone is hung up and B wraps up.
            await call.hangup()
            with trio.fail_after(10):
                await desk_b.wait_gone()
            await b.until_state("wrap_up")

    ((agent, queue, src, hold_s, end),) = query(
        db, 'SELECT agent, queue, src, hold_s, "end" FROM calls WHERE id = ?', (call_id,))
    assert (agent, queue, src) == ("agent1002", "general", CUSTOMER_PHONE)  # B finished it
    assert hold_s > 0 and end is not None
    events = query(db, "SELECT event, agent FROM queue_events WHERE call_id = ? AND "
                   "(event LIKE 'consult%' OR event = 'transferred') ORDER BY id", (call_id,))
    assert events == [
        ("consult_start", "agent1001"), ("consult_answered", "agent1002"),
        ("consult_end", "agent1001"),
        ("consult_start", "agent1001"), ("consult_answered", "agent1002"),
        ("transferred", "agent1001"),
    ], events
    ((data,),) = query(db, "SELECT data FROM queue_events WHERE call_id = ? AND event = "
                       "'transferred'", (call_id,))
    assert json.loads(data)["mode"] == "consulted" and json.loads(data)["to_agent"] == "agent1002"
    conference = [json.loads(d) for (d,) in query(
        db, "SELECT data FROM call_events WHERE call_id = ? AND kind = 'conference'", (call_id,))]
    assert conference == [{"agent": "agent1001", "consulted": "agent1002"}]
    # (A console that closed logs its agent out: a trailing 'logged_out' is the test's end.)
    states_a = _before_logout([s for (s,) in query(
        db, "SELECT state FROM agent_state_log WHERE agent = 'agent1001' AND call_id = ? "
        "ORDER BY id", (call_id,))])
    assert states_a == ["ringing", "talking", "on_hold", "talking", "on_hold", "talking",
                        "wrap_up"], states_a
    states_b = _before_logout([s for (s,) in query(
        db, "SELECT state FROM agent_state_log WHERE agent = 'agent1002' ORDER BY id")])
    assert states_b == ["not_ready", "ready", "ringing", "talking", "ready", "ringing",
                        "talking", "wrap_up"], states_b


async def test_dial_out_to_the_customer_on_screen_by_keys(
    tmp_path: Path, prompts: Path, site_template: Path
) -> None:
    config = copy_site(site_template, tmp_path / "site")
    db = config.parent / "ccd.sqlite3"
    socket = config.parent / "run" / "ccd.sock"
    tones = make_tones(tmp_path / "tones", CALLER, A)
    heard_dir = tmp_path / "heard"
    heard_dir.mkdir()
    async with open_phones(agent1001=True, outside=True) as phones:
        set_station(db, "seat01", phones["agent1001"].uri)
        outside = phones["outside"].uri.rpartition("@")[2]
        async with running_daemon(config, f"paths.prompts={prompts}",
                                  f"acd.outbound_uri=sip:{{number}}@{outside}"), \
                open_console(socket, answer="console") as a:
            await a.log_in("agent1001", "seat01")
            before = await a.read(lambda app: (app.state.get("state"), app.state.get("reason")))
            assert before[0] == "not_ready"

            # F11: find the customer by phone; Enter puts them on screen.
            await a.press("f11")
            await a.until(lambda app: not on_console(app), "the customer search")
            await a.type(CUSTOMER_PHONE)
            await a.until(lambda app: "刘芳" in screen_text(app), "the customer found")
            await a.press("enter")
            await a.until(lambda app: on_console(app) and app.pop is not None
                          and (app.pop.get("customer") or {}).get("id") == 4, "the customer pop")

            # F8: the dial form holds the customer's phone; Enter dials.
            await a.press("f8")
            await a.until(lambda app: getattr(app.focused, "value", None) == CUSTOMER_PHONE,
                          "the dial form with the customer's phone")
            await a.press("enter")
            with trio.fail_after(15):
                desk = await phones["agent1001"].incoming()  # A's phone first
                far = await phones["outside"].incoming()  # then the number
            assert desk.caller == CUSTOMER_PHONE  # the desk phone shows whom it is calling
            assert far.called == CUSTOMER_PHONE
            assert far.info.extra["called_uri"].startswith(f"sip:{CUSTOMER_PHONE}@")
            await a.until(lambda app: (app.state.get("state"), app.state.get("reason"))
                          == ("not_ready", "outbound"), "not ready: outbound")
            outbound = await a.read(lambda app: app.state.get("outbound"))

            await desk.start_play([tones[A]])
            await far.start_play([tones[CALLER]])
            await wait_hearing(heard_dir, far, A)
            heard = await record(heard_dir, {"desk": desk, "far": far})
            hears(heard["desk"], present=[CALLER], absent=[A])
            hears(heard["far"], present=[A], absent=[CALLER])

            # F4 hangs up both phones; A is back as before the call.
            await a.press("f4")
            with trio.fail_after(10):
                await desk.wait_gone()
                await far.wait_gone()
            await a.until(lambda app: (app.state.get("state"), app.state.get("reason"))
                          == before, "back to the state before the call")

    rows = query(db, "SELECT id, direction, src, dst, agent, station, disposition, hangup_by, "
                 'talk_s, "end" FROM calls WHERE direction = ?', ("out",))
    assert len(rows) == 1, rows
    (call_id, _, src, dst, agent, station, disposition, hangup_by, talk_s, end) = rows[0]
    assert call_id == outbound
    assert (src, dst, agent, station) == ("seat01", CUSTOMER_PHONE, "agent1001", "seat01")
    assert (disposition, hangup_by) == ("ANSWERED", "agent")
    assert talk_s >= 1.6 and end is not None  # at least the measured window
    ((seconds,),) = query(db, "SELECT seconds FROM recordings WHERE call_id = ?", (call_id,))
    assert seconds >= 1.6
    states = _before_logout([(s, r) for s, r in query(
        db, "SELECT state, reason FROM agent_state_log WHERE agent = 'agent1001' ORDER BY id")])
    assert states[-2:] == [("not_ready", "outbound"), before], states


def _before_logout(states: list[Any]) -> list[Any]:
    """The states up to the console's end: closing it logs the agent out (ccd.acd.consoles)."""
    last = states[-1] if states else None
    if last == "logged_out" or (isinstance(last, tuple) and last[0] == "logged_out"):
        return states[:-1]
    return states
