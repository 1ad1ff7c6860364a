"""The console's screens: login, the console itself, and one dialog per workflow.

Dialogs only collect what the agent chose and dismiss with it; the app makes the API calls.
Every dialog works with keys alone: Tab moves between fields, Enter submits, Escape cancels.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from tui.agent.catalog import Texts

Search = Callable[[str], Awaitable[list[tuple[str | Text, Any]]]]  # (label, item)


@dataclass(frozen=True)
class Field:
    """One form field: typed text, or one of `choices` ((value, label) pairs) when given."""

    name: str
    label: str
    value: str = ""
    choices: Sequence[tuple[str, str]] = ()


class LoginScreen(Screen[None]):
    """Agent number, password and station; Enter logs in (the app does the talking). Left
    empty, the station is chosen from a list once the daemon has accepted the password."""

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
        for selector, value in (("#login-agent", agent), ("#login-password", password)):
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
                 note_label: str = "", selected: str | None = None) -> None:
        """selected: the code highlighted first (else the first choice)."""
        super().__init__()
        self.title_text = title
        self.choices = list(choices)
        self.note = note
        self.note_label = note_label
        codes = [code for code, _ in self.choices]
        self.first = codes.index(selected) if selected in codes else 0

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
        options.highlighted = self.first
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
    """Fields (text or pick lists) under optional read-only lines (a script to read out).

    Enter in a text field or Ctrl+S submits them all; on a pick list Enter opens it (arrows
    choose, Enter takes); Tab moves; Escape cancels. Dismisses with {name: value} or None."""

    BINDINGS = [Binding("escape", "cancel", show=False),
                Binding("ctrl+s", "submit", show=False, priority=True)]

    def __init__(self, title: str, fields: Sequence[Field | tuple[str, str, str]],
                 intro: Sequence[str] = (),
                 follow: Callable[[str, str], dict[str, str]] | None = None) -> None:
        """follow(name, value): when a pick list changes, the other fields to set then
        (e.g. the work order's department follows its type)."""
        super().__init__()
        self.title_text = title
        self.fields = [f if isinstance(f, Field) else Field(*f) for f in fields]
        self.intro = list(intro)
        self.follow = follow

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            if self.intro:
                yield Static("\n".join(self.intro), id="form-intro")
            for f in self.fields:
                yield Static(f.label, classes="label")
                if f.choices:
                    values = [v for v, _ in f.choices]
                    yield Select([(label, v) for v, label in f.choices], id=f"field-{f.name}",
                                 allow_blank=False, compact=True,
                                 value=f.value if f.value in values else values[0])
                else:
                    yield Input(f.value, id=f"field-{f.name}")

    def on_mount(self) -> None:
        first = self.fields[0] if self.fields else None
        if first is not None:
            self.query_one(f"#field-{first.name}").focus()

    def values(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for f in self.fields:
            widget = self.query_one(f"#field-{f.name}")
            value = widget.value if isinstance(widget, (Input, Select)) else ""
            out[f.name] = "" if value is Select.BLANK else str(value)
        return out

    @on(Select.Changed)
    def changed(self, event: Select.Changed) -> None:
        if self.follow is None or event.select.id is None:
            return
        for name, value in self.follow(event.select.id.removeprefix("field-"),
                                       str(event.value)).items():
            widget = self.query_one(f"#field-{name}")
            if isinstance(widget, Select):
                widget.value = value
            elif isinstance(widget, Input):
                widget.value = value

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        self.dismiss(self.values())

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


class TaskScreen(ModalScreen[tuple[str, Any] | None]):
    """The agent's task list: Enter works the highlighted task (the survey form or the
    callback's outcome), the dial key calls its number; dismisses with ('work' | 'dial', task)."""

    # id="dial": the console's keymap moves this key with the console's own dial key.
    BINDINGS = [Binding("escape", "close", show=False),
                Binding("f8", "dial", show=False, id="dial")]

    def __init__(self, title: str, tasks: Sequence[tuple[str, dict[str, Any]]], empty: str
                 ) -> None:
        """tasks: (label, task) pairs."""
        super().__init__()
        self.title_text = title
        self.tasks = list(tasks)
        self.empty = empty

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield OptionList(*(Option(label) for label, _ in self.tasks), id="tasks")
            if not self.tasks:
                yield Static(self.empty, id="tasks-none")

    def on_mount(self) -> None:
        tasks = self.query_one("#tasks", OptionList)
        if self.tasks:
            tasks.highlighted = 0
        tasks.focus()

    def _current(self) -> dict[str, Any] | None:
        index = self.query_one("#tasks", OptionList).highlighted
        return self.tasks[index][1] if self.tasks and index is not None else None

    @on(OptionList.OptionSelected, "#tasks")
    def picked(self) -> None:
        task = self._current()
        if task is not None:
            self.dismiss(("work", task))

    def action_dial(self) -> None:
        task = self._current()
        if task is not None:
            self.dismiss(("dial", task))

    def action_close(self) -> None:
        self.dismiss(None)


class ArticleScreen(ModalScreen[bool]):
    """A knowledge-base article, read before anything is pasted: Enter pastes (True), Escape
    goes back without pasting (False)."""

    BINDINGS = [Binding("escape", "close(False)", show=False),
                Binding("enter", "close(True)", show=False)]

    def __init__(self, title: str, body: str, phrasing: str, t: Texts) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.phrasing = phrasing
        self.t = t

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog dialog-wide", id="article"):
            yield Static(self.title_text, classes="dialog-title")
            yield Static(self.body, id="article-body", markup=False)
            if self.phrasing:
                yield Static(self.t("kb_phrasing"), classes="label")
                yield Static(self.phrasing, id="article-phrasing", markup=False)
            yield Static(self.t("kb_article_keys"), classes="label")

    def action_close(self, paste: bool) -> None:
        self.dismiss(paste)
