"""The console's call-control keys: ready / not ready, answer, hang up, hold, transfer (blind, or
after a consultation), end the consultation, conference, dial out, wrap up.

Each action is one API call (or a dialog, then one call); the daemon checks the state and the
role and says no with a reason, which the notice bar shows.
"""

from __future__ import annotations

from typing import Any

from tui.agent.base import ON_A_CALL, ConsoleBase
from tui.agent.screens import ChoiceScreen, Field, FormScreen


class CallActions(ConsoleBase):
    async def action_ready(self) -> None:
        """Ready when not ready or in wrap-up; the not-ready reasons when ready or on a call."""
        state = self.state.get("state")
        if state == "ready" or state in ON_A_CALL:
            self.push_screen(ChoiceScreen(self.t("not_ready_title"), self.options.reasons(self.t)),
                             self._not_ready)
            return
        if self.wrap_owed:
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

    async def action_transfer(self) -> None:
        """While consulting: hand the caller over. Otherwise: blind or consult, then the target."""
        if self.consulting:
            result = await self._act("agent.transfer", target=self.consulting, mode="consult")
            if result:
                self.consulting = None
                self.notify_line(self.t("transfer_done", result=self.t.maybe(
                    "transfer", result.get("transfer"))))
            return
        self.push_screen(ChoiceScreen(
            self.t("transfer_title"),
            [("blind", self.t("transfer_mode_blind")), ("consult", self.t("transfer_mode_consult"))],
            note="", note_label=self.t("transfer_target")), self._transfer)

    async def _transfer(self, chosen: tuple[str, str] | None) -> None:
        if not chosen or not chosen[1].strip():
            return
        mode, target = chosen[0], chosen[1].strip()
        result = await self._act("agent.transfer", target=target, mode=mode)
        if result:
            if result.get("transfer") == "consulting":
                self.consulting = target
            self.notify_line(self.t("transfer_done", result=self.t.maybe(
                "transfer", result.get("transfer"))))
            self.redraw()

    async def action_consult_end(self) -> None:
        result = await self._act("agent.consult_end", self.t("consult_ended"))
        if result is not None:
            self.consulting = None
            self.redraw()

    async def action_conference(self) -> None:
        result = await self._act("agent.conference")
        if result:
            self.consulting = None
            self.notify_line(self.t("conference_done", agent=result.get("conference_with")))
            self.redraw()

    def action_dial(self) -> None:
        self.open_dial(self.caller_phone())

    def open_dial(self, number: str) -> None:
        """The dial form with `number` prefilled."""
        self.push_screen(FormScreen(self.t("dial_title"), [
            Field("number", self.t("dial_number"), number)]), self._dial)

    async def _dial(self, form: dict[str, str] | None) -> None:
        if form and form["number"].strip():
            number = form["number"].strip()
            await self._act("agent.dial", self.t("dialing", number=number), number=number)

    def action_wrap_up(self) -> None:
        self.push_screen(ChoiceScreen(
            self.t("wrap_title"), self.options.dispositions(self.t), note=self.note,
            note_label=self.t("note")), self._wrap_up)

    async def _wrap_up(self, chosen: tuple[str, str] | None) -> None:
        if chosen is None:
            return
        code, note = chosen
        finish = self.state.get("state") == "wrap_up"
        label = dict(self.options.dispositions(self.t)).get(code, code)
        kept, self.note = self.note, ""  # goes with the code (nothing left to keep afterwards)
        result: Any = await self._act("agent.wrap_up", self.t("wrap_done", code=label),
                                      code=code, note=note, finish=finish)
        if result is None:
            self.note = note or kept  # refused: the note stays for the next try
        else:
            if finish:
                self.wrap_ends = None
