"""What the console draws, as plain text from the daemon's replies (no widgets, no I/O).

Lines are short and split by field so that an 80-column terminal wraps between fields rather
than cutting one off; markup is escaped (customer data is never markup).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from rich.markup import escape

from ccd import timefmt
from tui.agent.catalog import Texts
from tui.agent.labels import Labels

SITE = ZoneInfo("Asia/Shanghai")  # the default site's; the console passes its daemon's


def clock(seconds: float) -> str:
    """'mm:ss' (or 'h:mm:ss' past an hour) for a time in state."""
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def yuan(fen: Any) -> str:
    return f"{(fen or 0) / 100:.2f}"


def state_line(state: dict[str, Any], t: Texts, now: float, wrap_left: float | None,
               owed: bool = False) -> str:
    """'agent1001 · seat01 · 示忙(用餐) · 已持续 01:05', then in wrap-up the seconds left (or
    overdue) and, when the queue requires a code not yet given, that it is owed.

    state: the daemon's agent state plus 'agent' and 'reason_label' (the reason's label)."""
    name = state.get("state") or "logged_out"
    reason = state.get("reason_label") or t.maybe("reason", state.get("reason"))
    shown_reason = f"（{reason}）" if name == "not_ready" and reason else ""
    since = state.get("since")
    elapsed = now - since if since else state.get("in_state_s") or 0
    text = t("state_line", agent=state.get("agent", ""), station=state.get("station") or "-",
             state=t(f"state_{name}"), reason=shown_reason, time=clock(elapsed))
    if name == "wrap_up" and wrap_left is not None:
        if wrap_left >= 0:
            text += t("wrap_left", seconds=int(wrap_left))
        else:
            text += t("wrap_overdue", seconds=int(-wrap_left))
    if name == "wrap_up" and owed:
        text += t("wrap_owed")
    return escape(text)


def call_lines(call: dict[str, Any] | None, state: str, offer: dict[str, Any], t: Texts,
               labels: Labels | None = None) -> list[str]:
    """The call's number, queue, wait and IVR path, in words (never the flow's node ids)."""
    labels = labels or Labels(t)
    number = (call or {}).get("src") or offer.get("number") or "-"
    queue = labels.queue((call or {}).get("queue") or offer.get("queue"))
    if state == "ringing":
        wait = offer.get("wait_s")
        wait = (call or {}).get("wait_s") if wait is None else wait
        head = t("call_offered", number=number, queue=queue, wait=int(wait or 0))
    elif state == "on_hold":
        head = t("call_on_hold", number=number)
    elif state == "wrap_up":
        head = t("call_wrap", number=number)
    else:
        head = t("call_talking", number=number, queue=queue)
    lines = [head]
    if call is not None:
        lines.append(t("ivr_path", path=labels.ivr_path(call.get("ivr_path") or [])
                       or t("none")))
        lines.append(t("ivr_digits", digits=call.get("digits") or t("none")))
    return [escape(line) for line in lines]


def pop_lines(pop: dict[str, Any], t: Texts, zone: dt.tzinfo = SITE,
              labels: Labels | None = None) -> list[str]:
    """The customer, their accounts, outages, last contacts and open work orders."""
    labels = labels or Labels(t)
    customer = pop.get("customer")
    lines: list[str] = []
    if customer is None:
        lines.append(escape(t("unknown_caller", number=pop.get("phone") or "-")))
    else:
        flags = (t("vip") if customer.get("vip") else "") + (
            t("blocked") if customer.get("blocked") else "")
        head = escape(t("customer", name=customer["name"], id=customer["id"]))
        if flags:
            head += " [b reverse]" + escape(flags) + "[/]"
        lines.append(head)
        for a in customer.get("accounts", []):
            district = (a.get("district_name_en") if t.language == "en" else None) or a.get(
                "district_name") or a.get("district_code") or "-"
            lines.append(escape(t(
                "account_line", account=a["account_no"], utility=t.maybe("utility", a["utility"]),
                district=district, address=a.get("address") or "-", meter=a.get("meter_no") or "-",
                arrears=yuan(a.get("arrears_fen")), balance=yuan(a.get("balance_fen")))))
        outages = pop.get("outages") or []
        for o in outages:
            area = (o.get("area_en") if t.language == "en" else None) or o.get("area") or ""
            cause = (o.get("cause_en") if t.language == "en" else None) or o.get("cause") or ""
            lines.append("[b]" + escape(t(
                "outage_line", utility=t.maybe("utility", o.get("utility")), area=area,
                cause=cause, starts=_short(o.get("starts_at"), zone),
                ends=_short(o.get("ends_at"), zone)))
                + "[/b]")
        if not outages:
            lines.append(escape(t("no_outage")))
    lines.append("[u]" + escape(t("orders")) + "[/u]")
    orders = pop.get("open_work_orders") or []
    lines += [escape(t("order_line", number=o["number"], type=labels.wo_type(o.get("type")),
                       status=labels.wo_status(o.get("status")),
                       description=_cut(o.get("description"), 40)))
              for o in orders] or [escape(t("none"))]
    lines.append("[u]" + escape(t("contacts")) + "[/u]")
    contacts = pop.get("contacts") or []
    lines += [escape(t("contact_line", at=_short(c.get("at"), zone), kind=t.maybe("kind", c["kind"]),
                       ref=c.get("ref") or "",
                       status=labels.contact_status(c.get("kind"), c.get("status")),
                       summary=_cut(labels.contact_summary(c.get("kind"), c.get("summary")),
                                    30)))
              for c in contacts] or [escape(t("none"))]
    return lines


def search_line(customer: dict[str, Any], t: Texts) -> str:
    phones = ",".join(p["phone"] for p in customer.get("phones", [])[:2])
    accounts = ",".join(a["account_no"] for a in customer.get("accounts", [])[:2])
    return t("search_line", name=customer["name"], phones=phones, accounts=accounts,
             matched=customer.get("matched_on", ""))


def _short(at: Any, zone: dt.tzinfo) -> str:
    """'2026-11-23T00:30:00.000Z' -> '11-23 08:30' in the site's time zone (Asia/Shanghai)."""
    return timefmt.local(at, zone, "%m-%d %H:%M") if at else ""


def _cut(text: Any, width: int) -> str:
    text = str(text or "").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def task_line(task: dict[str, Any], t: Texts, zone: dt.tzinfo = SITE) -> str:
    """'回访 · 11-23 09:00 · 13800000004 刘芳 · WO-20261123-0042 · note' for the task list."""
    who = " ".join(str(x) for x in (task.get("phone"), task.get("customer_name")) if x)
    parts = [t.maybe("kind", task.get("kind")), _short(task.get("due_at"), zone), who or "-",
             str(task.get("work_order") or ""), _cut(task.get("note"), 30)]
    return escape(" · ".join(p for p in parts if p))


def survey_intro(survey: dict[str, Any], t: Texts) -> list[str]:
    """The survey's header lines: who to call about which work order, then the script's intro."""
    customer = survey.get("customer") or {}
    order = survey.get("work_order") or {}
    lines = [t("survey_who", phone=survey.get("phone") or "-",
               name=customer.get("name") or t("none"),
               number=order.get("number") or t("none"),
               description=_cut(order.get("description"), 40))]
    script = survey.get("script") or {}
    intro = script.get(f"intro_{t.language}") or script.get("intro_zh")
    if intro:
        lines.append(str(intro))
    closing = script.get(f"closing_{t.language}") or script.get("closing_zh")
    if closing:
        lines.append(t("survey_closing", text=closing))
    return [escape(line) for line in lines]
