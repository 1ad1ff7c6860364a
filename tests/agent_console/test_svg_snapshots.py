"""SVG snapshots of the agent console at 80×24 and 200×50 (pytest-textual-snapshot).

Screens: the login form filled in, the console ready, a ringing call with its screen pop, the
work-order form (F9) on the answered call and the wrap-up dialog (F12) after the hang-up. Every
test but the login one starts the real daemon (tests/wallboard/daemon_main.py: simulated
phones, admin-only `testing.*` methods) on its own copy of one demo site, so the caller's
history holds only the test's own call whatever tests run before it.

What would change from run to run is pinned:
- times from the daemon, on their way into the console (`PinnedClient`): every `since`/`at`
  epoch becomes PINNED_AT, every ISO time in a reply a fixed one (outages from 04:20 to 14:20,
  everything else 08:20), durations measured by the daemon fixed (DURATIONS: waits 0 s, 30 s
  of wrap-up left); the console's clock stands at PINNED_AT + 65 s, so the state line always
  reads 已持续 01:05 and a wrap-up started in the console always has its 30 s left;
- the cursor does not blink (Textual's headless runs do blink it: `still`);
- the caller is a demo fixture, 周敏 (13800000006: three accounts, a current water outage),
  present with the same rows whatever the seed (only the outage's times follow the clock, and
  they are pinned); the call id is fixed.

Besides the picture, each test checks on the screen text that the important fields are whole.

Snapshots live in tests/agent_console/__snapshots__/test_svg_snapshots/. After a deliberate
change to the console, regenerate them with one command and review the pictures:

    .venv/bin/pytest tests/agent_console/test_svg_snapshots.py --snapshot-update

A mismatch fails the test with a line diff of the screen's text against the stored picture.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from ccd.timefmt import iso
from tests.agent_console.conftest import (
    RecordingClient,
    admin,
    log_in,
    make_site,
    screen_text,
    type_text,
    until,
)
from tests.snapshot_helpers import assert_whole, region_text, shoot
from tests.wallboard.conftest import WallboardDaemon
from tui.agent.app import AgentConsoleApp, create_app
from tui.agent.screens import ChoiceScreen, FormScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((200, 50), id="200x50")]
PINNED_AT = 1_795_422_000.0  # 2026-11-23 08:20:00 UTC
ELAPSED_S = 65.0
ISO_TIMES = {"starts_at": iso(PINNED_AT - 4 * 3600), "ends_at": iso(PINNED_AT + 6 * 3600)}
# (Shown in the site's zone, Asia/Shanghai: 8 hours after the stored UTC.)
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
EPOCH_KEYS = frozenset({"since", "at"})
# Durations the daemon measures with its own clock (add a key here when a new one shows).
DURATIONS = {"in_state_s": 0.0, "wait_s": 0.0, "wrap_left_s": 30.0}
AGENT, STATION, CALLER, CALL_ID = "agent1004", "seat04", "13800000006", "snap-1"
POP_FIELDS = ("周敏", "1020000006", "2020000007", "3020000008", "拱墅区", "W1400000006",
              "E1400000007", "G1400000008", "⚠停水", "莫干山路（德胜路至文晖路）沿线",
              "11-2312:20至11-2322:20", "来电snap-1")

Scenario = Callable[[Any], Awaitable[None]]
Shot = Callable[..., "Shown"]


class Shown(NamedTuple):
    screen: str  # the whole screen, as lines
    part: str  # the lines inside the widget asked for ('' without one)



def pin(value: Any, key: str | None = None) -> Any:
    """`value` (a reply or an event's data) with the daemon's clock readings replaced."""
    if isinstance(value, dict):
        return {k: pin(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [pin(v, key) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        if key in EPOCH_KEYS:
            return PINNED_AT
        if key in DURATIONS:
            return DURATIONS[key]
    if isinstance(value, str) and ISO.match(value):
        return ISO_TIMES.get(key or "", iso(PINNED_AT))
    return value


class PinnedClient(RecordingClient):
    """The real asyncio client; replies and pushes reach the console with their times pinned."""

    async def request(self, method: str, params: Any = None) -> Any:
        return pin(await super().request(method, params))

    async def events(self) -> AsyncIterator[Any]:
        async for event in super().events():
            event.data = pin(event.data)
            yield event


def pinned_console(socket: Path) -> AgentConsoleApp:
    return create_app(PinnedClient(socket), clock=lambda: PINNED_AT + ELAPSED_S, retry_s=0.1)


def state_fields(app: AgentConsoleApp, state: str) -> list[str]:
    """The state line's fields: agent, station, state and the frozen time in it."""
    return [AGENT, STATION, app.t(f"state_{state}"), "01:05"]


def keys(app: AgentConsoleApp) -> list[str]:
    """Every key of the key line with its label ('F9 工单')."""
    return [f"{app.key_label(action)} {app.t('key_' + action)}" for action in app.keys]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo site, never run; each test runs a copy."""
    return make_site(tmp_path_factory.mktemp("svg_snapshots") / "site").parent


@pytest.fixture
def daemon(pristine: Path, tmp_path: Path) -> Iterator[WallboardDaemon]:
    site = shutil.copytree(pristine, tmp_path / "site")
    d = WallboardDaemon(site / "ccd.toml").start()
    yield d
    d.stop()


@pytest.fixture
def shot(snap_compare: Any, request: pytest.FixtureRequest) -> Shot:
    """shot(app, size, scenario, part=None): snapshot after the scenario; returns the screen's
    text and, with `part` (a selector), the text inside that widget of the top screen."""
    def take(app: AgentConsoleApp, size: tuple[int, int], scenario: Scenario,
             part: str | None = None) -> Shown:
        def text(app: AgentConsoleApp) -> Shown:
            inside = "" if part is None else region_text(
                app, app.screen.query_one(part).content_region)
            return Shown(screen_text(app), inside)

        return shoot(snap_compare, request, app, size, scenario, text)

    return take


async def ready(pilot: Any, app: AgentConsoleApp) -> None:
    await log_in(pilot, app, AGENT, STATION)
    await pilot.press("f2")
    await until(pilot, lambda: app.state.get("state") == "ready"
                and app.notice_text == app.t("state_ready"), "ready")


async def ringing(pilot: Any, app: AgentConsoleApp, socket: Path) -> None:
    await ready(pilot, app)
    lead = await admin(socket)
    try:
        await lead.call("testing.call", call_id=CALL_ID, queue="general", number=CALLER)
    finally:
        await lead.close()
    await until(pilot, lambda: app.state.get("state") == "ringing" and app.pop_call == CALL_ID
                and app.offer.get("call_id") == CALL_ID, "the call and its pop")
    await until(pilot, lambda: not [w for w in app.workers if w.group == "pop"
                                    and not w.is_finished], "the last pop")


async def talking(pilot: Any, app: AgentConsoleApp, socket: Path) -> None:
    await ringing(pilot, app, socket)
    await pilot.press("f3")  # agent.answer replies at once; the phone then picks up
    await until(pilot, lambda: app.notice_text == app.t("answered"), "agent.answer")
    lead = await admin(socket)
    try:
        await lead.call("testing.answer", agent=AGENT, call_id=CALL_ID)
    finally:
        await lead.close()
    await until(pilot, lambda: app.state.get("state") == "talking", "talking")


@pytest.mark.parametrize("size", SIZES)
def test_login(shot: Shot, tmp_path: Path, size: tuple[int, int]) -> None:
    app = pinned_console(tmp_path / "no-daemon.sock")  # nothing connects before Enter

    async def scenario(pilot: Any) -> None:
        await type_text(pilot, AGENT)
        await pilot.press("tab")
        await type_text(pilot, "secret")
        await pilot.press("tab")
        await type_text(pilot, STATION)

    text = shot(app, size, scenario).screen
    t = app.t
    assert_whole(text, size, [t("login_title"), t("agent"), AGENT, t("password"), "••••••",
                              t("station"), STATION, t("login_hint")])


@pytest.mark.parametrize("size", SIZES)
def test_ready(shot: Shot, daemon: WallboardDaemon, size: tuple[int, int]) -> None:
    app = pinned_console(daemon.socket)
    text = shot(app, size, lambda pilot: ready(pilot, app)).screen
    t = app.t
    assert_whole(text, size, [*state_fields(app, "ready"), t("connected"),
                              t("no_call", key=app.key_label("ready")), *keys(app)])


@pytest.mark.parametrize("size", SIZES)
def test_ringing_with_screen_pop(shot: Shot, daemon: WallboardDaemon,
                                 size: tuple[int, int]) -> None:
    app = pinned_console(daemon.socket)
    text = shot(app, size, lambda pilot: ringing(pilot, app, daemon.socket)).screen
    assert_whole(text, size, [*state_fields(app, "ringing"),
                              app.t("call_offered", number=CALLER, queue="综合服务", wait=0),
                              *POP_FIELDS, *keys(app)])


@pytest.mark.parametrize("size", SIZES)
def test_work_order_form(shot: Shot, daemon: WallboardDaemon,
                         size: tuple[int, int]) -> None:
    app = pinned_console(daemon.socket)
    dialogs: list[Any] = []

    async def scenario(pilot: Any) -> None:
        await talking(pilot, app, daemon.socket)
        await pilot.press("f9")
        await until(pilot, lambda: isinstance(app.screen, FormScreen), "the work-order form")
        dialogs.append(app.screen)

    shown = shot(app, size, scenario, part=".dialog")
    (form,) = dialogs
    assert form.title_text == app.t("wo_title")
    assert_whole(shown.part, size, [form.title_text, *(field.label for field in form.fields)])
    assert_whole(shown.screen, size, state_fields(app, "talking"))


@pytest.mark.parametrize("size", SIZES)
def test_wrap_up_dialog(shot: Shot, daemon: WallboardDaemon,
                        size: tuple[int, int]) -> None:
    app = pinned_console(daemon.socket)
    dialogs: list[Any] = []

    async def scenario(pilot: Any) -> None:
        await talking(pilot, app, daemon.socket)
        await pilot.press("f4")
        await until(pilot, lambda: app.state.get("state") == "wrap_up"
                    and app.wrap_ends is not None and app.notice_text == app.t("hung_up"),
                    "wrap-up")
        await pilot.press("f12")
        await until(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the wrap-up dialog")
        dialogs.append(app.screen)

    shown = shot(app, size, scenario, part=".dialog")
    (dialog,) = dialogs
    assert dialog.title_text == app.t("wrap_title") and len(dialog.choices) >= 6
    assert_whole(shown.part, size, [dialog.title_text, *(label for _, label in dialog.choices),
                                    app.t("note")])
    assert_whole(shown.screen, size, [*state_fields(app, "wrap_up"),
                                      app.t("wrap_left", seconds=30)])
