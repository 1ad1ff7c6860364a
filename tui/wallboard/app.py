"""The wallboard: one Textual app with five pages, fed by pushes on the daemon's 'wallboard' topic.

    app = create_app(AsyncioClient(socket_path), login=login_peer, kiosk=False)
    app.run()

The daemon computes every number (ccd/reports); the board only draws them. One worker keeps
the subscription: connect, log in, subscribe, fetch a full snapshot, then apply pushes; when the
link drops it reconnects forever, and meanwhile the board says plainly how old its data is.
Pushes are queued and applied together, so a burst of pushes paints once.

Team leads (and admins) act with keys on the selected agent: listen, whisper, barge, stop, force a
state or a logout (with a reason), open the call's details; on the Alerts page they answer help
requests. Other roles see the same board and no action runs. In kiosk mode no key and no mouse
event does anything, pages cycle by themselves, and no error ends the app.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, Digits, Static

from ccd.errors import CcdError, Forbidden
from ccd.reports import board as wire
from ccd.reports.board import AgentRow, Wallboard
from ccd.reports.settings import WallboardSettings
from tui.keyline import key_line
from tui.wallboard import format as fmt
from tui.wallboard import views
from tui.wallboard.catalogue import Texts
from tui.wallboard.grid import AgentGrid
from tui.wallboard.messages import ActionResult, Connected, Disconnected, PushesWaiting, Refused
from tui.wallboard.screens import CallDetailsScreen, ForceStateScreen, TextPromptScreen
from tui.wallboard.trend import chart

log = logging.getLogger("ccd.wallboard.tui")

PAGES = ("overview", "queues", "agents", "alerts", "trends")
BIG_FIGURES = ("waiting", "longest", "sl", "abandon", "ready", "talking")
SORTS = ("name", "state", "time", "calls")
LEADS = frozenset({"teamlead", "admin"})
AGENT_COLUMNS = ("col_agent", "col_number", "col_state", "col_in_state", "col_caller",
                 "col_queue", "col_calls")
ALERT_COLUMNS = ("", "col_since", "col_detail")
Login = Callable[[Any], Awaitable[dict[str, Any]]]


class WallboardApp(App[None]):
    CSS_PATH = "wallboard.tcss"
    TITLE = "ccd"
    BINDINGS = [
        *(Binding(str(i + 1), f"page('{p}')", f"page_{p}", show=False)
          for i, p in enumerate(PAGES)),
        Binding("tab", "next_page", "pages", show=False),
        *(Binding(key, action, label, show=False) for key, action, label in (
            ("l", "spy('listen')", "action_listen"),
            ("w", "spy('whisper')", "action_whisper"),
            ("b", "spy('barge')", "action_barge"),
            ("x", "stop_spy", "action_stop"),
            ("f", "force_state", "action_force"),
            ("c", "call_details", "action_details"),
            ("h", "answer_help", "action_answer_help"),
            ("s", "sort", "action_sort"),
            ("g", "language", "action_language"),
            ("q", "quit", "action_quit"),
        )),
    ]
    # The key line at the bottom, in the board's language (Textual's Footer would show the
    # bindings' fixed descriptions).
    KEYS = (("l", "key_listen"), ("w", "key_whisper"), ("b", "key_barge"), ("x", "key_stop"),
            ("f", "key_force"), ("c", "key_details"), ("h", "key_answer_help"))
    VIEW_KEYS = (("s", "key_sort"), ("g", "key_language"), ("q", "key_quit"),
                 ("1-5", "key_pages_short"))

    def __init__(
        self,
        client: Any,
        *,
        login: Login,
        kiosk: bool = False,
        settings: WallboardSettings | None = None,
        language: str = "zh",
        timezone: str = "Asia/Shanghai",
        site_name: str = "",
        station: str | None = None,
        clock: Callable[[], float] = time.time,
        retry_s: float = 0.5,
    ) -> None:
        """client: an AsyncioClient (not yet connected); login: logs it in, returns whoami;
        kiosk: the headless wall mode; settings: [wallboard] (page cycle, stale limit);
        language: 'zh' or 'en'; timezone: the site's; station: the lead's phone for listening;
        clock: Unix time (tests freeze it); retry_s: first reconnect delay (doubles to 5 s)."""
        super().__init__()
        self.client = client
        self.login = login
        self.kiosk = kiosk
        self.settings = settings or WallboardSettings()
        self.t = Texts(language)
        self.zone = ZoneInfo(timezone)
        self.site_name = site_name
        self.station = station
        self.clock = clock
        self.retry_s = retry_s
        self.board: Wallboard | None = None
        self.roles: frozenset[str] = frozenset()
        self.username = ""
        self.connected = False
        self.attempt = 0
        self.refused = ""
        self.page = "overview"
        self.sort_key = "name"
        self.pushes_applied = 0
        self.paints = 0
        self.on_paint: Callable[[Wallboard], None] | None = None
        self._pending: list[Any] = []
        self._agent_order: list[str] = []
        self._agent_rows: dict[str, AgentRow] = {}
        self._alert_keys: list[str] = []
        self._alerts_shown: list[Any] = []
        self._stale_pages: set[str] = set(PAGES)  # pages whose drawing is older than the data
        self._shown_text: dict[str, str] = {}
        self._logged_in = False

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Static(id="tabs")
        yield Static(id="banner")
        with ContentSwitcher(initial="overview", id="pages"):
            with VerticalScroll(id="overview"):
                if self.kiosk:  # a wall screen: the big numbers, readable across the room
                    with Grid(id="big"):
                        for key in BIG_FIGURES:
                            with Vertical(classes="tile", id=f"tile-{key}"):
                                yield Static(classes="tile-label")
                                yield Digits("", classes="tile-figure")
                yield Static(id="headline")
                yield Static(id="agent-line")
                yield Static(id="overview-queues")
                yield Static(id="overview-alerts")
            with VerticalScroll(id="queues"):
                yield Static(id="queues-view")
            with Vertical(id="agents"):
                yield AgentGrid(id="agent-table")
            with Vertical(id="alerts"):
                yield DataTable(id="alert-table", cursor_type="row")
            with Vertical(id="trends"):
                yield TrendView(id="trend-view")
        if not self.kiosk:
            yield Static(id="keys")
        else:  # no key leaves a wall screen; the line says what does
            yield Static(id="kiosk-help")

    def on_mount(self) -> None:
        self.title = self.site_name or self.t("title")
        self.main.query_one("#agent-table", AgentGrid).can_focus = not self.kiosk
        self.main.query_one("#alert-table", DataTable).can_focus = not self.kiosk
        self._add_columns()
        self.set_class(self.kiosk, "-kiosk")
        self.refresh_views()
        self.set_interval(1.0, self.tick)
        if self.kiosk:
            self.set_interval(self.settings.kiosk_page_s, self.action_next_page)
        self.follow()

    def _add_columns(self) -> None:
        self.main.query_one("#agent-table", AgentGrid).set_columns(
            [(key, self.t(key), "right" if key == "col_calls" else "left")
             for key in AGENT_COLUMNS])
        alerts = self.main.query_one("#alert-table", DataTable)
        alerts.clear(columns=True)
        for key in ALERT_COLUMNS:
            alerts.add_column(self.t(key) if key else "", key=key or "level")
        self._agent_order = []
        self._agent_rows = {}
        self._alert_keys = []
        self._alerts_shown = []
        self._stale_pages = set(PAGES)

    @property
    def main(self) -> Screen[Any]:
        """The board's own screen (queries must not go to a dialog on top of it)."""
        return self.screen_stack[0] if self.screen_stack else self.screen

    # ------------------------------------------------------------ kiosk: nothing reacts

    async def on_event(self, event: events.Event) -> None:
        if self.kiosk and isinstance(event, (events.Key, events.MouseEvent)):
            return  # a wall screen takes no input: not a key, not a click
        await super().on_event(event)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not self.kiosk

    # ------------------------------------------------------------ the subscription

    @work(exclusive=True, group="feed", exit_on_error=False)
    async def follow(self) -> None:
        """Connect, log in, subscribe, snapshot, then apply pushes; reconnect forever."""
        while True:
            reason = "closed"
            try:
                await self._connect()
                self.attempt = 0
                # The snapshot of a new connection is the truth whatever its `seq`: a restarted
                # daemon counts its pushes from zero again.
                self.queue_push(await self.client.call("wallboard.snapshot"), fresh=True)
                if self.board is not None and not self.board.live:
                    await self._poll_snapshots()
                else:
                    async for event in self.client.events():
                        if event.event == "wallboard":
                            self.queue_push(event.data)
            except Forbidden as exc:
                self.post_message(Refused(exc.message))
                if not self.kiosk:
                    return  # nothing will change by retrying; the board says why
                reason = exc.message
            except CcdError as exc:
                reason = exc.message
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Contained: whatever went wrong with this connection, the board keeps its last
                # data, says it is stale, and tries again; a wall screen must never exit.
                log.exception("wallboard feed failed")
                reason = repr(exc)
            self.attempt += 1
            self.post_message(Disconnected(reason, self.attempt))
            await asyncio.sleep(min(5.0, self.retry_s * 2 ** min(self.attempt - 1, 4)))

    async def _connect(self) -> None:
        if self.client.connected:
            return
        if not self._logged_in:
            await self.client.open()
            session = await self.login(self.client)
            await self.client.subscribe("wallboard")
            self._logged_in = True
            self.post_message(Connected(session.get("username", ""),
                                        frozenset(session.get("roles", ()))))
        else:
            await self.client.reconnect()  # replays the login and the subscription
            self.post_message(Connected(self.username, self.roles))

    async def _poll_snapshots(self) -> None:
        """No publisher in the daemon: ask for a snapshot every few seconds instead."""
        while self.client.connected:
            await asyncio.sleep(max(1.0, self.settings.stale_after_s / 2))
            self.queue_push(await self.client.call("wallboard.snapshot"))

    def queue_push(self, data: Any, fresh: bool = False) -> None:
        """Keep a push for the next paint; the first one waiting schedules that paint.
        fresh: a snapshot just fetched on a new connection, taken whatever its `seq`."""
        self._pending.append((data, fresh))
        if len(self._pending) == 1:
            self.post_message(PushesWaiting())

    def on_pushes_waiting(self, message: PushesWaiting) -> None:
        pending, self._pending = self._pending, []
        for data, fresh in pending:
            try:
                push = wire.decode(data)
            except Exception:
                log.exception("unreadable wallboard push")
                continue
            if isinstance(push, Wallboard):
                if fresh or self.board is None or push.seq == 0 or push.seq >= self.board.seq:
                    self.board = push
            elif self.board is not None and push.seq > self.board.seq:
                if push.base > self.board.seq:
                    self.resync()  # a push went missing: some agents' rows may be old
                self.board = wire.apply(self.board, push)
            self.pushes_applied += 1
        self.refresh_views()
        board = self.board
        if board is not None:
            self.call_after_refresh(self._painted, board)

    @work(exclusive=True, group="resync", exit_on_error=False)
    async def resync(self) -> None:
        """Fetch a full snapshot (after a missed push); the next push applies on top of it."""
        try:
            self.queue_push(await self.client.call("wallboard.snapshot"))
        except CcdError:
            pass  # the feed worker notices a dead link and reconnects

    def _painted(self, board: Wallboard) -> None:
        self.paints += 1
        if self.on_paint is not None:
            self.on_paint(board)

    def on_connected(self, message: Connected) -> None:
        self.connected = True
        self.refused = ""
        self.username, self.roles = message.username, message.roles
        self.refresh_views()

    def on_disconnected(self, message: Disconnected) -> None:
        self.connected = False
        self.attempt = message.attempt
        self.refresh_views()

    def on_refused(self, message: Refused) -> None:
        self.refused = message.message
        self.refresh_views()

    # ------------------------------------------------------------ drawing

    def local_time(self, ts: float, with_date: bool = False) -> str:
        moment = dt.datetime.fromtimestamp(ts, self.zone)
        return moment.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")

    @property
    def stale(self) -> bool:
        if self.board is None:
            return False
        return not self.connected or self.clock() - self.board.at > self.board.stale_after_s

    def tick(self) -> None:
        """Once a second: the clock, the data's age, and the time in state of the agents on
        screen (rows scrolled into view catch up at the next tick)."""
        try:
            self._draw_status()
            if self.board is not None and self.page == "agents":
                self._agent_timers(visible_only=True)
        except NoMatches:
            pass  # the app is shutting down and its widgets are already gone

    def refresh_views(self) -> None:
        """New data: redraw the page on screen now, the others when they are shown."""
        self._stale_pages = set(PAGES)
        try:
            self._draw_status()
            if self.board is not None:
                self._draw_page(self.page)
        except NoMatches:
            # Pushes, connects and refusals queued while the app shuts down arrive after its
            # widgets are gone (seen in the restart test under load): nothing left to draw.
            pass

    def _draw_page(self, page: str) -> None:
        board = self.board
        if board is None or page not in self._stale_pages:
            return
        self._stale_pages.discard(page)
        t = self.t
        if page == "overview":
            if self.kiosk:
                self._draw_big(board)
            self.main.query_one("#headline", Static).update(views.headline(board, t))
            self.main.query_one("#agent-line", Static).update(views.agent_line(board, t))
            self.main.query_one("#overview-queues", Static).update(
                views.queue_table(board.queues, board, t, current=False))
            self.main.query_one("#overview-alerts", Static).update(views.alerts_summary(board, t, 6))
        elif page == "queues":
            self.main.query_one("#queues-view", Static).update(views.queues_page(board, t))
        elif page == "agents":
            self._sync_agents()
        elif page == "alerts":
            self._sync_alerts()
        else:
            self._draw_trend()

    def _draw_big(self, board: Wallboard) -> None:
        """The kiosk's big figures, each coloured by its threshold level."""
        for key, (figure, level) in views.big_figures(board).items():
            tile = self.main.query_one(f"#tile-{key}", Vertical)
            tile.query_one(".tile-label", Static).update(self.t(f"big_{key}"))
            tile.query_one(".tile-figure", Digits).update(figure)
            for name in ("ok", "warn", "alarm"):
                tile.set_class(name == level, f"-{name}")

    def _set(self, selector: str, text: str) -> None:
        """Update a one-line widget when its text changed, without a layout pass (a layout
        pass redraws the whole screen, a thousand-row grid included)."""
        if self._shown_text.get(selector) != text:
            self._shown_text[selector] = text
            self.main.query_one(selector, Static).update(text, layout=False)

    def _draw_status(self) -> None:
        t = self.t
        now = self.clock()
        mode = f" · {t('kiosk')}" if self.kiosk else ""
        self._set("#status",
                  f"{self.site_name or t('title')} · {t('title')} · {self.local_time(now, True)}"
                  + (f" · {t('current', label=self.board.interval_label)}" if self.board else "")
                  + mode)
        self._set("#tabs", "  ".join(
            f"[reverse] {i + 1} {t('page_' + p)} [/]" if p == self.page
            else f" {i + 1} {t('page_' + p)} "
            for i, p in enumerate(PAGES)
        ))
        if self.kiosk:
            self._set("#kiosk-help", t("kiosk_stop"))
        else:
            keys = (self.KEYS if self.roles & LEADS else ()) + self.VIEW_KEYS
            self._set("#keys", key_line(((key, t(label)) for key, label in keys),
                                        self.size.width - 2))
        board = self.board
        if self.refused:
            text, cls = t("forbidden") + f"（{self.refused}）", "alarm"
        elif board is None:
            text, cls = (t("disconnected", attempt=self.attempt) if self.attempt
                         else t("connecting")), "warn"
        elif self.stale:
            age = fmt.age(now - board.at, t.language)
            text = t("stale", time=self.local_time(board.at), age=age)
            if not self.connected:
                text += " · " + t("reconnecting", attempt=self.attempt)
            cls = "alarm"
        elif not board.live:
            text, cls = t("not_live"), "warn"
        else:
            text, cls = f"● {t('live')} · {self.local_time(board.at)}", "ok"
        banner = self.main.query_one("#banner", Static)
        if not banner.has_class(f"-{cls}"):
            for name in ("ok", "warn", "alarm"):
                banner.set_class(name == cls, f"-{name}")  # (a height change: layout follows)
        self._set("#banner", text)
        self.set_class(self.stale, "-stale")

    def _sync_agents(self) -> None:
        """Bring the grid to the board: rebuild when the rows or their order changed, else
        redraw the rows that differ (a grid of a thousand agents is mostly unchanged)."""
        board = self.board
        assert board is not None
        grid = self.main.query_one("#agent-table", AgentGrid)
        now = self.clock()
        rows = sorted(board.agents, key=views.agent_sort_key(self.sort_key, now))
        order = [a.agent for a in rows]
        if order != self._agent_order:
            selected = grid.cursor_key
            grid.set_rows(order, {a.agent: views.agent_cells(a, now, board, self.t)
                                  for a in rows})
            self._agent_order = order
            self._agent_rows = {a.agent: a for a in rows}
            if selected is not None and selected in order:
                grid.move_cursor(order.index(selected))
            return
        for a in rows:
            if self._agent_rows.get(a.agent) != a:
                grid.update_row(a.agent, views.agent_cells(a, now, board, self.t))
                self._agent_rows[a.agent] = a
        self._agent_timers(visible_only=True)

    def _agent_timers(self, visible_only: bool) -> None:
        """Refresh the time in state (and the red of a state gone on too long)."""
        board = self.board
        if board is None or not self._agent_order:
            return
        grid = self.main.query_one("#agent-table", AgentGrid)
        now = self.clock()
        keys = grid.visible_keys if visible_only else self._agent_order
        for agent in keys:
            a = self._agent_rows.get(agent)
            shown = grid.cells.get(agent)
            if a is None or shown is None:
                continue
            cells = views.agent_cells(a, now, board, self.t)
            if cells[3].plain != shown[3].plain or cells[2].style != shown[2].style:
                grid.update_row(agent, cells)

    def _sync_alerts(self) -> None:
        board = self.board
        assert board is not None
        if board.alerts == self._alerts_shown:
            return
        self._alerts_shown = list(board.alerts)
        table = self.main.query_one("#alert-table", DataTable)
        keys = [f"{a.kind}:{a.subject}:{a.ref}" for a in board.alerts]
        row = table.cursor_row
        table.clear()
        for key, alert in zip(keys, board.alerts, strict=True):
            since = self.local_time(alert.since) if alert.since is not None else ""
            table.add_row(*views.alert_cells(alert, self.t, board, since), key=key)
        self._alert_keys = keys
        if keys:
            table.move_cursor(row=min(row, len(keys) - 1))

    def _draw_trend(self) -> None:
        view = self.main.query_one("#trend-view", TrendView)
        view.board, view.t = self.board, self.t
        view.refresh()

    # ------------------------------------------------------------ pages, sorting, language

    def action_page(self, page: str) -> None:
        self.page = page
        self.main.query_one("#pages", ContentSwitcher).current = page
        self._draw_page(page)
        if page == "agents":
            self._agent_timers(visible_only=False)
        self._draw_status()

    def action_next_page(self) -> None:
        self.action_page(PAGES[(PAGES.index(self.page) + 1) % len(PAGES)])

    def action_sort(self) -> None:
        self.sort_key = SORTS[(SORTS.index(self.sort_key) + 1) % len(SORTS)]
        self.notify(self.t("sort_by", key=self.t("sort_" + self.sort_key)))
        if self.board is not None and self.page == "agents":
            self._sync_agents()
        else:
            self._stale_pages.add("agents")

    def action_language(self) -> None:
        self.t = self.t.other()
        self._shown_text.clear()
        self._add_columns()
        self.refresh_views()

    # ------------------------------------------------------------ supervisor actions

    def _may_act(self) -> bool:
        if self.roles & LEADS:
            return True
        self.notify(self.t("not_allowed"), severity="error")
        return False

    def selected_agent(self) -> AgentRow | None:
        key = self.main.query_one("#agent-table", AgentGrid).cursor_key
        return self._agent_rows.get(key) if key is not None else None

    def _target(self) -> AgentRow | None:
        agent = self.selected_agent() if self.page == "agents" else None
        if agent is None:
            self.notify(self.t("select_agent"), severity="warning")
        return agent

    def action_spy(self, mode: str) -> None:
        if not self._may_act() or (agent := self._target()) is None:
            return
        if self.station:
            self._call_action(f"supervisor.{mode}", agent, self._phone(self.station))
            return

        def chosen(station: str | None) -> None:
            if station:
                self.station = station
                self._call_action(f"supervisor.{mode}", agent, self._phone(station))

        self.push_screen(TextPromptScreen(self.t("station_title"),
                                          self.t("station_placeholder")), chosen)

    @staticmethod
    def _phone(station: str) -> dict[str, str]:
        return {"uri": station} if station.startswith(("sip:", "sips:")) else {"station": station}

    def action_stop_spy(self) -> None:
        if not self._may_act():
            return
        agent = self.selected_agent()
        self._call_action("supervisor.stop", agent, {})

    def action_force_state(self) -> None:
        if not self._may_act() or (agent := self._target()) is None:
            return

        def chosen(result: tuple[str, str] | None) -> None:
            if result is not None:
                state, reason = result
                self._call_action("supervisor.force_state", agent,
                                  {"state": state, "reason": reason})

        self.push_screen(ForceStateScreen(f"{agent.name}（{agent.number or agent.agent}）",
                                          self.t), chosen)

    def action_call_details(self) -> None:
        # Reading a call's record is open to QA too; the actions that change things are not.
        if not self.roles & (LEADS | {"qa"}) and not self._may_act():
            return
        if (agent := self._target()) is None:
            return
        if not agent.call_id:
            self.notify(self.t("no_call", agent=agent.name), severity="warning")
            return
        self._show_call(agent.call_id)

    def action_answer_help(self) -> None:
        if not self._may_act():
            return
        board = self.board
        table = self.main.query_one("#alert-table", DataTable)
        alert = None
        if board is not None and self.page == "alerts" and board.alerts:
            alert = board.alerts[min(max(table.cursor_row, 0), len(board.alerts) - 1)]
        if alert is None or alert.kind != "help" or alert.ref is None:
            self.notify(self.t("select_help"), severity="warning")
            return
        help_id, name = alert.ref, (alert.items[0] if alert.items else alert.subject)

        def answered(text: str | None) -> None:
            if text is not None:
                self._answer_help(help_id, alert.subject, text)

        self.push_screen(TextPromptScreen(self.t("answer_title", agent=name),
                                          self.t("answer_placeholder"), required=False),
                         answered)

    @work(group="actions", exit_on_error=False)
    async def _call_action(self, method: str, agent: AgentRow | None,
                           params: dict[str, Any]) -> None:
        name = agent.agent if agent is not None else ""
        if agent is not None:
            params = {"agent": agent.agent, **params}
        try:
            await self.client.call(method, **params)
        except CcdError as exc:
            self.post_message(ActionResult(method, name, False, exc.message))
            return
        self.post_message(ActionResult(method, name, True))

    @work(group="actions", exit_on_error=False)
    async def _answer_help(self, help_id: int, agent: str, text: str) -> None:
        try:
            await self.client.call("supervisor.answer_help", id=help_id, answer=text)
        except CcdError as exc:
            self.post_message(ActionResult("supervisor.answer_help", agent, False, exc.message))
            return
        self.post_message(ActionResult("supervisor.answer_help", agent, True))

    @work(group="actions", exit_on_error=False)
    async def _show_call(self, call_id: str) -> None:
        try:
            details = await self.client.call("wallboard.call", call_id=call_id)
        except CcdError as exc:
            self.post_message(ActionResult("wallboard.call", call_id, False, exc.message))
            return
        await self.push_screen(CallDetailsScreen(details, self.t, self.zone))

    def on_action_result(self, message: ActionResult) -> None:
        label = {
            "supervisor.listen": "action_listen", "supervisor.whisper": "action_whisper",
            "supervisor.barge": "action_barge", "supervisor.stop": "action_stop",
            "supervisor.force_state": "action_force", "supervisor.answer_help":
            "action_answer_help", "wallboard.call": "action_details",
        }.get(message.action, message.action)
        action = self.t(label)
        if message.ok:
            self.notify(self.t("done", action=action, agent=message.agent))
        else:
            self.notify(self.t("failed", action=action, message=message.message),
                        severity="error")


class TrendView(Static):
    """The trend chart, drawn to whatever size the widget has (redrawn on resize)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.board: Wallboard | None = None
        self.t = Texts()

    def render(self) -> Any:
        board, t = self.board, self.t
        if board is None:
            return ""
        if not board.trend:
            return t("trend_empty")
        return chart(
            board.trend, width=max(20, self.size.width), height=max(6, self.size.height),
            thresholds=board.thresholds,
            calls_label=t("trend_title", minutes=board.interval_minutes) + " · "
            + t("trend_calls"),
            sl_label=t("trend_sl"),
        )


def create_app(client: Any, *, login: Login, **options: Any) -> WallboardApp:
    """The wallboard for `client` (an unconnected AsyncioClient); options as WallboardApp's."""
    return WallboardApp(client, login=login, **options)
