"""What the console offers the agent to pick from, as the daemon's `agent.options` says.

    options = Options.from_reply(await client.call("agent.options"))
    options.reasons("en")        -> [("break", "break"), ("meal", "meal"), ...]
    options.dispositions("zh")   -> [("enquiry", "咨询"), ...]

The site's lists (`[console]` in ccd.toml: not-ready reasons, disposition codes, the survey
script) carry their own zh/en labels; work-order types, departments and stations come from the
database. Until the daemon has answered (or if it cannot), the built-in lists of the catalogue
stand in, so the console always has something to offer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ccd.workorders import catalogue as wo_words
from tui.agent.catalog import NOT_READY_REASONS, WRAP_UP_CODES, Texts

Choice = tuple[str, str]  # (value, label)


def _labelled(items: list[dict[str, Any]], language: str) -> list[Choice]:
    return [(str(x["code"]), str(x.get(language) or x.get("zh") or x["code"])) for x in items]


def _name(row: dict[str, Any], t: Texts) -> str:
    """A database row's name in the console's language ('name' / 'name_en')."""
    return str((row.get("name_en") if t.language == "en" else None) or row.get("name")
               or row["code"])


@dataclass
class Options:
    """The daemon's `agent.options` reply (empty lists: use the catalogue's defaults)."""

    reply: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_reply(cls, reply: dict[str, Any] | None) -> Options:
        return cls(dict(reply or {}))

    def reasons(self, t: Texts) -> list[Choice]:
        """Not-ready reasons as (code, label) in the console's language."""
        items = self.reply.get("not_ready_reasons") or []
        if items:
            return _labelled(items, t.language)
        return [(r, t.maybe("reason", r)) for r in NOT_READY_REASONS]

    def reason_label(self, code: str | None, t: Texts) -> str:
        """The label of a reason code (system reasons such as 'missed' from the catalogue)."""
        if not code:
            return ""
        return dict(self.reasons(t)).get(code) or t.maybe("reason", code)

    def dispositions(self, t: Texts) -> list[Choice]:
        """Wrap-up disposition codes as (code, label)."""
        items = self.reply.get("dispositions") or []
        if items:
            return _labelled(items, t.language)
        return [(c, t.maybe("code", c)) for c in WRAP_UP_CODES]

    def types(self, t: Texts) -> list[Choice]:
        """Active work-order types as (code, label)."""
        return [(str(x["code"]), _name(x, t)) for x in self.reply.get("types") or []
                if x.get("active", 1)]

    def departments(self, t: Texts) -> list[Choice]:
        """Departments as (code, label); the first, '', dispatches to none (the hotline keeps
        the work order, e.g. an enquiry answered on the phone)."""
        return [("", t("wo_department_auto"))] + [
            (str(x["code"]), _name(x, t)) for x in self.reply.get("departments") or []
            if x.get("active", 1)]

    def default_department(self, type_code: str) -> str:
        """The department a work-order type usually goes to ('' when none)."""
        for x in self.reply.get("types") or []:
            if x.get("code") == type_code:
                return str(x.get("default_department") or "")
        return ""

    def priorities(self, t: Texts) -> list[Choice]:
        names = self.reply.get("priorities") or ["urgent", "high", "normal", "low"]
        # One vocabulary with `ccd wo list` and the work-order pages (紧急 / 较急 / 一般 / 低).
        words = wo_words.PRIORITY
        return [(p, (words[p].get(t.language) or words[p]["zh"]) if p in words else p)
                for p in names]

    def queue_label(self, name: str, language: str) -> str:
        """A queue's name for people (its display name; English where it has one)."""
        for q in self.reply.get("queues") or []:
            if q.get("name") == name:
                shown = str(q.get("display_name") or name)
                if " / " in shown:  # '综合服务 / general': Chinese, then English
                    zh, en = shown.split(" / ", 1)
                    shown = en if language == "en" else zh
                return shown.strip() or name
        return name

    def stations(self) -> list[dict[str, Any]]:
        return list(self.reply.get("stations") or [])

    @property
    def last_station(self) -> str:
        return str(self.reply.get("last_station") or "")

    @property
    def survey(self) -> dict[str, Any]:
        return dict(self.reply.get("survey") or {})
