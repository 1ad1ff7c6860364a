"""The console's other workflows: a work order for the caller, the knowledge base, customer
lookup, raising a hand, the task list (callbacks due and satisfaction surveys), the language and
logging out. Each opens a dialog and makes its API calls when the dialog gives an answer.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ccd.errors import CcdError
from tui.agent import kbtext, views
from tui.agent.base import ConsoleBase
from tui.agent.catalog import LANGUAGES, Texts
from tui.agent.screens import ArticleScreen, Field, FormScreen, LookupScreen, TaskScreen

SURVEY_ANSWERS = {"score": ("5", "4", "3", "2", "1"), "yes_no": ("yes", "no")}


class Workflows(ConsoleBase):
    # ------------------------------------------------------------ work order

    def action_work_order(self) -> None:
        """A work order for the caller, prefilled: the note, a type from the IVR keys, VIP
        callers at high priority, the type's usual department (or none: the hotline keeps it)."""
        pop = self.pop or {}
        customer = pop.get("customer") or {}
        digits = (pop.get("call") or {}).get("digits") or ""
        kind = "repair" if digits.startswith("2") else "enquiry"
        t = self.t
        self.push_screen(FormScreen(t("wo_title"), [
            Field("description", t("wo_description"), self.note),
            Field("type", t("wo_type"), kind, self.options.types(t)),
            Field("priority", t("wo_priority"), "high" if customer.get("vip") else "normal",
                  self.options.priorities(t)),
            Field("department", t("wo_department"), self.options.default_department(kind),
                  self.options.departments(t)),
        ], follow=self._department_follows), self._work_order)

    def _department_follows(self, name: str, value: str) -> dict[str, str]:
        """A new type brings its usual department."""
        return {"department": self.options.default_department(value)} if name == "type" else {}

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
            if call_id or customer:
                self.fetch_pop(**({"call_id": call_id} if call_id else
                                  {"customer_id": customer.get("id")}))

    # ------------------------------------------------------------ knowledge, customers

    def action_knowledge(self) -> None:
        async def search(text: str) -> list[tuple[str | Text, Any]]:
            try:
                hits = await self.client.call("kb.search", query=text, lang=self.t.language,
                                              limit=10)
            except CcdError:
                return []
            return [(Text(f"{h['title']} — ", style="bold") + kbtext.marked(h.get("snippet", "")),
                     h) for h in hits]

        self.push_screen(LookupScreen(self.t("kb_title"), self.t("kb_query"), search,
                                      self.t("kb_none")), self._show_article)

    async def _show_article(self, hit: dict[str, Any] | None) -> None:
        """The whole article first (the agent reads what they would paste), then Enter pastes
        its standard phrasing (or its first paragraph) into the note; Esc pastes nothing."""
        if not hit:
            return
        try:
            article = await self.client.call("kb.get", id=hit["id"], lang=self.t.language)
        except CcdError as exc:
            self.notify_line(self.t("error", error=exc.message), error=True)
            return
        body = kbtext.plain(str(article.get("body") or "")).strip()
        phrasing = kbtext.plain(str(article.get("phrasing") or "")).strip()
        paste = phrasing or body.split("\n\n")[0].strip()
        title = str(article.get("title") or hit.get("title") or "")

        def chosen(ok: bool | None) -> None:
            if ok:
                self.note = (self.note + " " + " ".join(paste.split())).strip()[:500]
                self.notify_line(self.t("kb_pasted", title=title))

        self.push_screen(ArticleScreen(title, body, phrasing, self.t), chosen)

    def action_search(self) -> None:
        async def search(text: str) -> list[tuple[str | Text, Any]]:
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

    # ------------------------------------------------------------ help

    def action_help(self) -> None:
        self.push_screen(FormScreen(self.t("help_title"), [
            Field("message", self.t("help_message"))]), self._help)

    async def _help(self, form: dict[str, str] | None) -> None:
        if form is not None:
            await self._act("agent.help", self.t("help_sent"), message=form["message"])

    # ------------------------------------------------------------ tasks

    async def action_tasks(self) -> None:
        try:
            tasks = await self.client.call("agent.tasks")
        except CcdError as exc:
            self.notify_line(self.t("error", error=exc.message), error=True)
            return
        self.push_screen(TaskScreen(
            self.t("tasks_title", dial=self.key_label("dial")),
            [(views.task_line(x, self.t, self.zone), x) for x in tasks], self.t("tasks_none")),
            self._task_chosen)

    async def _task_chosen(self, chosen: tuple[str, Any] | None) -> None:
        if chosen is None:
            return
        what, task = chosen
        if what == "dial":
            self.open_dial(str(task.get("phone") or ""))
        elif task["kind"] == "survey":
            await self.open_survey(task)
        else:
            self.open_callback(task)

    async def open_survey(self, task: dict[str, Any]) -> None:
        """The survey's script to read out and one field per question, plus the outcome."""
        try:
            survey = await self.client.call("task.survey", id=task["id"])
        except CcdError as exc:
            self.notify_line(self.t("error", error=exc.message), error=True)
            return
        t = self.t
        script = survey.get("script") or {}
        intro = views.survey_intro(survey, t)
        fields = [Field("status", t("survey_status"), "answered",
                        [(s, t(f"survey_{s}")) for s in ("answered", "no_answer", "refused")])]
        for q in script.get("questions") or []:
            text = str(q.get(t.language) or q.get("zh") or q["id"])
            answers = SURVEY_ANSWERS.get(q.get("kind", "text"))
            if answers is None:
                fields.append(Field(f"q_{q['id']}", text))
            else:
                fields.append(Field(f"q_{q['id']}", text, answers[0],
                                    [(a, t.maybe("answer", a)) for a in answers]))
        self.push_screen(FormScreen(t("survey_title"), fields, intro=intro),
                         lambda form: self._survey_done(survey, form))

    async def _survey_done(self, survey: dict[str, Any], form: dict[str, str] | None) -> None:
        if form is None:
            return
        answers = {name[2:]: value for name, value in form.items()
                   if name.startswith("q_") and value.strip()}
        status = form["status"]
        await self._act("task.survey_save", self.t("survey_saved"), id=survey["id"],
                        status=status, answers=answers if status == "answered" else {})

    def open_callback(self, task: dict[str, Any]) -> None:
        t = self.t
        self.push_screen(FormScreen(t("callback_title", phone=task.get("phone") or "-"), [
            Field("note", t("note"), ""),
            Field("result", t("callback_result"), "done",
                  [(r, t(f"callback_{r}")) for r in ("done", "failed", "cancelled")]),
        ], intro=[views.task_line(task, t, self.zone)]), lambda form: self._callback_done(task, form))

    async def _callback_done(self, task: dict[str, Any], form: dict[str, str] | None) -> None:
        if form is not None:
            await self._act("task.callback_done", self.t("callback_saved"), id=task["id"],
                            result=form["result"], note=form["note"])

    # ------------------------------------------------------------ language, logout

    def action_language(self) -> None:
        self.t = Texts(LANGUAGES[(LANGUAGES.index(self.t.language) + 1) % len(LANGUAGES)])
        self.notify_line(self.t("language_switched"))
        self.redraw()

    async def action_logout(self) -> None:
        result = await self._act("agent.logout", self.t("logged_out"))
        if result is not None:
            self.stable = ("not_ready", None)
