"""The wallboard's dialogs: force a state (with a reason), ask for a line of text (the lead's
phone, a help answer), and show a call's details. Keyboard only; Escape cancels each."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ccd import timefmt
from tui.wallboard import format as fmt
from tui.wallboard.catalogue import Texts

DAY_TIME = "%Y-%m-%d %H:%M:%S"

FORCE_STATES = ("ready", "not_ready", "logged_out")


class ForceStateScreen(ModalScreen[tuple[str, str] | None]):
    """Pick ready / not ready / logged out, then a reason (required: it goes to the audit log).
    Dismisses with (state, reason), or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", show=False)]

    def __init__(self, agent: str, texts: Texts) -> None:
        super().__init__()
        self.agent = agent
        self.t = texts
        self.state: str | None = None

    def compose(self) -> ComposeResult:
        t = self.t
        with Vertical(classes="dialog"):
            yield Label(t("force_title", agent=self.agent), classes="dialog-title")
            yield OptionList(
                Option(t("force_ready"), id="ready"),
                Option(t("force_not_ready"), id="not_ready"),
                Option(t("force_logout"), id="logged_out"),
                id="force-state",
            )
            yield Input(placeholder=t("reason_placeholder"), id="reason", max_length=32)
            yield Label("", id="force-error", classes="dialog-error")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.state = event.option.id
        self.query_one("#reason", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        reason = event.value.strip()
        if self.state is None:
            self.query_one(OptionList).focus()
            return
        if not reason:
            self.query_one("#force-error", Label).update(self.t("reason_required"))
            return
        self.dismiss((self.state, reason))

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextPromptScreen(ModalScreen[str | None]):
    """One line of text: dismisses with it (stripped; empty allowed if `required` is False)."""

    BINDINGS = [Binding("escape", "cancel", show=False)]

    def __init__(self, title: str, placeholder: str, *, required: bool = True,
                 value: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.required = required
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text or not self.required:
            self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CallDetailsScreen(ModalScreen[None]):
    """A call's record, recordings and events (the result of `wallboard.call`)."""

    BINDINGS = [Binding("escape", "close", show=False), Binding("enter", "close", show=False)]

    def __init__(self, details: dict[str, Any], texts: Texts,
                 zone: dt.tzinfo = dt.timezone.utc) -> None:
        """zone: the site's time zone, for every time shown."""
        super().__init__()
        self.details = details
        self.t = texts
        self.zone = zone

    def compose(self) -> ComposeResult:
        t = self.t
        call = self.details.get("call", {})
        with VerticalScroll(classes="dialog dialog-wide"):
            yield Label(t("details_title", call_id=call.get("id", "")), classes="dialog-title")
            yield Static(t("details_caller", src=call.get("src") or "—",
                           dst=call.get("dst") or "—", queue=call.get("queue") or "—",
                           agent=call.get("agent") or "—"))
            yield Static(t(
                "details_times",
                start=timefmt.local(call.get("start"), self.zone, DAY_TIME, "—"),
                answer=timefmt.local(call.get("answer"), self.zone, DAY_TIME, "—"),
                end=timefmt.local(call.get("end"), self.zone, DAY_TIME, "—"), wait=fmt.duration(call.get("wait_s")),
                talk=fmt.duration(call.get("talk_s")), hold=fmt.duration(call.get("hold_s")),
                wrap=fmt.duration(call.get("wrap_s")),
            ))
            yield Label(t("details_recordings"), classes="dialog-section")
            recordings = self.details.get("recordings") or []
            yield Static("\n".join(f"{r['path']}  ({fmt.duration(r.get('seconds'))})"
                                   for r in recordings) or t("details_no_recording"),
                         id="recordings")
            yield Label(t("details_events"), classes="dialog-section")
            yield Static(self._events(), id="call-events")

    def _events(self) -> Table:
        table = Table(box=None, show_header=False, padding=(0, 1))
        rows = [(e["at"], e["event"], e.get("agent") or "", e.get("queue") or "")
                for e in self.details.get("queue_events") or []]
        rows += [(e["at"], e["kind"], "", "") for e in self.details.get("events") or []]
        for at, kind, agent, queue in sorted(rows):
            table.add_row(Text(timefmt.local(at, self.zone, "%H:%M:%S"), style="dim"), kind,
                          agent, queue)
        return table

    def action_close(self) -> None:
        self.dismiss(None)
