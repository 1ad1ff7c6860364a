"""Work orders in the database: open, move through the lifecycle, attach, notify on close.

Every change is one transaction: the work-order row, its event (who, when, note), and what the
change sets off (the number's sequence, the SMS row, the callback and survey rows) are committed
together or not at all. The state machine (`lifecycle`) decides; this module only loads, asks
and writes.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlite_utils

from ccd.customers_import import is_mobile, normalize_phone
from ccd.timefmt import iso
from ccd.workorders import catalogue, lifecycle, sampling
from ccd.workorders.calendar import BusinessCalendar
from ccd.workorders.deadlines import rule_for, timers
from ccd.workorders.errors import (
    BadValue,
    NoSuchWorkOrder,
    UnknownDepartment,
    UnknownType,
)
from ccd.workorders.lifecycle import Event, OrderState
from ccd.workorders.settings import PRIORITIES, WorkOrderSettings, parse_hours
from ccd.workorders.store import iso_or_none, parse_or_none, row, rows, transaction
from db import lookup

NUMBER = re.compile(r"^WO-(\d{8})-(\d{4,})$")
SOURCES = ("agent", "ivr", "cli", "web", "import")


def normalize_number(text: str) -> str | None:
    """'wo-20261123-0042', '20261123-0042' or the twelve keyed digits '202611230042' →
    'WO-20261123-0042'; None when it cannot be a work-order number."""
    t = text.strip().upper().replace(" ", "")
    if t.startswith("WO-"):
        t = t[3:]
    elif t.startswith("WO"):
        t = t[2:]
    digits = t.replace("-", "")
    if not digits.isdigit() or len(digits) < 12:
        return None
    return f"WO-{digits[:8]}-{digits[8:]}"


def load_calendar(
    db: sqlite_utils.Database, settings: WorkOrderSettings, timezone: str
) -> BusinessCalendar:
    """The business calendar: working hours and weekend from settings, holidays from the table."""
    off: list[dt.date] = []
    work: list[dt.date] = []
    for day, kind in db.execute("SELECT day, kind FROM holidays").fetchall():
        (off if kind == "off" else work).append(dt.date.fromisoformat(day))
    return BusinessCalendar.build(
        timezone, parse_hours(settings.working_hours), settings.weekend, off, work
    )


class WorkOrders:
    """The work-order service on one database.

    db: the daemon's database. settings: the `[workorders]` section. timezone: the site's time
    zone (numbers and working hours are local). site_name: signs SMS texts. now: the clock
    (seconds since the epoch; tests pass a virtual one). on_change: called after every committed
    change, e.g. to wake the scheduler.
    """

    def __init__(
        self,
        db: sqlite_utils.Database,
        settings: WorkOrderSettings | None = None,
        *,
        timezone: str = "Asia/Shanghai",
        site_name: str = "",
        now: Callable[[], float] = time.time,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings or WorkOrderSettings()
        self.timezone = timezone
        self.site_name = site_name
        self.now = now
        self.on_change = on_change
        self.calendar = load_calendar(db, self.settings, timezone)

    def reload_calendar(self) -> None:
        """Re-read the holidays (after `set_holiday`, or a config reload)."""
        self.calendar = load_calendar(self.db, self.settings, self.timezone)

    # -- opening ---------------------------------------------------------------------------------

    def create(
        self,
        *,
        type: str,
        created_by: str,
        description: str = "",
        priority: str = "normal",
        customer_id: int | None = None,
        account_no: str | None = None,
        phone: str = "",
        contact_name: str = "",
        address: str = "",
        source: str = "agent",
        call_id: str | None = None,
        attachments: Iterable[Mapping[str, Any]] = (),
        department: str | None = None,
        now: float | None = None,
    ) -> dict[str, Any]:
        """Open a work order; returns it as `get` does. Dispatches at once when `department` is
        given.

        type: a code of `work_order_types` ('repair'). created_by: username (or 'ivr'). priority:
        urgent, high, normal or low. customer_id / account_no / phone: who it is for; missing
        ones are filled from the others. attachments: dicts with `path` and optionally `kind`
        ('recording') and `recording_id`. call_id: the call it came from. source: agent, ivr,
        cli, web or import; sources in `auto_dispatch_sources` go to the type's default
        department when no department is given.
        """
        now = self.now() if now is None else now
        if priority not in PRIORITIES:
            raise BadValue(
                f"priority must be one of {', '.join(PRIORITIES)}, not {priority!r}",
                field="priority",
                value=priority,
            )
        if source not in SOURCES:
            raise BadValue(f"source must be one of {', '.join(SOURCES)}", field="source")
        found_type = self.db.execute(
            "SELECT default_department FROM work_order_types WHERE code = ? AND active", [type]
        ).fetchone()
        if found_type is None:
            known = [r[0] for r in self.db.execute("SELECT code FROM work_order_types")]
            raise UnknownType(
                f"no work order type {type!r} (known: {', '.join(known)})", type=type, known=known
            )
        # What a person typed is checked; what a caller keyed in the IVR (or a caller ID that is
        # an extension) is kept as given rather than losing the caller's report over it.
        strict = source not in ("ivr", "web")
        if phone:
            normal = normalize_phone(phone)
            if normal is None and strict:
                raise BadValue(f"{phone!r} is not a phone number", field="phone", value=phone)
            phone = normal or lookup.normalize_phone(phone)
        if department is None and source in self.settings.auto_dispatch_sources:
            department = found_type[0]
        who = self._customer(customer_id, account_no, phone, strict)
        rule = rule_for(self.settings.deadlines, type, priority)
        t = timers(self.calendar, rule, now, self.settings.reminder_lead_hours)
        state = OrderState(clock=t.clock, remind_at=t.remind_at, deadline_at=t.deadline_at)
        stamp = iso(now)
        with transaction(self.db):
            number = self._next_number(now)
            cursor = self.db.execute(
                """INSERT INTO work_orders (number, type, priority, status, source, customer_id,
                   account_no, contact_name, phone, address, district_code, description, call_id,
                   owner, created_by, created_at, updated_at, deadline_clock, remind_at,
                   deadline_at, timer_at)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                [
                    number, type, priority, state.status, source, who["customer_id"],
                    who["account_no"], contact_name or who["name"], phone or who["phone"],
                    address or who["address"], who["district_code"], description, call_id,
                    created_by, created_by, stamp, stamp, state.clock, iso(t.remind_at),
                    iso(t.deadline_at), iso_or_none(state.timer_at),
                ],
            )
            wo_id = int(cursor.lastrowid or 0)
            self._event(
                wo_id, stamp, created_by, "create", None, state.status, None, description,
                {"deadline_at": iso(t.deadline_at), "clock": t.clock, "hours": rule.hours},
            )
            for att in attachments:
                self._attach(wo_id, att, created_by, stamp)
            if department:
                self._apply(number, Event("dispatch", created_by, department=department), now)
        self._changed()
        return self.get(number)

    def _customer(
        self, customer_id: int | None, account_no: str | None, phone: str, strict: bool = True
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "customer_id": customer_id, "account_no": account_no, "name": "", "phone": "",
            "address": "", "district_code": None,
        }
        if account_no:
            acc = row(
                self.db,
                "SELECT customer_id, address, district_code FROM accounts WHERE account_no = ?",
                [account_no],
            )
            if acc is None and not strict:
                return self._customer(customer_id, None, phone) | {"account_no": account_no}
            if acc is None:
                raise BadValue(f"no account {account_no!r}", field="account_no", value=account_no)
            if customer_id is not None and customer_id != acc["customer_id"]:
                raise BadValue(
                    f"account {account_no} does not belong to customer {customer_id}",
                    field="account_no",
                    value=account_no,
                )
            out.update(customer_id=acc["customer_id"], address=acc["address"],
                       district_code=acc["district_code"])
        elif phone and customer_id is None:
            found = [
                r[0] for r in self.db.execute(
                    "SELECT DISTINCT customer_id FROM customer_phones WHERE phone = ? LIMIT 2",
                    [phone],
                )
            ]
            if len(found) == 1:
                out["customer_id"] = found[0]
        cid = out["customer_id"]
        if cid is not None:
            cust = row(self.db, "SELECT name FROM customers WHERE id = ?", [cid])
            if cust is None:
                raise BadValue(f"no customer {cid}", field="customer_id", value=cid)
            out["name"] = cust["name"]
            first = self.db.execute(
                "SELECT phone FROM customer_phones WHERE customer_id = ? "
                "ORDER BY kind != 'mobile', id LIMIT 1",
                [cid],
            ).fetchone()
            out["phone"] = first[0] if first else ""
            if not account_no:
                acc = row(
                    self.db,
                    "SELECT account_no, address, district_code FROM accounts "
                    "WHERE customer_id = ? ORDER BY opened_at LIMIT 1",
                    [cid],
                )
                if acc is not None:
                    out.update(address=acc["address"], district_code=acc["district_code"])
        return out

    def _next_number(self, now: float) -> str:
        day = self.calendar.local_date(now).strftime("%Y%m%d")
        (last,) = self.db.execute(
            "INSERT INTO work_order_seq (day, last) VALUES (?, 1) "
            "ON CONFLICT (day) DO UPDATE SET last = last + 1 RETURNING last",
            [day],
        ).fetchone()
        return f"WO-{day}-{last:04d}"

    # -- the lifecycle ---------------------------------------------------------------------------

    def act(
        self,
        number: str,
        kind: str,
        *,
        actor: str,
        note: str = "",
        department: str | None = None,
        now: float | None = None,
    ) -> dict[str, Any]:
        """Apply a user event (dispatch, accept, feedback, pause, resume, request_close, close,
        send_back, cancel) to work order `number`; returns the work order as `get` does.

        actor: username. note: why (required for some events). department: dispatch only.
        Raises IllegalTransition, NoteRequired, DepartmentRequired, UnknownDepartment,
        NoSuchWorkOrder.
        """
        if kind not in lifecycle.USER_EVENTS:
            raise BadValue(f"{kind!r} is not a work-order action", field="event", value=kind)
        now = self.now() if now is None else now
        with transaction(self.db):
            self._apply(number, Event(kind, actor, note, department), now)
        self._changed()
        return self.get(number)

    def fire_timer(self, number: str, now: float) -> str | None:
        """Apply the reminder or escalation due at `now`, if any; returns which one fired."""
        with transaction(self.db):
            current = self._load(number)
            kind = lifecycle.due(_state(current), now)
            if kind is not None:
                self._apply(number, Event(kind, "system"), now, loaded=current)
        return kind

    def _apply(
        self, number: str, event: Event, now: float, loaded: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        current = loaded or self._load(number)
        if event.department is not None and event.kind == "dispatch":
            dept = row(
                self.db,
                "SELECT code, head_username FROM departments WHERE code = ? AND active",
                [event.department],
            )
            if dept is None:
                raise UnknownDepartment(
                    f"no department {event.department!r}", department=event.department
                )
        before = _state(current)
        after = lifecycle.apply(before, event, now, self.calendar, number=current["number"])
        stamp = iso(now)
        changes: dict[str, Any] = {
            "status": after.status,
            "department": after.department,
            "remind_at": iso_or_none(after.remind_at),
            "deadline_at": iso_or_none(after.deadline_at),
            "remaining_s": after.remaining_s,
            "remind_remaining_s": after.remind_remaining_s,
            "timer_at": iso_or_none(after.timer_at),
            "updated_at": stamp,
        }
        if after.reminded and not before.reminded:
            changes["reminded_at"] = stamp
        if after.escalated and not before.escalated:
            changes["escalated_at"] = stamp
        changes.update(self._side_fields(current, event, after, stamp))
        sets = ", ".join(f"{k} = ?" for k in changes)
        self.db.execute(
            f"UPDATE work_orders SET {sets} WHERE id = ?", [*changes.values(), current["id"]]
        )
        data: dict[str, Any] = {}
        if event.kind in ("remind", "escalate"):
            data["notify"] = self._recipients(current, event.kind)
            data["deadline_at"] = current["deadline_at"]
        if event.kind in ("pause", "resume"):
            data["deadline_at"] = changes["deadline_at"]
            data["remaining_s"] = after.remaining_s
        self._event(
            current["id"], stamp, event.actor, event.kind, before.status, after.status,
            after.department, event.note, data,
        )
        if event.kind == "close":
            merged = {**current, **changes}
            self._notify_closed(merged, now)
        return changes

    def _side_fields(
        self, current: dict[str, Any], event: Event, after: OrderState, stamp: str
    ) -> dict[str, Any]:
        kind = event.kind
        out: dict[str, Any] = {}
        if kind == "dispatch":
            head = self.db.execute(
                "SELECT head_username FROM departments WHERE code = ?", [event.department]
            ).fetchone()
            out.update(dispatched_at=stamp, owner=head[0] if head else None, accepted_at=None)
        elif kind == "accept":
            out.update(accepted_at=stamp, owner=event.actor)
        elif kind == "send_back" and after.status == lifecycle.NEW:
            out.update(owner=current["created_by"], dispatched_at=None)
        elif kind == "send_back":
            out.update(close_requested_at=None)
        elif kind == "request_close":
            out.update(close_requested_at=stamp, resolution=event.note)
        elif kind == "close":
            out.update(closed_at=stamp, resolution=event.note)
        elif kind == "cancel":
            out.update(closed_at=stamp, resolution=event.note)
        return out

    def _recipients(self, current: dict[str, Any], kind: str) -> list[str]:
        """Who hears of a reminder (the owner, else the department) or an escalation (also the
        department head and the team leads)."""
        out = []
        if current["owner"]:
            out.append(current["owner"])
        elif current["department"]:
            out.append(f"department:{current['department']}")
        if kind == "escalate":
            if current["department"]:
                head = self.db.execute(
                    "SELECT head_username FROM departments WHERE code = ?",
                    [current["department"]],
                ).fetchone()
                if head and head[0]:
                    out.append(head[0])
            out.append("role:teamlead")
        return list(dict.fromkeys(out))

    def _notify_closed(self, wo: dict[str, Any], now: float) -> None:
        """On close: queue the SMS, the notification callback and, when sampled, the survey."""
        stamp = iso(now)
        phone = wo["phone"] or ""
        lang = "zh"
        if wo["customer_id"] is not None:
            got = self.db.execute(
                "SELECT language FROM customers WHERE id = ?", [wo["customer_id"]]
            ).fetchone()
            lang = got[0] if got and got[0] in catalogue.SMS_CLOSED else "zh"
        data: dict[str, Any] = {}
        notes = []
        if self.settings.notify_sms and is_mobile(phone):
            body = catalogue.SMS_CLOSED[lang].format(
                site=self.site_name or "热线", number=wo["number"], resolution=wo["resolution"]
            )
            data["sms_id"] = self.db.execute(
                "INSERT INTO sms_outbox (phone, body, language, work_order_id, created_at) "
                "VALUES (?,?,?,?,?)",
                [phone, body, lang, wo["id"], stamp],
            ).lastrowid
        if self.settings.notify_callback and phone:
            data["callback_id"] = self._callback("notify", wo, stamp, stamp)
        if not phone:
            notes.append(catalogue.NOT_NOTIFIED_NO_PHONE[lang])
        if phone and sampling.picked(
            self.settings.satisfaction_seed, wo["number"], self.settings.satisfaction_share
        ):
            due = iso(now + self.settings.survey_delay_minutes * 60.0)
            callback_id = self._callback("survey", wo, due, stamp)
            data["survey_id"] = self.db.execute(
                "INSERT INTO surveys (work_order_id, callback_id, customer_id, phone, created_at) "
                "VALUES (?,?,?,?,?)",
                [wo["id"], callback_id, wo["customer_id"], phone, stamp],
            ).lastrowid
            self.db.execute("UPDATE work_orders SET survey_sampled = 1 WHERE id = ?", [wo["id"]])
        self._event(
            wo["id"], stamp, "system", "notify", wo["status"], wo["status"], wo["department"],
            "; ".join(notes), data,
        )

    def _callback(self, kind: str, wo: dict[str, Any], due: str, stamp: str) -> int:
        cursor = self.db.execute(
            "INSERT INTO callbacks (kind, phone, customer_id, work_order_id, due_at, "
            "created_at, updated_at) VALUES (?,?,?,?,?,?,?)",
            [kind, wo["phone"], wo["customer_id"], wo["id"], due, stamp, stamp],
        )
        return int(cursor.lastrowid or 0)

    # -- attachments, events, reading ------------------------------------------------------------

    def attach(
        self,
        number: str,
        path: str,
        *,
        actor: str,
        kind: str = "recording",
        recording_id: int | None = None,
        note: str = "",
        now: float | None = None,
    ) -> dict[str, Any]:
        """Attach a file (a recording) to an open or closed work order; an event records it."""
        now = self.now() if now is None else now
        stamp = iso(now)
        with transaction(self.db):
            wo = self._load(number)
            att_id = self._attach(
                wo["id"], {"path": path, "kind": kind, "recording_id": recording_id, "note": note},
                actor, stamp,
            )
            self._event(
                wo["id"], stamp, actor, "attach", wo["status"], wo["status"], wo["department"],
                note, {"attachment_id": att_id, "path": path},
            )
        return self.get(number)

    def _attach(self, wo_id: int, att: Mapping[str, Any], actor: str, stamp: str) -> int:
        if not att.get("path"):
            raise BadValue("an attachment needs a path", field="attachments")
        cursor = self.db.execute(
            "INSERT INTO attachments (work_order_id, kind, path, recording_id, note, "
            "created_by, created_at) VALUES (?,?,?,?,?,?,?)",
            [
                wo_id, att.get("kind", "recording"), att["path"], att.get("recording_id"),
                att.get("note", ""), actor, stamp,
            ],
        )
        return int(cursor.lastrowid or 0)

    def _event(
        self, wo_id: int, stamp: str, actor: str, kind: str, from_status: str | None,
        to_status: str | None, department: str | None, note: str, data: dict[str, Any],
    ) -> None:
        self.db.execute(
            "INSERT INTO work_order_events (work_order_id, at, actor, kind, from_status, "
            "to_status, department, note, data) VALUES (?,?,?,?,?,?,?,?,?)",
            [
                wo_id, stamp, actor, kind, from_status, to_status, department, note,
                json.dumps(data, ensure_ascii=False),
            ],
        )

    def _load(self, number: str) -> dict[str, Any]:
        normal = normalize_number(number) or number
        found = row(self.db, "SELECT * FROM work_orders WHERE number = ?", [normal])
        if found is None:
            raise NoSuchWorkOrder(f"no work order {number}", number=number)
        return found

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def get(self, number: str, *, now: float | None = None) -> dict[str, Any]:
        """Work order `number` with its events and attachments, newest event last.

        Adds `overdue` (past its deadline with the clock running) and `allowed` (the user events
        its status allows).
        """
        wo = self._load(number)
        now = self.now() if now is None else now
        state = _state(wo)
        wo["overdue"] = state.overdue(now)
        wo["allowed"] = lifecycle.actions(wo["status"])
        wo["events"] = rows(
            self.db,
            "SELECT at, actor, kind, from_status, to_status, department, note, data "
            "FROM work_order_events WHERE work_order_id = ? ORDER BY id",
            [wo["id"]],
        )
        for ev in wo["events"]:
            ev["data"] = json.loads(ev["data"])
        wo["attachments"] = rows(
            self.db,
            "SELECT id, kind, path, recording_id, note, created_by, created_at FROM attachments "
            "WHERE work_order_id = ? ORDER BY id",
            [wo["id"]],
        )
        return wo

    def state(self, number: str) -> OrderState:
        return _state(self._load(number))


def _state(wo: Mapping[str, Any]) -> OrderState:
    return OrderState(
        status=wo["status"],
        department=wo["department"],
        clock=wo["deadline_clock"],
        remind_at=parse_or_none(wo["remind_at"]),
        deadline_at=parse_or_none(wo["deadline_at"]),
        remaining_s=wo["remaining_s"],
        remind_remaining_s=wo["remind_remaining_s"],
        reminded=wo["reminded_at"] is not None,
        escalated=wo["escalated_at"] is not None,
    )
