"""The console's screens: login, the console itself, and one dialog per workflow.

Dialogs only collect what the agent chose and dismiss with it; the app makes the API calls.
Every dialog works with keys alone: Tab moves between fields, Enter submits, Escape cancels.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.agent.catalog import Texts

Search = Callable[[str], Awaitable[list[tuple[str, Any]]]]


class LoginScreen(Screen[None]):
    """Agent number, password, station; Enter logs in (the app does the talking)."""

    def __init__(self, t: Texts, agent: str = "", station: str = "") -> None:
        super().__init__()
        self.t = t
        self.agent = agent
        self.station = station

    def compose(self) -> ComposeResult:
        t = self.t
        with Vertical(id="login-box"):
            yield Static(t("login_title"), id="login-title")
            yield Static(t("agent"), classes="label")
            yield Input(self.agent, id="login-agent")
            yield Static(t("password"), classes="label")
            yield Input(password=True, id="login-password")
            yield Static(t("station"), classes="label")
            yield Input(self.station, id="login-station")
            yield Static(t("login_hint"), id="login-hint")
            yield Static("", id="login-error")

    def on_mount(self) -> None:
        self.query_one("#login-agent" if not self.agent else "#login-password", Input).focus()

    @on(Input.Submitted)
    def submit(self) -> None:
        agent = self.query_one("#login-agent", Input).value.strip()
        password = self.query_one("#login-password", Input).value
        station = self.query_one("#login-station", Input).value.strip()
        for selector, value in (("#login-agent", agent), ("#login-password", password),
                                ("#login-station", station)):
            if not value:
                self.query_one(selector, Input).focus()
                return
        self.query_one("#login-error", Static).update(self.t("logging_in"))
        self.app.log_in(agent, password, station)  # type: ignore[attr-defined]

    def show_error(self, text: str) -> None:
        self.query_one("#login-error", Static).update(text)


class ConsoleScreen(Screen[None]):
    """The agent's working screen: state, link, call, screen pop, notices, keys."""

    def compose(self) -> ComposeResult:
        yield Static(id="state")
        yield Static(id="link")
        yield Static(id="call")
        with VerticalScroll(id="pop-scroll"):
            yield Static(id="pop")
        yield Static(id="notice")
        yield Static(id="keys")


class ChoiceScreen(ModalScreen[tuple[str, str] | None]):
    """Pick one of `choices` (code, label); with `note`, then write a note. Dismisses with
    (code, note) or None."""

    BINDINGS = [Binding("escape", "cancel", show=False)]

    def __init__(self, title: str, choices: Sequence[tuple[str, str]], *, note: str | None = None,
                 note_label: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(choices)
        self.note = note
        self.note_label = note_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield OptionList(*(Option(label, id=code) for code, label in self.choices),
                             id="choices")
            if self.note is not None:
                yield Static(self.note_label, classes="label")
                yield Input(self.note, id="note")

    def on_mount(self) -> None:
        options = self.query_one("#choices", OptionList)
        options.highlighted = 0
        options.focus()

    def _chosen(self) -> str:
        options = self.query_one("#choices", OptionList)
        index = options.highlighted or 0
        return self.choices[index][0]

    @on(OptionList.OptionSelected)
    def chosen(self) -> None:
        if self.note is None:
            self.dismiss((self._chosen(), ""))
        else:
            self.query_one("#note", Input).focus()

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.dismiss((self._chosen(), self.query_one("#note", Input).value))

    def action_cancel(self) -> None:
        self.dismiss(None)


class FormScreen(ModalScreen[dict[str, str] | None]):
    """Fields (name, label, value); Enter in any field submits them all, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", show=False)]

    def __init__(self, title: str, fields: Sequence[tuple[str, str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.fields = list(fields)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            for name, label, value in self.fields:
                yield Static(label, classes="label")
                yield Input(value, id=f"field-{name}")

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.dismiss({name: self.query_one(f"#field-{name}", Input).value
                      for name, _, _ in self.fields})

    def action_cancel(self) -> None:
        self.dismiss(None)


class LookupScreen(ModalScreen[Any]):
    """Search as you type: `search(text)` gives (label, item) pairs; Down goes to the list,
    Enter picks (dismisses with the item), Escape closes (None)."""

    BINDINGS = [Binding("escape", "cancel", show=False),
                Binding("down", "to_list", show=False)]

    def __init__(self, title: str, label: str, search: Search, empty: str,
                 text: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.label = label
        self.search = search
        self.empty = empty
        self.text = text
        self.items: list[Any] = []
        self.searches = 0

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield Static(self.label, classes="label")
            yield Input(self.text, id="query")
            yield OptionList(id="results")
            yield Static("", id="lookup-status")

    def on_mount(self) -> None:
        self.query_one("#query", Input).focus()
        if self.text:
            self.run_search(self.text)

    @on(Input.Changed, "#query")
    def changed(self, event: Input.Changed) -> None:
        self.run_search(event.value)

    @work(exclusive=True, group="lookup", exit_on_error=False)
    async def run_search(self, text: str) -> None:
        text = text.strip()
        results = await self.search(text) if text else []
        self.items = [item for _, item in results]
        options = self.query_one("#results", OptionList)
        options.clear_options()
        options.add_options([Option(label) for label, _ in results])
        if results:
            options.highlighted = 0
        self.query_one("#lookup-status", Static).update("" if results or not text else self.empty)
        self.searches += 1

    @on(Input.Submitted, "#query")
    def submit_query(self) -> None:
        if self.items:
            self.dismiss(self.items[self.query_one("#results", OptionList).highlighted or 0])

    def action_to_list(self) -> None:
        if self.items:
            self.query_one("#results", OptionList).focus()

    @on(OptionList.OptionSelected, "#results")
    def picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.items[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextScreen(ModalScreen[None]):
    """Read-only lines (the task list); Escape closes."""

    BINDINGS = [Binding("escape", "close", show=False)]

    def __init__(self, title: str, lines: Sequence[str]) -> None:
        super().__init__()
        self.title_text = title
        self.lines = list(lines)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            with VerticalScroll():
                yield Static("\n".join(self.lines), id="text-lines")

    def action_close(self) -> None:
        self.dismiss(None)
