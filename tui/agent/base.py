"""The console's state and drawing, shared by its action modules (calls, workflows) and the app.

Nothing here talks to the daemon except `_act`, the one way an action calls a method: it shows
the result or the error in the notice bar and applies a returned agent state.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from textual.app import App
from textual.css.query import NoMatches
from textual.widgets import Static

from ccd.errors import CcdError
from tui.agent import views
from tui.agent.catalog import Texts
from tui.agent.labels import Labels
from tui.agent.messages import StateFetched
from tui.agent.options import Options
from tui.agent.screens import ConsoleScreen
from tui.keyline import key_line

ON_A_CALL = ("talking", "on_hold")
WITH_A_CALL = ("ringing", "talking", "on_hold", "wrap_up")
STABLE = ("ready", "not_ready")


class ConsoleBase(App[None]):
    """What every part of the console reads and draws: the agent's state, the pop, the keys."""

    def __init__(self, client: Any, *, language: str, keys: Mapping[str, str], agent: str,
                 station: str, answer: str, clock: Callable[[], float] = time.time,
                 retry_s: float = 0.3, timezone: str = "Asia/Shanghai") -> None:
        super().__init__()
        self.zone: dt.tzinfo = ZoneInfo(timezone)
        self.client = client
        self.t = Texts(language)
        self.keys = dict(keys)
        self.agent = agent
        self.station = station
        self.answer_mode = answer
        self.clock = clock
        self.retry_s = retry_s
        self.options = Options()
        self.state: dict[str, Any] = {}
        self.stable: tuple[str, str | None] = ("not_ready", None)
        self.pop: dict[str, Any] | None = None
        self.pop_call: str | None = None
        self.offer: dict[str, Any] = {}
        self.wrap_ends: float | None = None
        self.consulting: str | None = None  # the agent we are consulting (transfer pending)
        self.note = ""
        self.connected = False
        self.link_text = ""
        self.notice_text = ""
        self.logged_in = False

    @property
    def labels(self) -> Labels:
        """Words for the daemon's codes in the console's language."""
        return Labels(self.t, self.options)

    def use_site_zone(self, name: str | None) -> None:
        """The daemon's site time zone (from `hello`): every time on screen is in it."""
        if name:
            try:
                self.zone = ZoneInfo(name)
            except (ValueError, KeyError):
                pass  # keep the configured one; the daemon validated its own

    # ------------------------------------------------------------ talking to the daemon

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

    def apply_state(self, state: dict[str, Any]) -> None:
        self.post_message(StateFetched(state))

    def fetch_pop(self, **key: Any) -> Any:
        """Fetch and show a screen pop (`customer.screen_pop` with `key`): the app's worker."""
        raise NotImplementedError

    def open_dial(self, number: str) -> None:
        """The dial form with `number` prefilled (in `CallActions`)."""
        raise NotImplementedError

    # ------------------------------------------------------------ what the state says

    @property
    def wrap_owed(self) -> bool:
        """In a wrap-up the queue requires a code for, with no code given yet."""
        return (self.state.get("state") == "wrap_up" and bool(self.state.get("wrap_required"))
                and not self.state.get("wrap_coded"))

    def caller_phone(self) -> str:
        """The number of the caller or customer on screen ('' when none)."""
        if not self.pop:
            return ""
        customer = self.pop.get("customer") or {}
        phones = customer.get("phones") or []
        return str(self.pop.get("phone") or (phones[0]["phone"] if phones else ""))

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

    def on_resize(self) -> None:
        self.call_after_refresh(self.redraw)  # the key line is laid out for the width

    def tick(self) -> None:
        screen = self.console_screen
        if screen is not None:
            with contextlib.suppress(NoMatches):
                self._draw_state(screen)

    def _draw_state(self, screen: ConsoleScreen) -> None:
        left = None if self.wrap_ends is None else self.wrap_ends - self.clock()
        reason = self.options.reason_label(self.state.get("reason"), self.t)
        screen.query_one("#state", Static).update(views.state_line(
            {**self.state, "agent": self.agent, "reason_label": reason}, self.t, self.clock(),
            left, owed=self.wrap_owed))
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
            if call_id and state in WITH_A_CALL:
                call = pop.get("call") if pop else None
                offer = self.offer if self.offer.get("call_id") == call_id else {}
                lines = views.call_lines(call, state, offer, self.t, self.labels)
                if self.consulting:
                    lines.insert(1, self.t("consulting", agent=self.consulting,
                                           transfer=self.key_label("transfer"),
                                           conference=self.key_label("conference"),
                                           end=self.key_label("consult_end")))
                screen.query_one("#call", Static).update("\n".join(lines))
            else:
                screen.query_one("#call", Static).update(
                    self.t("no_call", key=self.key_label("ready")))
            screen.query_one("#pop", Static).update(
                "\n".join(views.pop_lines(pop, self.t, self.zone, self.labels)) if pop else "")
            screen.query_one("#keys", Static).update(self.keys_line())
        except NoMatches:
            pass  # the console is being torn down

    def key_label(self, action: str) -> str:
        return self.keys[action].replace("ctrl+", "^").upper()

    def keys_line(self) -> str:
        width = self.console_screen.size.width - 2 if self.console_screen else 0
        return key_line(((self.key_label(a), self.t("key_" + a)) for a in self.keys), width)
