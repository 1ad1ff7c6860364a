"""The agent console: one Textual app; the agent logs in, takes calls and works with keys only.

    app = create_app(AsyncioClient(socket_path), language="zh", keys={"answer": "f1"})
    app.run()

The login screen opens the connection, logs in, subscribes to 'agent.<username>' and logs the
agent in at their station (or finds them already there: a console that closed never loses the
call in progress). Then one worker (`follow`) applies the daemon's pushes; when the link drops it
says so, reconnects with growing pauses and restores the agent's state (a restarted daemon has
forgotten it: the worker logs the agent in again at the same station, ready or not ready with the
same reason). An offered call fetches its screen pop at once (`customer.screen_pop {call_id}`),
so the customer is on screen while the phone still rings.

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
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import Static

from ccd.acd.store import agent_topic
from ccd.errors import CcdError
from tui.agent import views
from tui.agent.catalog import LANGUAGES, NOT_READY_REASONS, WRAP_UP_CODES, Texts
from tui.agent.messages import AgentEvent, Connected, Disconnected, Notice, PopReady, StateFetched
from tui.agent.screens import (
    ChoiceScreen,
    ConsoleScreen,
    FormScreen,
    LoginScreen,
    LookupScreen,
    TextScreen,
)

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
    "help": "ctrl+r",
    "tasks": "ctrl+t",
    "language": "ctrl+l",
    "logout": "ctrl+o",
}
ON_A_CALL = ("talking", "on_hold")
STABLE = ("ready", "not_ready")


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


class AgentConsoleApp(App[None]):
    CSS_PATH = "agent.tcss"
    TITLE = "ccd"
    BINDINGS = [Binding(key, action, action, id=action, show=False, priority=True)
                for action, key in DEFAULT_KEYS.items()]

    def __init__(self, client: Any, *, language: str = "zh", keys: Mapping[str, str] | None = None,
                 agent: str = "", station: str = "", answer: str = "console",
                 clock: Callable[[], float] = time.time, retry_s: float = 0.3) -> None:
        """client: an AsyncioClient (not connected); language: 'zh' or 'en'; keys: {action: key}
        overrides; agent/station: prefilled on the login screen; answer: 'console' (the answer
        key answers an auto-answer phone) or 'phone'; clock: Unix time (tests freeze it);
        retry_s: first reconnect pause (doubles up to 5 s)."""
        super().__init__()
        self.client = client
        self.t = Texts(language)
        self.keys = {**DEFAULT_KEYS, **check_keys(keys or {})}
        self.agent = agent
        self.station = station
        self.answer_mode = answer
        self.clock = clock
        self.retry_s = retry_s
        self.state: dict[str, Any] = {}
        self.stable: tuple[str, str | None] = ("not_ready", None)
        self.pop: dict[str, Any] | None = None
        self.pop_call: str | None = None
        self.offer: dict[str, Any] = {}
        self.wrap_ends: float | None = None
        self.wrapped: set[str] = set()
        self.note = ""
        self.connected = False
        self.link_text = ""
        self.notice_text = ""
        self.logged_in = False
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
        """Connect, log in, subscribe and log in at the station; then show the console."""
        try:
            if not self.client.connected:
                await self.client.open()
            await self.client.login(agent, password)
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
        if kind == "agent_state":
            self.state = {**self.state, "state": details.get("to"),
                          "reason": details.get("reason"), "since": data.get("at"),
                          "call_id": data.get("call_id") if details.get("to") in (
                              "ringing", "talking", "on_hold", "wrap_up") else None}
            self._note_stable()
            call_id = data.get("call_id")
            if details.get("to") in ("ringing", "talking") and call_id and call_id != self.pop_call:
                self.fetch_pop(call_id=call_id)
        self.redraw()

    def apply_state(self, state: dict[str, Any]) -> None:
        self.post_message(StateFetched(state))

    def on_state_fetched(self, message: StateFetched) -> None:
        self.state = dict(message.state)
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

    # ------------------------------------------------------------ drawing

    @property
    def console_screen(self) -> ConsoleScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, ConsoleScreen):
                return screen
        return None

    def notify_line(self, text: str, error: bool = False) -> None:
        self.notice_text = text
        screen = self.console_screen
        if screen is not None:
            with contextlib.suppress(NoMatches):
                notice = screen.query_one("#notice", Static)
                notice.set_class(error, "-error")
                notice.update(text)

    def tick(self) -> None:
        screen = self.console_screen
        if screen is not None:
            with contextlib.suppress(NoMatches):
                self._draw_state(screen)

    def _draw_state(self, screen: ConsoleScreen) -> None:
        left = None if self.wrap_ends is None else self.wrap_ends - self.clock()
        screen.query_one("#state", Static).update(
            views.state_line({**self.state, "agent": self.agent}, self.t, self.clock(), left))
        link = screen.query_one("#link", Static)
        link.set_class(not self.connected, "-down")
        link.update(self.link_text)

    def redraw(self) -> None:
        screen = self.console_screen
        if screen is None:
            return
        try:
            self._draw_state(screen)
            state = self.state.get("state") or "logged_out"
            call_id = self.state.get("call_id")
            pop = self.pop if self.pop is not None and (
                call_id is None or self.pop_call in (None, call_id)) else None
            if call_id and state in ("ringing", "talking", "on_hold", "wrap_up"):
                call = pop.get("call") if pop else None
                offer = self.offer if self.offer.get("call_id") == call_id else {}
                screen.query_one("#call", Static).update(
                    "\n".join(views.call_lines(call, state, offer, self.t)))
            else:
                screen.query_one("#call", Static).update(
                    self.t("no_call", key=self.key_label("ready")))
            screen.query_one("#pop", Static).update(
                "\n".join(views.pop_lines(pop, self.t)) if pop else "")
            screen.query_one("#keys", Static).update(self.keys_line())
        except NoMatches:
            pass  # the console is being torn down

    def key_label(self, action: str) -> str:
        return self.keys[action].replace("ctrl+", "^").upper()

    def keys_line(self) -> str:
        return "  ".join(f"[b]{self.key_label(a)}[/b] {self.t('key_' + a)}" for a in self.keys)

    # ------------------------------------------------------------ actions

    async def _act(self, method: str, done: str | None = None, **params: Any) -> Any:
        """Call `method`; show `done` or the error in the notice bar; apply the returned state."""
        try:
            result = await self.client.call(method, **params)
        except CcdError as exc:
            self.notify_line(self.t("error", error=exc.message), error=True)
            return None
        if isinstance(result, dict) and "state" in result:
            self.apply_state(result)
        if done:
            self.notify_line(done)
        return result

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in DEFAULT_KEYS and not isinstance(self.screen, ConsoleScreen):
            return action == "language"  # dialogs and the login screen keep their keys
        return True

    async def action_ready(self) -> None:
        state = self.state.get("state")
        if state in ("ready",) or state in ON_A_CALL:
            self.push_screen(ChoiceScreen(
                self.t("not_ready_title"),
                [(r, self.t.maybe("reason", r)) for r in NOT_READY_REASONS]), self._not_ready)
            return
        if state == "wrap_up" and self.state.get("call_id") not in self.wrapped:
            self.notify_line(self.t("wrap_required", key=self.key_label("wrap_up")), error=True)
            return
        await self._act("agent.ready", self.t("state_ready"))

    async def _not_ready(self, chosen: tuple[str, str] | None) -> None:
        if chosen is not None:
            await self._act("agent.not_ready", self.t("state_not_ready"), reason=chosen[0])

    async def action_answer(self) -> None:
        await self._act("agent.answer", self.t("answered"))

    async def action_hangup(self) -> None:
        await self._act("agent.hangup", self.t("hung_up"))

    async def action_hold(self) -> None:
        if self.state.get("state") == "on_hold":
            await self._act("agent.unhold", self.t("resumed"))
        else:
            await self._act("agent.hold", self.t("held"))

    def action_transfer(self) -> None:
        self.push_screen(FormScreen(self.t("transfer_title"), [
            ("target", self.t("transfer_target"), ""), ("mode", "blind | consult", "blind")]),
            self._transfer)

    async def _transfer(self, form: dict[str, str] | None) -> None:
        if form and form["target"].strip():
            mode = "consult" if form["mode"].strip().startswith("c") else "blind"
            result = await self._act("agent.transfer", target=form["target"].strip(), mode=mode)
            if result:
                self.notify_line(self.t("transfer_done", result=result.get("transfer")))

    async def action_conference(self) -> None:
        result = await self._act("agent.conference")
        if result:
            self.notify_line(self.t("conference_done", agent=result.get("conference_with")))

    def caller_phone(self) -> str:
        if not self.pop:
            return ""
        customer = self.pop.get("customer") or {}
        phones = customer.get("phones") or []
        return str(self.pop.get("phone") or (phones[0]["phone"] if phones else ""))

    def action_dial(self) -> None:
        self.push_screen(FormScreen(self.t("dial_title"), [
            ("number", self.t("dial_number"), self.caller_phone())]), self._dial)

    async def _dial(self, form: dict[str, str] | None) -> None:
        if form and form["number"].strip():
            number = form["number"].strip()
            await self._act("agent.dial", self.t("dialing", number=number), number=number)

    def action_work_order(self) -> None:
        pop = self.pop or {}
        customer = pop.get("customer") or {}
        digits = ((pop.get("call") or {}).get("digits") or "")
        kind = "repair" if digits.startswith("2") else "enquiry"
        priority = "high" if customer.get("vip") else "normal"
        description = self.note or ""
        self.push_screen(FormScreen(self.t("wo_title"), [
            ("type", self.t("wo_type"), kind),
            ("description", self.t("wo_description"), description),
            ("priority", self.t("wo_priority"), priority),
            ("department", self.t("wo_department"), ""),
        ]), self._work_order)

    async def _work_order(self, form: dict[str, str] | None) -> None:
        if not form:
            return
        pop = self.pop or {}
        customer = pop.get("customer") or {}
        accounts = customer.get("accounts") or []
        params: dict[str, Any] = {
            "type": form["type"].strip() or "enquiry",
            "description": form["description"],
            "priority": form["priority"].strip() or "normal",
            "phone": self.caller_phone(),
            "contact_name": customer.get("name") or "",
            "source": "agent",
        }
        if customer:
            params["customer_id"] = customer["id"]
        if accounts:
            params["account_no"] = accounts[0]["account_no"]
            params["address"] = accounts[0].get("address") or ""
        call_id = self.state.get("call_id") or self.pop_call
        if call_id:
            params["call_id"] = call_id
        if form["department"].strip():
            params["department"] = form["department"].strip()
        result = await self._act("wo.create", **params)
        if result:
            self.notify_line(self.t("wo_created", number=result["number"]))
            pop_key = {"call_id": call_id} if call_id else {"customer_id": customer.get("id")}
            if call_id or customer:
                self.fetch_pop(**pop_key)

    def action_knowledge(self) -> None:
        async def search(text: str) -> list[tuple[str, Any]]:
            try:
                hits = await self.client.call("kb.search", query=text, lang=self.t.language,
                                              limit=10)
            except CcdError:
                return []
            return [(f"{h['title']} — {h.get('snippet', '')}", h) for h in hits]

        self.push_screen(LookupScreen(self.t("kb_title"), self.t("kb_query"), search,
                                      self.t("kb_none")), self._paste)

    async def _paste(self, hit: dict[str, Any] | None) -> None:
        if not hit:
            return
        text = hit.get("snippet") or hit.get("title") or ""
        with contextlib.suppress(CcdError):
            article = await self.client.call("kb.get", id=hit["id"], lang=self.t.language)
            text = (article.get("body") or text).strip().split("\n")[0]
        text = text.replace("[", "").replace("]", "")
        self.note = (self.note + " " + text).strip()[:500]
        self.notify_line(self.t("kb_pasted", title=hit.get("title", "")))

    def action_search(self) -> None:
        async def search(text: str) -> list[tuple[str, Any]]:
            try:
                found = await self.client.call("customer.search", text=text, limit=10)
            except CcdError:
                return []
            return [(views.search_line(c, self.t), c) for c in found]

        self.push_screen(LookupScreen(self.t("search_title"), self.t("search_query"), search,
                                      self.t("search_none")), self._show_customer)

    def _show_customer(self, customer: dict[str, Any] | None) -> None:
        if customer:
            self.fetch_pop(customer_id=customer["id"])

    def action_wrap_up(self) -> None:
        self.push_screen(ChoiceScreen(
            self.t("wrap_title"), [(c, self.t.maybe("code", c)) for c in WRAP_UP_CODES],
            note=self.note, note_label=self.t("note")), self._wrap_up)

    async def _wrap_up(self, chosen: tuple[str, str] | None) -> None:
        if chosen is None:
            return
        code, note = chosen
        finish = self.state.get("state") == "wrap_up"
        result = await self._act("agent.wrap_up", self.t("wrap_done", code=code), code=code,
                                 note=note, finish=finish)
        if result is not None:
            self.wrapped.add(str(result.get("wrapped_call")))
            self.note = ""
            if finish:
                self.wrap_ends = None

    def action_help(self) -> None:
        self.push_screen(FormScreen(self.t("help_title"), [
            ("message", self.t("help_message"), "")]), self._help)

    async def _help(self, form: dict[str, str] | None) -> None:
        if form is not None:
            await self._act("agent.help", self.t("help_sent"), message=form["message"])

    async def action_tasks(self) -> None:
        try:
            tasks = await self.client.call("agent.tasks")
        except CcdError as exc:
            self.notify_line(self.t("error", error=exc.message), error=True)
            return
        lines = [f"{x['kind']} · {x.get('due_at') or ''} · {x.get('phone') or ''} · "
                 f"{x.get('script') or x.get('note') or ''}" for x in tasks]
        self.push_screen(TextScreen(self.t("tasks_title"), lines or [self.t("tasks_none")]))

    def action_language(self) -> None:
        self.t = Texts(LANGUAGES[(LANGUAGES.index(self.t.language) + 1) % len(LANGUAGES)])
        self.notify_line(self.t("language_switched"))
        self.redraw()

    async def action_logout(self) -> None:
        result = await self._act("agent.logout", self.t("logged_out"))
        if result is not None:
            self.stable = ("not_ready", None)


def create_app(client: Any, **options: Any) -> AgentConsoleApp:
    """The console on `client` (an AsyncioClient, not yet connected); options as for
    AgentConsoleApp (language, keys, agent, station, answer, clock, retry_s)."""
    return AgentConsoleApp(client, **options)
