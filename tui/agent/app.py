"""The agent console: one Textual app; the agent logs in, takes calls and works with keys only.

    app = create_app(AsyncioClient(socket_path), language="zh", keys={"answer": "f1"})
    app.run()

The login screen opens the connection and logs in; the console fetches what it may offer
(`agent.options`: reasons, disposition codes, work-order pick lists, stations, the survey script),
lets the agent choose a station (or confirms the one typed), subscribes to 'agent.<username>' and
logs the agent in there (or finds them already there: a console that closed never loses the call
in progress). Then one worker (`follow`) applies the daemon's pushes; when the link drops it says
so, reconnects with growing pauses and restores the agent's state (a restarted daemon has
forgotten it: the worker logs the agent in again at the same station, ready or not ready with the
same reason). An offered call fetches its screen pop at once (`customer.screen_pop {call_id}`),
so the customer is on screen while the phone still rings.

The actions live in `calls` (call control) and `workflows` (work orders, knowledge, lookup, help,
tasks, language, logout); state and drawing in `base`.

Keys: every action is a binding with an id (the action's name), so a keymap of
{action: key} from the command line or a test replaces any of them (Textual's keymaps).
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from textual import work
from textual.binding import Binding
from textual.widgets import Input

from ccd.acd.store import agent_topic
from ccd.errors import CcdError
from tui.agent.base import STABLE, WITH_A_CALL
from tui.agent.calls import CallActions
from tui.agent.messages import AgentEvent, Connected, Disconnected, Notice, PopReady, StateFetched
from tui.agent.options import Options
from tui.agent.screens import ChoiceScreen, ConsoleScreen, LoginScreen
from tui.agent.workflows import Workflows

log = logging.getLogger("ccd.agent.tui")

# action -> default key (the classic call-centre function keys first).
DEFAULT_KEYS: dict[str, str] = {
    "ready": "f2",
    "answer": "f3",
    "hangup": "f4",
    "hold": "f5",
    "transfer": "f6",
    "conference": "f7",
    "dial": "f8",
    "work_order": "f9",
    "knowledge": "f10",
    "search": "f11",
    "wrap_up": "f12",
    "consult_end": "ctrl+e",
    "help": "ctrl+r",
    "tasks": "ctrl+t",
    "language": "ctrl+l",
    "logout": "ctrl+o",
}


class KeymapError(CcdError):
    """A keymap names an action the console does not have."""


def check_keys(keys: Mapping[str, str]) -> dict[str, str]:
    """The keymap if every action exists; otherwise KeymapError naming the nearest action."""
    for action in keys:
        if action not in DEFAULT_KEYS:
            near = difflib.get_close_matches(action, list(DEFAULT_KEYS), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise KeymapError(f"unknown console action {action!r}{hint}", error_id="bad-keymap",
                              action=action)
    return dict(keys)


class AgentConsoleApp(CallActions, Workflows):
    CSS_PATH = "agent.tcss"
    TITLE = "ccd"
    BINDINGS = [Binding(key, action, action, id=action, show=False, priority=True)
                for action, key in DEFAULT_KEYS.items()]

    def __init__(self, client: Any, *, language: str = "zh", keys: Mapping[str, str] | None = None,
                 agent: str = "", station: str = "", answer: str = "console",
                 clock: Callable[[], float] = time.time, retry_s: float = 0.3,
                 timezone: str = "Asia/Shanghai") -> None:
        """client: an AsyncioClient (not connected); language: 'zh' or 'en'; keys: {action: key}
        overrides; agent/station: prefilled on the login screen; answer: 'console' (the answer
        key answers an auto-answer phone) or 'phone'; clock: Unix time (tests freeze it);
        retry_s: first reconnect pause (doubles up to 5 s); timezone: the site's, for every
        time shown (the daemon's `hello` overrides it)."""
        super().__init__(client, language=language, keys={**DEFAULT_KEYS, **check_keys(keys or {})},
                         agent=agent, station=station, answer=answer, clock=clock,
                         retry_s=retry_s, timezone=timezone)
        self.reconnects = 0
        self.pops_painted = 0
        self.on_pop_painted: Callable[[str | None], None] | None = None

    # ------------------------------------------------------------ start

    def on_mount(self) -> None:
        self.set_keymap({action: key for action, key in self.keys.items()})
        self.push_screen(LoginScreen(self.t, self.agent, self.station))
        self.set_interval(1.0, self.tick)

    @work(exclusive=True, group="login", exit_on_error=False)
    async def log_in(self, agent: str, password: str, station: str) -> None:
        """Connect and log in; fetch the options; let the agent choose a station when none was
        typed; subscribe and log in at the station; then show the console."""
        try:
            if not self.client.connected:
                await self.client.open()
            self.use_site_zone(getattr(self.client, "server_info", {}).get("timezone"))
            await self.client.login(agent, password)
            self.options = Options.from_reply(await self._options())
            if not station:
                station = await self._choose_station()
                if not station:
                    await self.client.close()
                    self._login_error(self.t("station_needed"))
                    return
            await self.client.subscribe(agent_topic(agent))
            self.agent, self.station = agent, station
            state = await self._restore(await self.client.call("agent.state"))
        except CcdError as exc:
            with contextlib.suppress(Exception):
                await self.client.close()
            self._login_error(self.t("login_failed", error=exc.message))
            return
        self.logged_in = True
        await self.push_screen(ConsoleScreen())
        self.post_message(Connected(state, again=False))
        self.follow()

    async def _options(self) -> dict[str, Any] | None:
        try:
            return await self.client.call("agent.options")  # type: ignore[no-any-return]
        except CcdError as exc:
            log.warning("no console options from the daemon (%s); using the built-in lists",
                        exc.message)
            return None

    async def _choose_station(self) -> str:
        """The stations, free ones first, the agent's last one highlighted; '' if cancelled."""
        stations = sorted(self.options.stations(),
                          key=lambda s: (s.get("agent") not in (None, self.agent), s["station"]))
        if not stations:
            return ""
        choices = [(s["station"], self.t(
            "station_line", station=s["station"], uri=s.get("uri") or "",
            who=self.t("station_free") if s.get("agent") in (None, self.agent)
            else self.t("station_taken", agent=s["agent"]))) for s in stations]
        chosen = await self.push_screen_wait(ChoiceScreen(
            self.t("station_title"), choices, selected=self.options.last_station or None))
        return chosen[0] if chosen else ""

    def _login_error(self, text: str) -> None:
        if isinstance(self.screen, LoginScreen):
            self.screen.show_error(text)

    async def _restore(self, state: dict[str, Any]) -> dict[str, Any]:
        """Log the agent in at the station if the daemon does not have them logged in (first
        login, or a restarted daemon), in the last ready / not-ready state they chose."""
        if state.get("state") != "logged_out":
            self.station = state.get("station") or self.station
            return state
        wanted, reason = self.stable
        state = await self.client.call("agent.login", station=self.station,
                                       ready=wanted == "ready", answer=self.answer_mode)
        if wanted == "not_ready" and reason and reason != state.get("reason"):
            state = await self.client.call("agent.not_ready", reason=reason)
        return state

    # ------------------------------------------------------------ the subscription

    @work(exclusive=True, group="feed", exit_on_error=False)
    async def follow(self) -> None:
        """Apply pushes; on a drop, reconnect (replaying login and subscription) and restore."""
        attempt = 0
        while True:
            async for event in self.client.events():
                if isinstance(event.data, dict):
                    self.post_message(AgentEvent(event.data))
            reason = "closed"
            while True:
                attempt += 1
                self.post_message(Disconnected(reason, attempt))
                await asyncio.sleep(min(5.0, self.retry_s * 2 ** min(attempt - 1, 4)))
                try:
                    await self.client.reconnect()
                    state = await self._restore(await self.client.call("agent.state"))
                except CcdError as exc:
                    reason = exc.message
                    continue
                break
            attempt = 0
            self.reconnects += 1
            self.post_message(Connected(state, again=True))

    def on_connected(self, message: Connected) -> None:
        self.connected = True
        self.link_text = self.t("reconnected") if message.again else self.t("connected")
        self.apply_state(message.state)

    def on_disconnected(self, message: Disconnected) -> None:
        self.connected = False
        self.link_text = self.t("disconnected", reason=message.reason, attempt=message.attempt)
        self.redraw()

    def on_agent_event(self, message: AgentEvent) -> None:
        data = message.data
        kind = data.get("kind")
        details = data.get("details") or {}
        if kind == "help_answered":
            self.notify_line(self.t("help_answered", answer=data.get("answer") or ""))
            return
        if kind == "offered":
            self.offer = {"call_id": data.get("call_id"), "queue": data.get("queue"),
                          "wait_s": details.get("wait_s"), "at": data.get("at")}
            self.fetch_pop(call_id=data.get("call_id"))
        elif kind == "wrap_up_start":
            self.wrap_ends = self.clock() + float(details.get("wrap_up_s") or 0)
            self.state = {**self.state, "wrap_required": bool(details.get("required")),
                          "wrap_coded": bool(details.get("coded"))}
        if kind == "agent_state":
            to = details.get("to")
            if details.get("from") == "wrap_up" and to != "wrap_up":
                self._keep_note()  # the wrap-up ended without the agent's code (timed out)
            self.state = {**self.state, "state": to, "reason": details.get("reason"),
                          "since": data.get("at"),
                          "call_id": data.get("call_id") if to in WITH_A_CALL else None}
            if to not in ("talking", "on_hold"):
                self.consulting = None
            self._note_stable()
            call_id = data.get("call_id")
            if to in ("ringing", "talking") and call_id and call_id != self.pop_call:
                self.fetch_pop(call_id=call_id)
        self.redraw()
        if kind == "wrap_up_start" and details.get("required") and not details.get("coded"):
            self._open_required_wrap_up()

    def _keep_note(self) -> None:
        """Save what the agent noted (pasted, or typed in an open wrap-up dialog) on the call
        whose wrap-up just ended, so a timed-out wrap-up loses nothing."""
        text = self.note
        for screen in self.screen_stack:
            if isinstance(screen, ChoiceScreen):
                with contextlib.suppress(Exception):
                    text = screen.query_one("#note", Input).value or text
        if text.strip():
            self.save_note(text.strip())

    @work(group="note", exit_on_error=False)
    async def save_note(self, text: str) -> None:
        try:
            await self.client.call("agent.note", note=text)
        except CcdError as exc:
            self.post_message(Notice(self.t("error", error=exc.message), error=True))
            return
        if self.note.strip() == text or not self.note.strip():
            self.note = ""
        self.post_message(Notice(self.t("note_kept")))

    def _open_required_wrap_up(self) -> None:
        """A queue that requires a code: the wrap-up dialog opens by itself after the call."""
        if isinstance(self.screen, ConsoleScreen):
            self.action_wrap_up()

    def on_state_fetched(self, message: StateFetched) -> None:
        self.state = dict(message.state)
        if "consulting" in self.state:  # the daemon says whom we consult (after a restart too)
            self.consulting = self.state["consulting"]
        left = self.state.get("wrap_left_s")
        if self.state.get("state") == "wrap_up" and left is not None:
            self.wrap_ends = self.clock() + float(left)
        self._note_stable()
        call_id = self.state.get("call_id")
        if call_id and call_id != self.pop_call:
            self.fetch_pop(call_id=call_id)
        self.redraw()

    def _note_stable(self) -> None:
        name = self.state.get("state")
        if name in STABLE:
            self.stable = (name, self.state.get("reason"))

    @work(exclusive=True, group="pop", exit_on_error=False)
    async def fetch_pop(self, **key: Any) -> None:
        try:
            pop = await self.client.call("customer.screen_pop", **key)
        except CcdError as exc:
            self.post_message(Notice(self.t("error", error=exc.message), error=True))
            return
        self.post_message(PopReady(pop, key.get("call_id")))

    def on_pop_ready(self, message: PopReady) -> None:
        self.pop, self.pop_call = message.pop, message.call_id
        self.redraw()
        self.call_after_refresh(self._pop_painted, message.call_id)

    def _pop_painted(self, call_id: str | None) -> None:
        self.pops_painted += 1
        if self.on_pop_painted is not None:
            self.on_pop_painted(call_id)

    def on_notice(self, message: Notice) -> None:
        self.notify_line(message.text, message.error)

    # ------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in DEFAULT_KEYS and not isinstance(self.screen, ConsoleScreen):
            return action == "language"  # dialogs and the login screen keep their keys
        return True


def create_app(client: Any, **options: Any) -> AgentConsoleApp:
    """The console on `client` (an AsyncioClient, not yet connected); options as for
    AgentConsoleApp (language, keys, agent, station, answer, clock, retry_s)."""
    return AgentConsoleApp(client, **options)
